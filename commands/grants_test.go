package commands

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/partner"
)

const (
	ua  = partner.RoleUserAdministrator
	paa = partner.RolePrivilegedAuthenticationAdministrator
)

func TestGrantCovers(t *testing.T) {
	tests := []struct {
		name      string
		customers []string
		c         partner.Customer
		want      bool
	}{
		{"star covers every customer", []string{"*"}, contoso, true},
		{"star covers a customer without a domain", []string{"*"}, partner.Customer{TenantID: tenantID}, true},
		{"tenant ID matches", []string{tenantID}, contoso, true},
		{"tenant ID matches in another case", []string{strings.ToUpper(tenantID)}, contoso, true},
		{"domain matches", []string{custDomain}, contoso, true},
		{"domain matches case-insensitively", []string{"Contoso.OnMicrosoft.COM"}, contoso, true},
		{"domain matches when the customer's domain has capitals", []string{custDomain}, partner.Customer{TenantID: tenantID, Domain: "CONTOSO.onmicrosoft.com"}, true},
		{"second entry matches", []string{"fabrikam.com", custDomain}, contoso, true},
		{"other domain does not match", []string{"fabrikam.onmicrosoft.com"}, contoso, false},
		{"domain suffix does not match", []string{"onmicrosoft.com"}, contoso, false},
		{"other tenant ID does not match", []string{"00000000-0000-0000-0000-000000000000"}, contoso, false},
		{"company name does not match", []string{custName}, contoso, false},
		{"no customers covers nothing", nil, contoso, false},
		{"empty entry does not match a customer without a domain", []string{""}, partner.Customer{TenantID: tenantID}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := Grant{Customers: tt.customers}
			if got := g.covers(tt.c); got != tt.want {
				t.Errorf("Grant{Customers: %q}.covers(%+v) = %v, want %v", tt.customers, tt.c, got, tt.want)
			}
		})
	}
}

func TestAccessAllows(t *testing.T) {
	tests := []struct {
		name string
		best partner.Role
		need partner.Role
		want bool
	}{
		{"UA covers a UA need", ua, ua, true},
		{"PAA covers a UA need", paa, ua, true},
		{"PAA covers a PAA need", paa, paa, true},
		{"UA does not cover a PAA need", ua, paa, false},
		{"no role covers nothing", "", ua, false},
		{"an unknown role covers nothing", "Global Administrator", ua, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (access{any: true, best: tt.best}).allows(tt.need); got != tt.want {
				t.Errorf("access{best: %q}.allows(%q) = %v, want %v", tt.best, tt.need, got, tt.want)
			}
		})
	}
}

