// Package signin signs the Partner Center service account in interactively,
// with MFA, and hands the resulting App+User refresh token to a store: what
// `locksmith login` does.
//
// Two flows, both through golang.org/x/oauth2: the authorization code with
// PKCE and a loopback redirect on http://localhost (a workstation with a
// browser), and the device code (a server without one). The first runs as a
// confidential client (the app registration lists http://localhost under the
// Web platform and the code is redeemed with the client secret), so its
// refresh token is redeemed later exactly as the bot always has. The device
// code flow only exists for public clients, so its refresh token must be
// redeemed without the secret; the Result says which. docs/signin.md explains
// the app-registration settings behind each choice.
//
// Before anything is stored the tokens' claims are shown (account, tenant,
// MFA) and a token from another tenant than the partner's is refused.
package signin
