package fakegraph

import "time"

// User is a directory user as the test sets it up.
type User struct {
	ID, UserPrincipalName, DisplayName string
	AccountEnabled                     bool
	UserType                           string // "Member" (default) or "Guest"
	// OnPremisesSyncEnabled: nil for a cloud-only user (Graph says null).
	OnPremisesSyncEnabled *bool
	LastPasswordChange    time.Time
}

// Group is a security group; Members are user or group IDs (nesting allowed).
type Group struct {
	ID, DisplayName    string
	IsAssignableToRole bool
	Members            []string
}

// AdminUnit is an administrative unit; Members are user IDs.
type AdminUnit struct {
	ID, DisplayName string
	Restricted      bool // isMemberManagementRestricted
	Members         []string
}

// Assignment is an active role assignment or a PIM eligibility.
type Assignment struct {
	PrincipalID      string
	RoleDefinitionID string // a built-in role's template ID
	DirectoryScopeID string // "/" when empty
}

// TAPPolicy is the tenant's Temporary Access Pass method policy.
type TAPPolicy struct {
	Enabled                  bool
	MinLifetime, MaxLifetime int // minutes
	// ForceUsableOnce is the policy-level isUsableOnce: a multi-use request is refused.
	ForceUsableOnce bool
}

type tenant struct {
	id             string
	consented      bool
	noRelationship bool
	pimLicensed    bool
	// limitedAUInfo withholds isMemberManagementRestricted, as Graph does when
	// the app lacks permission to read administrative units.
	limitedAUInfo bool
	users         map[string]*User // by lower-case ID
	groups        map[string]*Group
	units         map[string]*AdminUnit
	active        []Assignment
	eligible      []Assignment
	tap           TAPPolicy
}

// Tenant is a handle on one customer tenant's directory. Its methods are safe
// for concurrent use with requests.
type Tenant struct {
	s  *Server
	id string
}

// AddTenant creates (or returns) a tenant: consented, with a PIM licence, and
// a Temporary Access Pass policy enabled for 10 to 480 minutes.
func (s *Server) AddTenant(id string) *Tenant {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tenants[lower(id)]; !ok {
		s.tenants[lower(id)] = &tenant{id: id, consented: true, pimLicensed: true,
			users: map[string]*User{}, groups: map[string]*Group{}, units: map[string]*AdminUnit{},
			tap: TAPPolicy{Enabled: true, MinLifetime: 10, MaxLifetime: 480}}
	}
	return &Tenant{s: s, id: lower(id)}
}

func (t *Tenant) with(f func(*tenant)) {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	f(t.s.tenants[t.id])
}

// SetConsented sets whether locksmith's app is consented here; without it the
// token endpoint answers AADSTS65001.
func (t *Tenant) SetConsented(on bool) { t.with(func(x *tenant) { x.consented = on }) }

// SetNoRelationship makes the token endpoint answer AADSTS50020, as for a
// partner without an active GDAP relationship.
func (t *Tenant) SetNoRelationship(on bool) { t.with(func(x *tenant) { x.noRelationship = on }) }

// SetPIMLicensed sets whether PIM data can be read; without it the
// eligibility endpoint answers 403.
func (t *Tenant) SetPIMLicensed(on bool) { t.with(func(x *tenant) { x.pimLicensed = on }) }

// SetLimitedAUInfo makes administrative units come back without
// isMemberManagementRestricted.
func (t *Tenant) SetLimitedAUInfo(on bool) { t.with(func(x *tenant) { x.limitedAUInfo = on }) }

// SetTAPPolicy replaces the Temporary Access Pass policy.
func (t *Tenant) SetTAPPolicy(p TAPPolicy) { t.with(func(x *tenant) { x.tap = p }) }

// AddUser adds or replaces a user.
func (t *Tenant) AddUser(u User) {
	if u.UserType == "" {
		u.UserType = "Member"
	}
	t.with(func(x *tenant) { x.users[lower(u.ID)] = &u })
}

// User returns a copy of the user as it is now (after recipes).
func (t *Tenant) User(id string) (User, bool) {
	var (
		u  User
		ok bool
	)
	t.with(func(x *tenant) {
		var p *User
		if p, ok = x.users[lower(id)]; ok {
			u = *p
		}
	})
	return u, ok
}

// AddGroup adds or replaces a group.
func (t *Tenant) AddGroup(g Group) { t.with(func(x *tenant) { x.groups[lower(g.ID)] = &g }) }

// AddAdminUnit adds or replaces an administrative unit.
func (t *Tenant) AddAdminUnit(a AdminUnit) { t.with(func(x *tenant) { x.units[lower(a.ID)] = &a }) }

// Assign adds an active role assignment.
func (t *Tenant) Assign(a Assignment) { t.with(func(x *tenant) { x.active = append(x.active, a) }) }

// MakeEligible adds a PIM eligibility.
func (t *Tenant) MakeEligible(a Assignment) {
	t.with(func(x *tenant) { x.eligible = append(x.eligible, a) })
}

// findUser resolves an ID or a UPN, as /users/{id | userPrincipalName} does.
func (x *tenant) findUser(key string) *User {
	if u, ok := x.users[lower(key)]; ok {
		return u
	}
	for _, u := range x.users {
		if lower(u.UserPrincipalName) == lower(key) {
			return u
		}
	}
	return nil
}

// transitiveGroups returns the groups memberID is in, directly or nested.
func (x *tenant) transitiveGroups(memberID string) []*Group {
	seen := map[string]bool{}
	var out []*Group
	frontier := []string{lower(memberID)}
	for len(frontier) > 0 {
		var next []string
		for _, m := range frontier {
			for _, g := range x.groups {
				if seen[lower(g.ID)] {
					continue
				}
				for _, gm := range g.Members {
					if lower(gm) == m {
						seen[lower(g.ID)] = true
						out = append(out, g)
						next = append(next, lower(g.ID))
						break
					}
				}
			}
		}
		frontier = next
	}
	return out
}
