package graph

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/locksmithbot/locksmith/internal/fakegraph"
)

func rolesByHow(f Facts) map[How][]string {
	out := map[How][]string{}
	for _, r := range f.Roles {
		out[r.How] = append(out[r.How], r.RoleDefinitionID)
	}
	return out
}

func TestFacts_EveryWayOfHoldingARole(t *testing.T) {
	f := newFixture(t)
	f.fg.SetPageSize(1) // every list is paged
	tn := f.fg.AddTenant(tenantA)
	addAlice(tn)
	tn.AddUser(fakegraph.User{ID: "u-bob", UserPrincipalName: "bob@contoso.com", AccountEnabled: false,
		UserType: "Guest", OnPremisesSyncEnabled: ptr(true)})
	tn.AddGroup(fakegraph.Group{ID: "g-inner", DisplayName: "Tier0 inner", Members: []string{"u-alice"}})
	tn.AddGroup(fakegraph.Group{ID: "g-admins", DisplayName: "Tier0 admins", IsAssignableToRole: true, Members: []string{"g-inner"}})
	tn.AddGroup(fakegraph.Group{ID: "g-plain", DisplayName: "Everyone", Members: []string{"u-alice"}})
	tn.Assign(fakegraph.Assignment{PrincipalID: "u-alice", RoleDefinitionID: tmplHelp})
	tn.Assign(fakegraph.Assignment{PrincipalID: "g-admins", RoleDefinitionID: tmplPAA})
	tn.MakeEligible(fakegraph.Assignment{PrincipalID: "u-alice", RoleDefinitionID: tmplGA})
	tn.MakeEligible(fakegraph.Assignment{PrincipalID: "g-admins", RoleDefinitionID: tmplGA})
	// A plain group cannot hold roles; an assignment to it must not be asked for.
	tn.Assign(fakegraph.Assignment{PrincipalID: "g-plain", RoleDefinitionID: tmplGA})
	tn.AddAdminUnit(fakegraph.AdminUnit{ID: "au-1", DisplayName: "Executives", Restricted: true, Members: []string{"u-alice"}})
	tn.AddAdminUnit(fakegraph.AdminUnit{ID: "au-2", DisplayName: "Sales", Members: []string{"u-alice", "u-bob"}})

	facts, err := f.c.Facts(ctxT(t), tenantA, "u-alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(facts.Unknown) != 0 {
		t.Fatalf("unknown facts: %+v", facts.Unknown)
	}
	got := rolesByHow(facts)
	want := map[How][]string{HowActive: {tmplHelp}, HowEligible: {tmplGA}, HowActiveGroup: {tmplPAA}, HowEligibleGroup: {tmplGA}}
	for how, ids := range want {
		if strings.Join(got[how], ",") != strings.Join(ids, ",") {
			t.Errorf("%s roles = %v, want %v", how, got[how], ids)
		}
	}
	if len(facts.Roles) != 4 {
		t.Errorf("roles = %+v, want exactly 4 (the plain group's assignment is not the user's)", facts.Roles)
	}
	for _, r := range facts.Roles {
		if r.How == HowActiveGroup && r.Group != "Tier0 admins" {
			t.Errorf("group name = %q", r.Group)
		}
	}
	if ru := facts.RestrictedUnits(); len(ru) != 1 || ru[0].DisplayName != "Executives" {
		t.Errorf("restricted units = %+v", ru)
	}
	u := facts.User
	if u.Disabled() || u.Guest() || u.Synced() || u.LastPasswordChange == nil || u.LastPasswordChange.Year() != 2026 {
		t.Errorf("alice = %+v", u)
	}

	bob, err := f.c.Facts(ctxT(t), tenantA, "u-bob")
	if err != nil {
		t.Fatal(err)
	}
	if !bob.User.Disabled() || !bob.User.Guest() || !bob.User.Synced() || len(bob.Roles) != 0 || len(bob.RestrictedUnits()) != 0 {
		t.Errorf("bob = %+v", bob)
	}

	// The wire: $select on the user, the documented filter, the advanced-query
	// header on casts, and paging followed.
	var sawSelect, sawNext, sawFilter bool
	for _, c := range f.fg.Calls() {
		if c.Path == "/v1.0/users/u-alice" && strings.Contains(c.RawQuery, "accountEnabled") && strings.Contains(c.RawQuery, "lastPasswordChangeDateTime") {
			sawSelect = true
		}
		if strings.Contains(c.RawQuery, "skiptoken") {
			sawNext = true
		}
		if strings.Contains(c.Path, "roleEligibilityScheduleInstances") && strings.Contains(c.RawQuery, "principalId+eq+%27g-admins%27") {
			sawFilter = true
		}
		if c.Header["Client-Request-Id"] == nil {
			t.Errorf("%s %s without client-request-id", c.Method, c.Path)
		}
	}
	if !sawSelect || !sawNext || !sawFilter {
		t.Errorf("select=%v nextLink followed=%v group eligibility filter=%v", sawSelect, sawNext, sawFilter)
	}
}

