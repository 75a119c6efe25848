package main

import (
	"context"
	"strings"
	"testing"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/internal/dbtest"
	"github.com/locksmithbot/locksmith/internal/fakegraph"
	"github.com/locksmithbot/locksmith/internal/fakepartner"
)

// Issue #10: Microsoft Graph's facts decide, and recipes run, end to end
// against the fakes of Slack, Partner Center and Graph.

const (
	actTAP    = "locksmith_tap"
	actRevoke = "locksmith_revoke"
	actEnable = "locksmith_enable"

	eligibleID  = "a0000000-0000-4000-8000-000000000011"
	eligibleUPN = "pim.ga@contoso.onmicrosoft.com"
	groupID     = "a0000000-0000-4000-8000-000000000012"
	groupUPN    = "tier0.member@contoso.onmicrosoft.com"
	auID        = "a0000000-0000-4000-8000-000000000013"
	auUPN       = "ceo@contoso.onmicrosoft.com"
	guestID     = "a0000000-0000-4000-8000-000000000014"
	guestUPN    = "partner_ext#EXT#@contoso.onmicrosoft.com"
	disabledID  = "a0000000-0000-4000-8000-000000000015"
	disabledUPN = "leaver@contoso.onmicrosoft.com"

	roleSecurityAdmin = "194ae4cb-b126-40b2-bd5b-6091b380977d"
)

// seedGraphUsers adds users whose danger only Graph can see: Partner Center
// reports no role for any of them.
func seedGraphUsers(h *harness, fg *fakegraph.Server) {
	c := fg.AddTenant(contosoTenant)
	for _, u := range []struct{ id, upn, name string }{
		{eligibleID, eligibleUPN, "PIM GA"}, {groupID, groupUPN, "Tier0 Member"}, {auID, auUPN, "CEO"},
		{guestID, guestUPN, "Guest"}, {disabledID, disabledUPN, "Leaver"},
	} {
		h.pc.AddUser(contosoTenant, fakepartner.User{ObjectID: u.id, UPN: u.upn, DisplayName: u.name, State: "active"})
		gu := fakegraph.User{ID: u.id, UserPrincipalName: u.upn, DisplayName: u.name, AccountEnabled: u.id != disabledID}
		if u.id == guestID {
			gu.UserType = "Guest"
		}
		c.AddUser(gu)
	}
	c.MakeEligible(fakegraph.Assignment{PrincipalID: eligibleID, RoleDefinitionID: roleGlobal})
	c.AddGroup(fakegraph.Group{ID: "g-nested", DisplayName: "Ops", Members: []string{groupID}})
	c.AddGroup(fakegraph.Group{ID: "g-tier0", DisplayName: "Tier0 Admins", IsAssignableToRole: true, Members: []string{"g-nested"}})
	c.Assign(fakegraph.Assignment{PrincipalID: "g-tier0", RoleDefinitionID: roleSecurityAdmin})
	c.AddAdminUnit(fakegraph.AdminUnit{ID: "au-exec", DisplayName: "Executives", Restricted: true, Members: []string{auID}})
}

func newGraphHarness(t *testing.T, dsn, whenUnavailable string) (*harness, *fakegraph.Server) {
	h := newHarness(t, harnessOptions{approval: true, dsn: dsn})
	fg := withGraph(t, h, whenUnavailable)
	seedGraphUsers(h, fg)
	fg.AddTenant(fabrikamTenant).SetConsented(false)
	h.start()
	return h, fg
}

