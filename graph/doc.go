// Package graph reads and changes users in a customer's own Microsoft Entra
// tenant through Microsoft Graph, acting as the partner's service account over
// its GDAP relationship with that customer.
//
// Partner Center reports only a user's active, directly assigned directory
// roles. Graph answers what a safe reset needs on top: roles held through
// role-assignable groups, PIM-eligible roles, restricted-management
// administrative units, whether the account is enabled, a guest or synced, and
// when its password last changed (Client.Facts). It also runs the recipes a
// technician may add to a reset: revoke sign-in sessions, re-enable the
// account, and a Temporary Access Pass instead of a password.
//
// Tokens are per customer tenant: the partner's App+User refresh token (the
// one partner.Client keeps rotating) is redeemed at the customer tenant's
// authority for https://graph.microsoft.com/.default. One access token per
// tenant is cached and concurrent callers share one redemption. Any refresh
// token such a redemption returns is dropped: the partner chain has exactly one
// owner. docs/graph.md explains why.
package graph
