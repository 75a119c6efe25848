package commands

import (
	"errors"
	"strings"
	"testing"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/graph"
	"github.com/locksmithbot/locksmith/messages"
	"github.com/locksmithbot/locksmith/partner"
)

const (
	tmplGA       = "62e90394-69f5-4237-9190-012177145e10"
	tmplHelpdesk = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
)

func TestJudge(t *testing.T) {
	yes, no := true, false
	member := graph.User{UserType: "Member", AccountEnabled: &yes}
	noLicence := &graph.Error{Kind: graph.KindNoLicence, Advice: "no licence"}
	for _, tc := range []struct {
		name     string
		pol      WhenUnavailable
		pc       []partner.DirectoryRole
		facts    graph.Facts
		err      error
		need     partner.Role
		refusal  string // substring; "" = not refused
		unknowns int
	}{
		{name: "nothing held; user administrator", facts: graph.Facts{User: member}, need: partner.RoleUserAdministrator},
		{name: "eligible GA counts like active", facts: graph.Facts{User: member, Roles: []graph.RoleHold{{RoleDefinitionID: tmplGA, How: graph.HowEligible}}},
			need: partner.RolePrivilegedAuthenticationAdministrator},
		{name: "GA via group counts like active", facts: graph.Facts{User: member, Roles: []graph.RoleHold{{RoleDefinitionID: tmplGA, How: graph.HowActiveGroup, Group: "T0"}}},
			need: partner.RolePrivilegedAuthenticationAdministrator},
		{name: "eligible helpdesk stays user administrator", facts: graph.Facts{User: member, Roles: []graph.RoleHold{{RoleDefinitionID: tmplHelpdesk, How: graph.HowEligibleGroup}}},
			need: partner.RoleUserAdministrator},
		{name: "Partner Center's roles still count", pc: []partner.DirectoryRole{{ID: tmplGA}}, facts: graph.Facts{User: member},
			need: partner.RolePrivilegedAuthenticationAdministrator},
		{name: "guest refused", facts: graph.Facts{User: graph.User{UserType: "Guest", AccountEnabled: &yes}}, refusal: "guest"},
		{name: "restricted unit refused", facts: graph.Facts{User: member, AdminUnits: []graph.AdminUnit{{DisplayName: "Execs", Restricted: &yes}, {DisplayName: "Sales", Restricted: &no}}},
			refusal: "_Execs_"},
		{name: "eligibility unknown: require privileged", pol: RequirePrivileged,
			facts: graph.Facts{User: member, Unknown: []graph.Unknown{{Fact: graph.FactEligible, Err: noLicence}}},
			need:  partner.RolePrivilegedAuthenticationAdministrator, unknowns: 1},
		{name: "eligibility unknown: refuse", pol: RefuseUnknown,
			facts:   graph.Facts{User: member, Unknown: []graph.Unknown{{Fact: graph.FactEligible, Err: noLicence}}},
			refusal: "no licence", unknowns: 1},
		{name: "nothing could be asked: all four unknown", pol: RequirePrivileged, err: &graph.Error{Kind: graph.KindNotConsented, Advice: "run `locksmith consent x`"},
			need: partner.RolePrivilegedAuthenticationAdministrator, unknowns: 4},
		{name: "a non-graph error is unknown too", pol: RequirePrivileged, err: errors.New("boom"),
			need: partner.RolePrivilegedAuthenticationAdministrator, unknowns: 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := judge(messages.English, GraphPolicy{WhenUnavailable: tc.pol}, "x@contoso.com", tc.pc, tc.facts, tc.err)
			if tc.refusal != "" {
				if !strings.Contains(v.refusal, tc.refusal) || v.audit == "" {
					t.Fatalf("refusal = %q (audit %q), want it to mention %q", v.refusal, v.audit, tc.refusal)
				}
				return
			}
			if v.refusal != "" || v.need != tc.need || len(v.facts.Unknown) != tc.unknowns {
				t.Fatalf("verdict = %+v; want need %s, %d unknown, no refusal", v, tc.need, tc.unknowns)
			}
		})
	}
}

func TestOfferRecipes(t *testing.T) {
	yes, no := true, false
	pol := &Policy{Graph: GraphPolicy{Enabled: true}}
	all := []Recipe{RecipeResetPassword, RecipeTemporaryAccessPass, RecipeRevokeSessions, RecipeEnableAccount}
	if got := offerRecipes([]Recipe{RecipeResetPassword}, pol, nil); got != nil {
		t.Errorf("reset only = %v, want nil (today's meaning)", got)
	}
	if got := offerRecipes(all, pol, &TargetFacts{Enabled: &yes}); strings.Join(got, ",") != "reset_password,temporary_access_pass,revoke_sessions" {
		t.Errorf("enabled account = %v (no re-enable)", got)
	}
	if got := offerRecipes(all, pol, &TargetFacts{Enabled: &no}); len(got) != 4 {
		t.Errorf("disabled account = %v", got)
	}
	if got := offerRecipes(all, &Policy{}, &TargetFacts{Enabled: &no}); got != nil {
		t.Errorf("graph off = %v, want the reset only", got)
	}
	if got := offerRecipes([]Recipe{RecipeEnableAccount}, pol, &TargetFacts{Enabled: &yes}); got == nil || len(got) != 0 {
		t.Errorf("nothing applies = %#v, want empty, not nil", got)
	}
}

// The card's Graph section reads in the card's language; values stay as
// Graph gave them.
func TestFactLines_Japanese(t *testing.T) {
	off := false
	f := TargetFacts{Enabled: &off, Synced: true, Unknown: []string{"roles: timeout"}}
	got := strings.Join(factLines(messages.Japanese, f), "\n")
	for _, want := range []string{"*アカウント:* *無効* · *オンプレミスから同期*", ":warning: *不明* (そのためユーザーを特権ユーザーとして扱います。", "• roles: timeout"} {
		if !strings.Contains(got, want) {
			t.Errorf("ja facts = %q; want %q", got, want)
		}
	}
	if en := strings.Join(factLines(messages.English, f), "\n"); !strings.Contains(en, "*Account:* *disabled* · *synced from on-premises*") {
		t.Errorf("en facts = %q", en)
	}
}

// A target Graph rules out is refused in the requester's language.
func TestJudge_GuestRefusedInJapanese(t *testing.T) {
	yes := true
	v := judge(messages.Japanese, GraphPolicy{}, "x@contoso.com", nil, graph.Facts{User: graph.User{UserType: "Guest", AccountEnabled: &yes}}, nil)
	if !strings.Contains(v.refusal, "x@contoso.com はこのテナントのゲスト (B2B) アカウントです") || v.audit != "target is a guest account" {
		t.Fatalf("verdict = %+v", v)
	}
}

// The approved DM names what the approval covers in the requester's language.
func TestWithRecipes_Japanese(t *testing.T) {
	r := approvals.Request{ID: "r1", Recipes: []string{"reset_password", "revoke_sessions"}}
	n := withRecipes(Notice{Lang: messages.Japanese, ResetButton: "r1"}, r)
	if !strings.Contains(n.Text, "この承認の対象: パスワードのリセット、すべてのサインイン セッションの取り消し。") || n.OfferRequest != "r1" {
		t.Fatalf("ja notice = %+v", n)
	}
	en := withRecipes(Notice{Lang: messages.English, ResetButton: "r1"}, r)
	if !strings.Contains(en.Text, "The approval covers: reset the password, revoke all sign-in sessions.") {
		t.Fatalf("en notice = %+v", en)
	}
}
