package graph

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Fact names what Facts could not learn, as the approval card shows it.
type Fact string

const (
	FactAccount     Fact = "account (enabled, guest, synced, password age)"
	FactActiveRoles Fact = "active admin roles (direct and through groups)"
	FactEligible    Fact = "PIM-eligible admin roles"
	FactAdminUnits  Fact = "restricted-management administrative units"
)

// User is what Graph says about the account itself. Pointers are nil when
// Graph did not say (onPremisesSyncEnabled is null for cloud-only users).
type User struct {
	ID                    string     `json:"id"`
	DisplayName           string     `json:"displayName"`
	UserPrincipalName     string     `json:"userPrincipalName"`
	AccountEnabled        *bool      `json:"accountEnabled"`
	UserType              string     `json:"userType"` // "Member" or "Guest"
	OnPremisesSyncEnabled *bool      `json:"onPremisesSyncEnabled"`
	LastPasswordChange    *time.Time `json:"lastPasswordChangeDateTime"`
}

// Guest reports whether the account is a B2B guest.
func (u User) Guest() bool { return strings.EqualFold(u.UserType, "Guest") }

// Synced reports whether the account is synced from on-premises AD.
func (u User) Synced() bool { return u.OnPremisesSyncEnabled != nil && *u.OnPremisesSyncEnabled }

// Disabled reports whether Graph says sign-in is blocked.
func (u User) Disabled() bool { return u.AccountEnabled != nil && !*u.AccountEnabled }

// How says how a role is held.
type How string

const (
	HowActive        How = "active"
	HowEligible      How = "eligible"
	HowActiveGroup   How = "active via group"
	HowEligibleGroup How = "eligible via group"
)

// RoleHold is one directory role the user holds, however held.
type RoleHold struct {
	// RoleDefinitionID is the role's ID; for built-in roles it is the role
	// template ID, which is what the reset rules match on.
	RoleDefinitionID string
	How              How
	Group            string // display name of the role-assignable group, for the "via group" kinds
	DirectoryScopeID string // "/" tenant-wide, "/administrativeUnits/{id}" when scoped
}

// AdminUnit is an administrative unit the user is a direct member of.
type AdminUnit struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	// Restricted is isMemberManagementRestricted: only AU-scoped admins may
	// change members, so a tenant-wide GDAP role cannot reset them. nil when
	// Graph withheld the property (the app lacks AdministrativeUnit.Read.All).
	Restricted *bool `json:"isMemberManagementRestricted"`
}

// Unknown is a fact Graph could not answer, and why.
type Unknown struct {
	Fact Fact
	Err  error
}

// Facts is everything locksmith knows about a target before anyone approves.
// A fact in Unknown must never be read as "none": "could not ask" is not "no
// roles".
type Facts struct {
	User       User
	Roles      []RoleHold
	AdminUnits []AdminUnit
	Unknown    []Unknown
}

// Known reports whether f was answered.
func (f Facts) Known(fact Fact) bool {
	for _, u := range f.Unknown {
		if u.Fact == fact {
			return false
		}
	}
	return true
}

// RestrictedUnits returns the administrative units with restricted member
// management the user belongs to.
func (f Facts) RestrictedUnits() []AdminUnit {
	var out []AdminUnit
	for _, au := range f.AdminUnits {
		if au.Restricted != nil && *au.Restricted {
			out = append(out, au)
		}
	}
	return out
}

// The fields of a user Facts reads. Without $select Graph returns none of
// accountEnabled, userType, onPremisesSyncEnabled or lastPasswordChangeDateTime.
const userSelect = "id,displayName,userPrincipalName,accountEnabled,userType,onPremisesSyncEnabled,lastPasswordChangeDateTime"

// What a 403 on each read means: which GDAP role (and consented permission)
// is missing. The service account's GDAP roles bound what delegated calls may do.
const (
	forbiddenUser  = "the GDAP relationship gives locksmith's service account no role that can read users in this tenant: add Directory Readers (or User Administrator) to it; if it has one, run `locksmith consent` to grant User.Read.All"
	forbiddenRoles = "the GDAP relationship gives locksmith's service account no role that can read role assignments: add Directory Readers (or Global Reader) to it; if it has one, run `locksmith consent` to grant RoleManagement.Read.Directory"
	forbiddenPIM   = "the GDAP relationship gives locksmith's service account no role that can read PIM eligibility: add Global Reader (or Privileged Role Administrator) to it; if it has one, run `locksmith consent` to grant RoleManagement.Read.Directory"
	forbiddenAUs   = "the GDAP relationship gives locksmith's service account no role that can read administrative units: add Directory Readers to it; if it has one, run `locksmith consent` to grant AdministrativeUnit.Read.All"
)