func TestAccessFor(t *testing.T) {
	fabrikam := partner.Customer{TenantID: "f0000000-0000-4000-8000-00000000000f", Domain: "fabrikam.onmicrosoft.com", Name: "Fabrikam"}
	members := map[string][]string{
		"S0HELP":  {"U0X", "U0GROUPIE"},
		"S0LEADS": {"U0LEAD"},
	}
	tests := []struct {
		name     string
		grants   []Grant
		user     string
		customer *partner.Customer
		wantAny  bool
		wantBest partner.Role
	}{
		{
			name:    "user ID named, no customer asked: any but no role",
			grants:  []Grant{{Users: []string{"U0A"}, Roles: []partner.Role{ua}, Customers: []string{"*"}}},
			user:    "U0A",
			wantAny: true,
		},
		{
			name:     "user ID named for every customer",
			grants:   []Grant{{Users: []string{"U0A"}, Roles: []partner.Role{ua}, Customers: []string{"*"}}},
			user:     "U0A",
			customer: &contoso,
			wantAny:  true, wantBest: ua,
		},
		{
			name:     "user group membership",
			grants:   []Grant{{Usergroups: []string{"S0HELP"}, Roles: []partner.Role{ua}, Customers: []string{tenantID}}},
			user:     "U0GROUPIE",
			customer: &contoso,
			wantAny:  true, wantBest: ua,
		},
		{
			name:     "second user group",
			grants:   []Grant{{Usergroups: []string{"S0HELP", "S0LEADS"}, Roles: []partner.Role{paa}, Customers: []string{"*"}}},
			user:     "U0LEAD",
			customer: &contoso,
			wantAny:  true, wantBest: paa,
		},
		{
			name:     "not named, not a member",
			grants:   []Grant{{Users: []string{"U0A"}, Usergroups: []string{"S0HELP"}, Roles: []partner.Role{paa}, Customers: []string{"*"}}},
			user:     "U0NOBODY",
			customer: &contoso,
		},
		{
			name:     "a user group ID is not a user ID",
			grants:   []Grant{{Users: []string{"S0HELP"}, Roles: []partner.Role{ua}, Customers: []string{"*"}}},
			user:     "U0GROUPIE",
			customer: &contoso,
		},
		{
			name:     "named, but not for this customer",
			grants:   []Grant{{Users: []string{"U0A"}, Roles: []partner.Role{paa}, Customers: []string{fabrikam.Domain}}},
			user:     "U0A",
			customer: &contoso,
			wantAny:  true,
		},
		{
			name:     "domain grant, matched case-insensitively",
			grants:   []Grant{{Users: []string{"U0A"}, Roles: []partner.Role{ua}, Customers: []string{strings.ToUpper(custDomain)}}},
			user:     "U0A",
			customer: &contoso,
			wantAny:  true, wantBest: ua,
		},
		{
			name: "strongest of several grants wins",
			grants: []Grant{
				{Users: []string{"U0A"}, Roles: []partner.Role{ua}, Customers: []string{"*"}},
				{Usergroups: []string{"S0HELP"}, Roles: []partner.Role{paa}, Customers: []string{custDomain}},
			},
			user:     "U0GROUPIE",
			customer: &contoso,
			wantAny:  true, wantBest: paa,
		},
		{
			name: "a weaker later grant does not downgrade",
			grants: []Grant{
				{Users: []string{"U0A"}, Roles: []partner.Role{paa}, Customers: []string{tenantID}},
				{Users: []string{"U0A"}, Roles: []partner.Role{ua}, Customers: []string{"*"}},
			},
			user:     "U0A",
			customer: &contoso,
			wantAny:  true, wantBest: paa,
		},
		{
			name: "a stronger grant for another customer does not count",
			grants: []Grant{
				{Users: []string{"U0A"}, Roles: []partner.Role{ua}, Customers: []string{"*"}},
				{Users: []string{"U0A"}, Roles: []partner.Role{paa}, Customers: []string{fabrikam.TenantID}},
			},
			user:     "U0A",
			customer: &contoso,
			wantAny:  true, wantBest: ua,
		},
		{
			name:     "a role locksmith does not know gives nothing",
			grants:   []Grant{{Users: []string{"U0A"}, Roles: []partner.Role{"Global Administrator"}, Customers: []string{"*"}}},
			user:     "U0A",
			customer: &contoso,
			wantAny:  true,
		},
		{
			name:     "no grants at all",
			user:     "U0A",
			customer: &contoso,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			groups := &fakeGroups{membersFn: func(_ context.Context, id string) ([]string, error) {
				m, ok := members[id]
				if !ok {
					return nil, errors.New("no such group")
				}
				return m, nil
			}}
			s := &Service{groups: groups}
			got, err := s.accessFor(context.Background(), tt.grants, tt.user, tt.customer)
			if err != nil {
				t.Fatalf("accessFor: %v", err)
			}
			if got.any != tt.wantAny || got.best != tt.wantBest {
				t.Errorf("accessFor = {any: %v, best: %q}, want {any: %v, best: %q}", got.any, got.best, tt.wantAny, tt.wantBest)
			}
		})
	}
}

func TestAccessFor_GroupErrorFailsClosed(t *testing.T) {
	groups := &fakeGroups{membersFn: func(context.Context, string) ([]string, error) {
		return nil, errors.New("slack: ratelimited")
	}}
	s := &Service{groups: groups}
	grants := []Grant{
		{Usergroups: []string{"S0HELP"}, Roles: []partner.Role{paa}, Customers: []string{"*"}},
	}
	got, err := s.accessFor(context.Background(), grants, "U0A", &contoso)
	if err == nil {
		t.Fatalf("accessFor = %+v, nil error; want the group error", got)
	}
	if got.any || got.best != "" {
		t.Errorf("accessFor returned %+v with its error; want the zero access", got)
	}
	wantContains(t, "error", err.Error(), "S0HELP", "ratelimited")
}

// A Slack user-group lookup that fails refuses the command before Partner
// Center is asked anything, and stores nothing.
func TestSlashCommand_GroupErrorFailsClosed(t *testing.T) {
	for _, approval := range []bool{true, false} {
		name := "without approval"
		if approval {
			name = "with approval"
		}
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, approval)
			h.groups.membersFn = func(context.Context, string) ([]string, error) {
				return nil, errors.New("slack: usergroups.users.list: missing_scope")
			}
			reply := h.slash(groupUser, slashText)
			wantContains(t, "reply", reply, "could not check your permissions", "nothing was done")
			if n := h.pc.totalCalls(); n != 0 {
				t.Errorf("Partner Center was called %d times; want none", n)
			}
			if evs := h.events(); len(evs) != 0 {
				t.Errorf("audit trail has %d rows (%v); want none", len(evs), h.outcomes())
			}
			counts, err := h.store.CountByState(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for st, n := range counts {
				if n != 0 {
					t.Errorf("%d requests in state %s; want none stored", n, st)
				}
			}
			if len(h.msg.Posted())+len(h.msg.Notices())+len(h.msg.Deliveries()) != 0 {
				t.Errorf("Slack was sent something: cards %v notices %v", h.msg.Posted(), h.msg.Notices())
			}
			wantContains(t, "logs", h.logs.String(), "grant check failed", "missing_scope")
		})
	}
}