func TestFacts_NoPIMLicence_EligibilityUnknownNotNone(t *testing.T) {
	f := newFixture(t)
	tn := f.fg.AddTenant(tenantA)
	addAlice(tn)
	tn.SetPIMLicensed(false)
	facts, err := f.c.Facts(ctxT(t), tenantA, "u-alice")
	if err != nil {
		t.Fatal(err)
	}
	if facts.Known(FactEligible) || !facts.Known(FactActiveRoles) || !facts.Known(FactAccount) || !facts.Known(FactAdminUnits) {
		t.Fatalf("unknown = %+v, want only eligibility", facts.Unknown)
	}
	if KindOf(facts.Unknown[0].Err) != KindNoLicence || !strings.Contains(Sentence(facts.Unknown[0].Err), "licence") {
		t.Errorf("err = %v", facts.Unknown[0].Err)
	}
}

func TestFacts_AUPropertyWithheld_Unknown(t *testing.T) {
	f := newFixture(t)
	tn := f.fg.AddTenant(tenantA)
	addAlice(tn)
	tn.AddAdminUnit(fakegraph.AdminUnit{ID: "au-1", DisplayName: "Executives", Restricted: true, Members: []string{"u-alice"}})
	tn.SetLimitedAUInfo(true)
	facts, err := f.c.Facts(ctxT(t), tenantA, "u-alice")
	if err != nil {
		t.Fatal(err)
	}
	if facts.Known(FactAdminUnits) {
		t.Fatal("an AU without isMemberManagementRestricted was taken as unrestricted")
	}
}

func TestFacts_TokenErrorsBecomeOperatorSentences(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*fakegraph.Tenant)
		kind  Kind
		want  string
	}{
		{"not consented", func(tn *fakegraph.Tenant) { tn.SetConsented(false) }, KindNotConsented, "locksmith consent " + tenantA},
		{"no GDAP relationship", func(tn *fakegraph.Tenant) { tn.SetNoRelationship(true) }, KindNoRelationship, "GDAP relationship"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tn := f.fg.AddTenant(tenantA)
			addAlice(tn)
			tc.setup(tn)
			_, err := f.c.Facts(ctxT(t), tenantA, "u-alice")
			if KindOf(err) != tc.kind || !strings.Contains(Sentence(err), tc.want) {
				t.Fatalf("err = %v (kind %v), want %v mentioning %q", err, KindOf(err), tc.kind, tc.want)
			}
			if n := len(f.fg.TokenCalls()); n != 1 {
				t.Errorf("token calls = %d, want 1 (not retried, one error not five)", n)
			}
			if len(f.fg.Calls()) != 0 {
				t.Error("Graph was called without a token")
			}
		})
	}
}

func TestFacts_Forbidden_NamesMissingRole(t *testing.T) {
	f := newFixture(t)
	tn := f.fg.AddTenant(tenantA)
	addAlice(tn)
	f.fg.AddFault(fakegraph.Fault{PathContains: "roleAssignments", Status: 403})
	facts, err := f.c.Facts(ctxT(t), tenantA, "u-alice")
	if err != nil {
		t.Fatal(err)
	}
	if facts.Known(FactActiveRoles) {
		t.Fatal("a 403 on role assignments was read as no roles")
	}
	var e *Error
	if !errors.As(facts.Unknown[0].Err, &e) || e.Kind != KindForbidden || !strings.Contains(e.Advice, "Directory Readers") {
		t.Errorf("err = %v", facts.Unknown[0].Err)
	}
}

func TestTokens_OnePerTenant_SharedRefresh_PartnerChainUntouched(t *testing.T) {
	f := newFixture(t)
	addAlice(f.fg.AddTenant(tenantA))
	addAlice(f.fg.AddTenant(tenantB))
	var wg sync.WaitGroup
	for range 8 {
		for _, tid := range []string{tenantA, tenantB} {
			wg.Go(func() {
				if _, err := f.c.User(ctxT(t), tid, "u-alice"); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	calls := f.fg.TokenCalls()
	per := map[string]int{}
	for _, c := range calls {
		per[c.Tenant]++
		if c.Scope != "https://graph.microsoft.com/.default" {
			t.Errorf("scope = %q", c.Scope)
		}
		if c.RefreshToken != partnerRT {
			t.Errorf("redeemed %q, not the partner chain's token", c.RefreshToken)
		}
	}
	if per[tenantA] != 1 || per[tenantB] != 1 {
		t.Fatalf("token calls per tenant = %v, want one each", per)
	}
	// A later redemption (expired token) still uses the partner's token, never
	// the refresh token the customer tenant handed back.
	f.fg.ExpireAccessTokens()
	if _, err := f.c.User(ctxT(t), tenantA, "u-alice"); err != nil {
		t.Fatal(err)
	}
	calls = f.fg.TokenCalls()
	if last := calls[len(calls)-1]; last.RefreshToken != partnerRT || len(calls) != 3 {
		t.Errorf("after expiry: %d token calls, last redeemed %q", len(calls), last.RefreshToken)
	}
}

// A partner token from a device-code sign-in (a public client) is redeemed
// without the client secret, which Entra would refuse (AADSTS700025).
func TestTokens_PublicClientTokenSendsNoSecret(t *testing.T) {
	f := newFixture(t)
	addAlice(f.fg.AddTenant(tenantA))
	f.public.Store(true)
	if _, err := f.c.User(ctxT(t), tenantA, "u-alice"); err != nil {
		t.Fatal(err)
	}
}