// Facts reads, in one customer tenant, what a reset decision needs about the
// user with object ID userID. Reads run concurrently. A part Graph cannot
// answer is listed in Facts.Unknown with its error; err is non-nil only when
// nothing could be learnt at all (no token for the tenant, or the user is not
// found).
func (c *Client) Facts(ctx context.Context, tenantID, userID string) (Facts, error) {
	var (
		f   Facts
		mu  sync.Mutex
		wg  sync.WaitGroup
		grp []groupRef
		gEr error
	)
	unknown := func(fact Fact, err error) {
		mu.Lock()
		defer mu.Unlock()
		for _, u := range f.Unknown {
			if u.Fact == fact {
				return
			}
		}
		f.Unknown = append(f.Unknown, Unknown{Fact: fact, Err: err})
	}
	addRoles := func(r []RoleHold) {
		mu.Lock()
		f.Roles = append(f.Roles, r...)
		mu.Unlock()
	}
	// The token first, so that "not consented" is one error, not five.
	if _, err := c.tokens.token(ctx, tenantID); err != nil {
		return Facts{}, err
	}
	var userErr error
	wg.Go(func() {
		u, err := c.User(ctx, tenantID, userID)
		if err != nil {
			userErr = err
			unknown(FactAccount, err)
			return
		}
		mu.Lock()
		f.User = u
		mu.Unlock()
	})
	wg.Go(func() { grp, gEr = c.roleAssignableGroups(ctx, tenantID, userID) })
	wg.Go(func() {
		r, err := c.assignments(ctx, tenantID, userID, "", HowActive)
		if err != nil {
			unknown(FactActiveRoles, err)
			return
		}
		addRoles(r)
	})
	wg.Go(func() {
		r, err := c.eligibilities(ctx, tenantID, userID, "", HowEligible)
		if err != nil {
			unknown(FactEligible, err)
			return
		}
		addRoles(r)
	})
	wg.Go(func() {
		aus, err := c.adminUnits(ctx, tenantID, userID)
		if err == nil {
			for _, au := range aus {
				if au.Restricted == nil {
					err = &Error{Kind: KindForbidden, Op: "read administrative units", TenantID: tenantID, Advice: forbiddenAUs}
				}
			}
		}
		if err != nil {
			unknown(FactAdminUnits, err)
			return
		}
		mu.Lock()
		f.AdminUnits = aus
		mu.Unlock()
	})
	wg.Wait()
	if KindOf(userErr) == KindNotFound {
		return Facts{}, userErr
	}
	if gEr != nil {
		// Without the user's groups, roles held through them are unknown.
		unknown(FactActiveRoles, gEr)
		unknown(FactEligible, gEr)
		return f, nil
	}
	for _, g := range grp {
		wg.Go(func() {
			r, err := c.assignments(ctx, tenantID, g.ID, g.DisplayName, HowActiveGroup)
			if err != nil {
				unknown(FactActiveRoles, err)
				return
			}
			addRoles(r)
		})
		wg.Go(func() {
			r, err := c.eligibilities(ctx, tenantID, g.ID, g.DisplayName, HowEligibleGroup)
			if err != nil {
				unknown(FactEligible, err)
				return
			}
			addRoles(r)
		})
	}
	wg.Wait()
	return f, nil
}

// User reads the account facts of one user.
func (c *Client) User(ctx context.Context, tenantID, userID string) (User, error) {
	var u User
	err := c.do(ctx, &call{
		op: "read user", endpoint: "GET /users/{id}", tenant: tenantID, method: "GET", idempotent: true,
		url:       c.endpointURL("/users/"+url.PathEscape(userID), url.Values{"$select": {userSelect}}),
		forbidden: forbiddenUser, out: &u,
	})
	return u, err
}

type groupRef struct {
	ID                 string `json:"id"`
	DisplayName        string `json:"displayName"`
	IsAssignableToRole *bool  `json:"isAssignableToRole"`
}