func (h *harness) auditRows(outcome approvals.Outcome) []approvals.Event {
	h.t.Helper()
	var out []approvals.Event
	err := h.app.store.Events(context.Background(), approvals.EventFilter{}, func(e approvals.Event) error {
		if e.Outcome == outcome {
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

func TestE2E_GraphFactsDecide(t *testing.T) {
	h, fg := newGraphHarness(t, "", "require_privileged")

	t.Run("PIM-eligible Global Administrator is privileged", func(t *testing.T) {
		defer h.use(t)()
		if r := h.slash(alice, "contoso.onmicrosoft.com "+eligibleUPN+" INC-1"); !strings.Contains(r, "needs *Privileged Authentication Administrator*") {
			t.Fatalf("User Administrator requester: %q", r)
		}
		card := h.request(carol, "contoso.onmicrosoft.com "+eligibleUPN+" INC-1")
		if text := plain(card.Blocks); !strings.Contains(text, "Global Administrator (eligible)") || !strings.Contains(text, "Microsoft Graph") {
			t.Fatalf("card does not show the eligible role: %s", text)
		}
		if r := h.click(bob, card, actApprove); !strings.Contains(r, "Privileged Authentication Administrator") {
			t.Fatalf("User Administrator approver: %q", r)
		}
		if r := h.click(erin, card, actApprove); !strings.Contains(r, "Approved") {
			t.Fatalf("PAA approver: %q", r)
		}
		if r := h.click(carol, h.dmWithButton(carol, actReset), actReset); !strings.Contains(r, "Done") {
			t.Fatalf("reset: %q", r)
		}
		h.assertPasswordOnlyInEphemeral(carol, h.lastResetPassword())
	})

	t.Run("role held through a nested role-assignable group is privileged", func(t *testing.T) {
		defer h.use(t)()
		card := h.request(carol, "contoso.onmicrosoft.com "+groupUPN+" INC-2")
		if text := plain(card.Blocks); !strings.Contains(text, "Security Administrator (active via group Tier0 Admins)") {
			t.Fatalf("card: %s", text)
		}
		if r := h.click(grace, card, actApprove); !strings.Contains(r, "Privileged Authentication Administrator") {
			t.Fatalf("User Administrator approver: %q", r)
		}
		if r := h.click(erin, card, actApprove); !strings.Contains(r, "Approved") {
			t.Fatalf("PAA approver: %q", r)
		}
		if r := h.click(carol, h.dmWithButton(carol, actReset), actReset); !strings.Contains(r, "Done") {
			t.Fatalf("reset: %q", r)
		}
	})

	t.Run("restricted-management unit member and guest are refused", func(t *testing.T) {
		defer h.use(t)()
		before := len(h.slack.Messages(approvalsChannel))
		if r := h.slash(carol, "contoso.onmicrosoft.com "+auUPN+" INC-3"); !strings.Contains(r, "restricted-management administrative unit _Executives_") {
			t.Fatalf("AU member: %q", r)
		}
		if r := h.slash(carol, "contoso.onmicrosoft.com "+guestUPN+" INC-4"); !strings.Contains(r, "guest (B2B) account") {
			t.Fatalf("guest: %q", r)
		}
		if len(h.slack.Messages(approvalsChannel)) != before {
			t.Fatal("a refused request reached the approval channel")
		}
		if n := len(h.auditRows(approvals.OutcomeRefused)); n < 2 {
			t.Fatalf("refusal rows = %d", n)
		}
	})

	t.Run("Graph unavailable: require_privileged names the unknown facts", func(t *testing.T) {
		defer h.use(t)()
		if r := h.slash(alice, "fabrikam.onmicrosoft.com "+fabrikamUser+" INC-5"); !strings.Contains(r, "needs *Privileged Authentication Administrator*") {
			t.Fatalf("could-not-ask was read as no roles: %q", r)
		}
		card := h.request(carol, "fabrikam.onmicrosoft.com "+fabrikamUser+" INC-5")
		text := plain(card.Blocks)
		for _, want := range []string{"Unknown", "PIM-eligible admin roles", "restricted-management administrative units", "locksmith consent " + fabrikamTenant, "treated as privileged"} {
			if !strings.Contains(text, want) {
				t.Errorf("card lacks %q: %s", want, text)
			}
		}
	})

	t.Run("the partner chain is not touched by customer-tenant redemptions", func(t *testing.T) {
		defer h.use(t)()
		for _, c := range fg.TokenCalls() {
			if strings.HasPrefix(c.RefreshToken, "rt-customer-") || !h.pc.RefreshTokenValid(c.RefreshToken) {
				t.Fatalf("Graph redeemed %q, not a partner-chain token", c.RefreshToken)
			}
		}
		for _, c := range h.pc.TokenCalls() {
			if strings.HasPrefix(c.Form.Get("refresh_token"), "rt-customer-") {
				t.Fatal("a customer tenant's refresh token entered the partner chain")
			}
		}
	})
}

func TestE2E_GraphUnavailable_Refuse(t *testing.T) {
	h, _ := newGraphHarness(t, "", "refuse")
	r := h.slash(carol, "fabrikam.onmicrosoft.com "+fabrikamUser+" INC-6")
	if !strings.Contains(r, "graph.when_unavailable is `refuse`") || !strings.Contains(r, "locksmith consent") {
		t.Fatalf("reply = %q", r)
	}
	if len(h.slack.Messages(approvalsChannel)) != 0 {
		t.Fatal("a card was posted")
	}
}

func TestE2E_Recipes(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		h, fg := newGraphHarness(t, dsn, "require_privileged")

		t.Run("re-enable, Temporary Access Pass, then revoke sessions", func(t *testing.T) {
			defer h.use(t)()
			card := h.request(alice, "contoso.onmicrosoft.com "+disabledUPN+" INC-7")
			text := plain(card.Blocks)
			if !strings.Contains(text, "*disabled*") || !strings.Contains(text, "re-enable the account") || !strings.Contains(text, "issue a Temporary Access Pass") {
				t.Fatalf("card: %s", text)
			}
			if r := h.click(bob, card, actApprove); !strings.Contains(r, "Approved") {
				t.Fatalf("approve: %q", r)
			}
			dm := h.dmWithButton(alice, actTAP)
			for _, b := range []string{actReset, actRevoke, actEnable} {
				if !hasButton(dm.Blocks, b) {
					t.Fatalf("approved DM lacks %s: %s", b, dm.Blocks)
				}
			}
			if r := h.click(bob, dm, actEnable); !strings.Contains(r, "Only <@"+alice+">") {
				t.Fatalf("enable by someone else: %q", r)
			}
			if r := h.click(alice, dm, actEnable); !strings.Contains(r, "can sign in again") {
				t.Fatalf("enable: %q", r)
			}
			if u, _ := fg.AddTenant(contosoTenant).User(disabledID); !u.AccountEnabled || len(fg.Enables()) != 1 {
				t.Fatal("account not enabled in Graph")
			}
			if r := h.click(alice, dm, actTAP); !strings.Contains(r, "Temporary Access Pass is in your DM") {
				t.Fatalf("tap: %q", r)
			}
			passes := fg.Passes()
			if len(passes) != 1 || passes[0].LifetimeInMinutes != 120 || !passes[0].IsUsableOnce {
				t.Fatalf("passes = %+v", passes)
			}
			h.assertPasswordOnlyInEphemeral(alice, passes[0].Value)
			if h.patches() != 0 {
				t.Fatal("a Temporary Access Pass also reset the password")
			}
			if r := h.click(alice, dm, actReset); !strings.Contains(r, "finished") {
				t.Fatalf("reset after the pass: %q", r)
			}
			follow := h.dmWithButton(alice, actRevoke)
			if r := h.click(alice, follow, actRevoke); !strings.Contains(r, "revoked") {
				t.Fatalf("revoke: %q", r)
			}
			if len(fg.Revocations()) != 1 {
				t.Fatal("sessions not revoked in Graph")
			}
			for _, o := range []approvals.Outcome{approvals.OutcomeAccountEnabled, approvals.OutcomeTAPIssued, approvals.OutcomeSessionsRevoked} {
				if rows := h.auditRows(o); len(rows) != 1 || rows[0].TargetObjectID != disabledID {
					t.Errorf("%s rows = %+v", o, rows)
				}
			}
			if n := len(h.auditRows(approvals.OutcomeRecipeIntent)); n != 2 {
				t.Errorf("recipe intents = %d, want 2", n)
			}
		})

		t.Run("an approver must be allowed everything the request covers", func(t *testing.T) {
			defer h.use(t)()
			fg.AddTenant(fabrikamTenant).SetConsented(true)
			defer fg.AddTenant(fabrikamTenant).SetConsented(false)
			card := h.request(alice, "fabrikam.onmicrosoft.com "+fabrikamUser+" INC-11")
			// dave's grant for Fabrikam allows the reset only.
			if r := h.click(dave, card, actApprove); !strings.Contains(r, "issue a Temporary Access Pass, revoke all sign-in sessions") {
				t.Fatalf("approver without the recipes: %q", r)
			}
			if r := h.click(bob, card, actApprove); !strings.Contains(r, "Approved") {
				t.Fatalf("approver with them: %q", r)
			}
			h.dmContaining(alice, "The approval covers: reset the password, issue a Temporary Access Pass, revoke all sign-in sessions.")
		})

		t.Run("a recipe failing after the reset does not hide the reset", func(t *testing.T) {
			defer h.use(t)()
			card := h.request(alice, "contoso.onmicrosoft.com "+plainUPN+" INC-8")
			if r := h.click(bob, card, actApprove); !strings.Contains(r, "Approved") {
				t.Fatalf("approve: %q", r)
			}
			dm := h.dmWithButton(alice, actRevoke)
			if r := h.click(alice, dm, actReset); !strings.Contains(r, "Done") {
				t.Fatalf("reset: %q", r)
			}
			fg.AddFault(fakegraph.Fault{PathContains: "revokeSignInSessions", Status: 403, Times: 1})
			r := h.click(alice, dm, actRevoke)
			if !strings.Contains(r, "Could not revoke") || !strings.Contains(r, "User Administrator") {
				t.Fatalf("failed revoke: %q", r)
			}
			id := buttonValue(t, card.Blocks, actApprove)
			if h.requestState(id) != approvals.StateDone {
				t.Fatal("the reset's outcome changed")
			}
			if len(h.auditRows(approvals.OutcomeRecipeFailed)) != 1 {
				t.Fatal("the failed recipe is not audited")
			}
			h.assertPasswordOnlyInEphemeral(alice, h.lastResetPassword())
		})
	})
}

// Without graph.enabled nothing changes: Graph is never asked, and a user
// only Graph knows to be privileged looks ordinary, exactly as before.
func TestE2E_GraphDisabled_Unchanged(t *testing.T) {
	h := newHarness(t, harnessOptions{approval: true})
	fg := withGraph(t, h, "")
	seedGraphUsers(h, fg)
	h.start()
	card := h.request(alice, "contoso.onmicrosoft.com "+eligibleUPN+" INC-9")
	if strings.Contains(plain(card.Blocks), "Microsoft Graph") {
		t.Fatalf("card shows Graph facts without graph.enabled: %s", card.Blocks)
	}
	if n := len(fg.Calls()) + len(fg.TokenCalls()); n != 0 {
		t.Fatalf("Graph was called %d times without graph.enabled", n)
	}
}

// The Temporary Access Pass, like the password, never reaches the database
// (file, WAL) or the spool.
func TestE2E_DatabaseNeverHoldsThePass(t *testing.T) {
	dsn := dbtest.SQLite(t)
	h, fg := newGraphHarness(t, dsn, "require_privileged")
	card := h.request(alice, "contoso.onmicrosoft.com "+plainUPN+" INC-10")
	h.click(bob, card, actApprove)
	if r := h.click(alice, h.dmWithButton(alice, actTAP), actTAP); !strings.Contains(r, "Done") {
		t.Fatalf("tap: %q", r)
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	passes := fg.Passes()
	if len(passes) != 1 {
		t.Fatalf("passes = %d", len(passes))
	}
	assertFilesLack(t, h, dsn, passes[0].Value)
	for _, c := range fg.Calls() {
		if auth := c.Header["Authorization"]; len(auth) > 0 && strings.Contains(h.logs.String(), strings.TrimPrefix(auth[0], "Bearer ")) {
			t.Fatal("a Graph access token is in the logs")
		}
	}
}