// A user group member gets the grant's role, and is refused for a target that
// needs more.
func TestSlashCommand_GrantThroughUserGroup(t *testing.T) {
	h := newHarness(t, false)
	h.pc.userRolesFn = func(context.Context, string, string) ([]partner.DirectoryRole, error) {
		return []partner.DirectoryRole{globalAdmin}, nil
	}
	reply := h.slash(groupUser, slashText)
	wantContains(t, "reply", reply, "You hold *User Administrator*", "Global Administrator", "needs *Privileged Authentication Administrator*", "Nothing was done")
	if n := h.pc.count("ResetPassword"); n != 0 {
		t.Errorf("ResetPassword called %d times; want 0", n)
	}
	e := h.lastEvent(approvals.OutcomeRefused)
	wantContains(t, "refusal detail", e.Detail, "requester holds User Administrator", "needs Privileged Authentication Administrator")
	if e.TargetObjectID != aliceOID || e.TenantID != tenantID {
		t.Errorf("refusal row names %s in %s; want %s in %s", e.TargetObjectID, e.TenantID, aliceOID, tenantID)
	}

	// A helpdesk-only role is within User Administrator's reach.
	h.pc.userRolesFn = func(context.Context, string, string) ([]partner.DirectoryRole, error) {
		return []partner.DirectoryRole{helpdeskAdmin}, nil
	}
	reply = h.slash(groupUser, slashText)
	wantContains(t, "reply", reply, "was reset")
	if n := h.pc.count("ResetPassword"); n != 1 {
		t.Errorf("ResetPassword called %d times; want 1", n)
	}
}

func TestSlashCommand_NoGrantRefusedBeforePartnerCenter(t *testing.T) {
	h := newHarness(t, true)
	reply := h.slash(stranger, slashText)
	wantContains(t, "reply", reply, "not permitted", "no grant")
	if n := h.pc.totalCalls(); n != 0 {
		t.Errorf("Partner Center was called %d times; want none", n)
	}
	e := h.lastEvent(approvals.OutcomeRefused)
	if e.ActorID != stranger || e.Detail != "no grant" || e.TenantID != "" {
		t.Errorf("refusal row = %+v; want actor %s, detail \"no grant\", no customer", e, stranger)
	}
}

func TestSlashCommand_GrantForAnotherCustomerOnly(t *testing.T) {
	h := newHarness(t, true)
	h.setPolicy(func(p *Policy) {
		p.Grants = []Grant{{Users: []string{requester}, Roles: []partner.Role{paa}, Customers: []string{"fabrikam.onmicrosoft.com"}}}
	})
	reply := h.slash(requester, slashText)
	// A customer outside the grants gets the answer a customer that does not
	// exist gets, word for word: nothing about it is disclosed.
	unknown := h.slash(requester, "nowhere.onmicrosoft.com "+strings.Fields(slashText)[1])
	if want := strings.Replace(unknown, "nowhere.onmicrosoft.com", custDomain, 1); reply != want {
		t.Errorf("reply = %q\nwant the not-found answer %q", reply, want)
	}
	wantNotContains(t, "reply", reply, "Contoso Ltd", tenantID)
	if n := h.pc.count("UserByUPN") + h.pc.count("UserRoles") + h.pc.count("ResetPassword"); n != 0 {
		t.Errorf("user calls made: %d; want none after the customer check", n)
	}
	if len(h.msg.Posted()) != 0 {
		t.Errorf("a card was posted")
	}
}

// A user group that cannot be read takes away only the grants that name it:
// someone named directly by another grant is served as before, while the
// group's members, who hold nothing else, are refused (fail closed).
func TestGrants_BrokenGroupFailsOnlyItsGrants(t *testing.T) {
	h := newHarness(t, true)
	h.groups.membersFn = func(context.Context, string) ([]string, error) {
		return nil, errors.New("slack usergroups.users.list: no_such_subteam")
	}
	if reply := h.slash(requester, slashText); !strings.Contains(reply, "approval") || strings.Contains(reply, "could not check") {
		t.Fatalf("requester named directly was refused because of a broken group: %q", reply)
	}
	reply := h.slash(groupUser, slashText)
	wantContains(t, "reply", reply, "could not check your permissions", "nothing was done")
}