// roleAssignableGroups lists the groups the user is in, directly or through
// nesting, that can hold directory roles. A group whose isAssignableToRole
// Graph withheld counts: its roles are then looked up rather than assumed none.
func (c *Client) roleAssignableGroups(ctx context.Context, tenantID, userID string) ([]groupRef, error) {
	all, err := list[groupRef](ctx, c, &call{
		op: "read group memberships", endpoint: "GET /users/{id}/transitiveMemberOf/microsoft.graph.group", tenant: tenantID,
		method: "GET", idempotent: true, forbidden: forbiddenUser,
		url: c.endpointURL("/users/"+url.PathEscape(userID)+"/transitiveMemberOf/microsoft.graph.group",
			url.Values{"$select": {"id,displayName,isAssignableToRole"}, "$count": {"true"}}),
		advanced: true,
	})
	if err != nil {
		return nil, err
	}
	var out []groupRef
	for _, g := range all {
		if g.IsAssignableToRole == nil || *g.IsAssignableToRole {
			out = append(out, g)
		}
	}
	return out, nil
}

type assignment struct {
	RoleDefinitionID string `json:"roleDefinitionId"`
	PrincipalID      string `json:"principalId"`
	DirectoryScopeID string `json:"directoryScopeId"`
}

func principalFilter(id string) url.Values {
	// Object IDs are GUIDs; a quote would end the OData string literal, so it
	// is doubled as OData requires.
	return url.Values{"$filter": {"principalId eq '" + strings.ReplaceAll(id, "'", "''") + "'"}}
}

func holds(as []assignment, how How, group string) []RoleHold {
	out := make([]RoleHold, 0, len(as))
	for _, a := range as {
		out = append(out, RoleHold{RoleDefinitionID: a.RoleDefinitionID, How: how, Group: group, DirectoryScopeID: a.DirectoryScopeID})
	}
	return out
}

// assignments lists the active role assignments of one principal (a user or a
// role-assignable group), tenant-wide and scoped.
func (c *Client) assignments(ctx context.Context, tenantID, principalID, group string, how How) ([]RoleHold, error) {
	as, err := list[assignment](ctx, c, &call{
		op: "read role assignments", endpoint: "GET /roleManagement/directory/roleAssignments", tenant: tenantID,
		method: "GET", idempotent: true, forbidden: forbiddenRoles,
		url: c.endpointURL("/roleManagement/directory/roleAssignments", principalFilter(principalID)),
	})
	if err != nil {
		return nil, err
	}
	return holds(as, how, group), nil
}

// eligibilities lists the PIM-eligible roles of one principal. A tenant
// without a PIM licence answers 403 (KindNoLicence): eligibility unknown.
func (c *Client) eligibilities(ctx context.Context, tenantID, principalID, group string, how How) ([]RoleHold, error) {
	as, err := list[assignment](ctx, c, &call{
		op: "read PIM eligibility", endpoint: "GET /roleManagement/directory/roleEligibilityScheduleInstances", tenant: tenantID,
		method: "GET", idempotent: true, forbidden: forbiddenPIM,
		url: c.endpointURL("/roleManagement/directory/roleEligibilityScheduleInstances", principalFilter(principalID)),
	})
	if err != nil {
		return nil, err
	}
	return holds(as, how, group), nil
}

// adminUnits lists the administrative units the user is a direct member of
// (membership of an AU is not nested).
func (c *Client) adminUnits(ctx context.Context, tenantID, userID string) ([]AdminUnit, error) {
	return list[AdminUnit](ctx, c, &call{
		op: "read administrative units", endpoint: "GET /users/{id}/memberOf/microsoft.graph.administrativeUnit", tenant: tenantID,
		method: "GET", idempotent: true, forbidden: forbiddenAUs, advanced: true,
		url: c.endpointURL("/users/"+url.PathEscape(userID)+"/memberOf/microsoft.graph.administrativeUnit",
			url.Values{"$select": {"id,displayName,isMemberManagementRestricted"}, "$count": {"true"}}),
	})
}

// CheckTenant obtains a Graph token for the tenant: for `locksmith check` and
// `locksmith consent --dry-run`, to tell whether consent is in place.
func (c *Client) CheckTenant(ctx context.Context, tenantID string) error {
	_, err := c.tokens.token(ctx, tenantID)
	return err
}
