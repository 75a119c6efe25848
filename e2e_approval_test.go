package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/commands"
	"github.com/locksmithbot/locksmith/internal/dbtest"
	"github.com/locksmithbot/locksmith/internal/fakeslack"
)

// Issue #4: second-person sign-off, on SQLite and PostgreSQL.

const (
	actApprove = "locksmith_approve"
	actDeny    = "locksmith_deny"
	actCancel  = "locksmith_cancel"
	actReset   = "locksmith_reset"
)

// request makes a request as user and returns the approval card it produced.
func (h *harness) request(user, text string) fakeslack.Message {
	h.t.Helper()
	before := len(h.slack.Messages(approvalsChannel))
	reply := h.slash(user, text)
	if !strings.Contains(reply, "Request sent for approval") {
		h.t.Fatalf("request reply = %q", reply)
	}
	h.waitFor("approval card", func() bool { return len(h.slack.Messages(approvalsChannel)) > before })
	card := h.card()
	if !hasButton(card.Blocks, actApprove) || !hasButton(card.Blocks, actDeny) {
		h.t.Fatalf("card lacks Approve/Deny: %s", card.Blocks)
	}
	return card
}

// refreshed re-reads a message after updates.
func (h *harness) refreshed(m fakeslack.Message) fakeslack.Message {
	h.t.Helper()
	got, ok := h.slack.Message(m.Channel, m.TS)
	if !ok {
		h.t.Fatalf("message %s/%s vanished", m.Channel, m.TS)
	}
	return got
}

// dmWithButton waits for the newest DM to user carrying actionID.
func (h *harness) dmWithButton(user, actionID string) fakeslack.Message {
	h.t.Helper()
	var found fakeslack.Message
	h.waitFor("DM with "+actionID, func() bool {
		msgs := h.dms(user)
		for i := len(msgs) - 1; i >= 0; i-- {
			if hasButton(msgs[i].Blocks, actionID) {
				found = msgs[i]
				return true
			}
		}
		return false
	})
	return found
}

// dmWithButtonFor waits for the DM to user carrying actionID for requestID.
func (h *harness) dmWithButtonFor(user, actionID, requestID string) fakeslack.Message {
	h.t.Helper()
	var found fakeslack.Message
	h.waitFor("DM with "+actionID+" for "+requestID, func() bool {
		for _, m := range h.dms(user) {
			if hasButton(m.Blocks, actionID) && strings.Contains(string(m.Blocks), requestID) {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

func (h *harness) dmContaining(user, text string) {
	h.t.Helper()
	h.waitFor(fmt.Sprintf("DM to %s containing %q", user, text), func() bool {
		for _, m := range h.dms(user) {
			if strings.Contains(m.Text+plain(m.Blocks), text) {
				return true
			}
		}
		return false
	})
}

func (h *harness) requestState(id string) approvals.State {
	h.t.Helper()
	r, err := h.app.store.Get(context.Background(), id)
	if err != nil {
		h.t.Fatalf("get %s: %v", id, err)
	}
	return r.State
}

func TestE2E_Approval(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		h := newHarness(t, harnessOptions{approval: true, dsn: dsn})
		h.start()

		t.Run("whole flow", func(t *testing.T) {
			defer h.use(t)()
			card := h.request(alice, "contoso.onmicrosoft.com "+plainUPN+" INC-4711 &lt;b&gt;")
			id := buttonValue(t, card.Blocks, actApprove)
			if !strings.Contains(string(card.Blocks), plainUPN) || !strings.Contains(string(card.Blocks), "INC-4711") {
				t.Fatalf("card lacks user or reason: %s", card.Blocks)
			}
			h.dmWithButton(alice, actCancel) // pending notice, with Withdraw

			if r := h.click(alice, card, actApprove); !strings.Contains(r, "your own request") {
				t.Fatalf("self-approval reply = %q", r)
			}
			if r := h.click(mallory, card, actApprove); !strings.Contains(r, "can't approve") {
				t.Fatalf("approver without grant: reply = %q", r)
			}
			if h.requestState(id) != approvals.StatePending {
				t.Fatal("a refused click changed the state")
			}
			if r := h.click(bob, card, actApprove); !strings.Contains(r, "Approved") {
				t.Fatalf("approve reply = %q", r)
			}
			card = h.refreshed(card)
			if hasButton(card.Blocks, actApprove) || !strings.Contains(plain(card.Blocks), "Approved by <@"+bob+">") {
				t.Fatalf("card after approval: %s", card.Blocks)
			}
			if r := h.click(grace, card0(t, h, id), actApprove); !strings.Contains(r, "already approved by <@"+bob+">") {
				t.Fatalf("second approval reply = %q", r)
			}
			resetDM := h.dmWithButton(alice, actReset)
			if r := h.click(bob, resetDM, actReset); !strings.Contains(r, "Only <@"+alice+">") {
				t.Fatalf("non-requester reset reply = %q", r)
			}
			if h.patches() != 0 {
				t.Fatal("PATCH before the requester clicked")
			}
			if r := h.click(alice, resetDM, actReset); !strings.Contains(r, "Done") {
				t.Fatalf("reset reply = %q", r)
			}
			if h.patches() != 1 {
				t.Fatalf("%d PATCH calls, want 1", h.patches())
			}
			h.assertPasswordOnlyInEphemeral(alice, h.lastResetPassword())
			h.waitFor("card says done", func() bool { return strings.Contains(plain(h.refreshed(card).Blocks), "Reset done") })
			if r := h.click(alice, resetDM, actReset); !strings.Contains(r, "finished") {
				t.Fatalf("second reset click reply = %q", r)
			}
			if h.patches() != 1 {
				t.Fatal("a second click reset again")
			}
			if h.requestState(id) != approvals.StateDone {
				t.Fatalf("state %s, want done", h.requestState(id))
			}
			h.dmContaining(alice, "was reset")
		})

		t.Run("user administrator cannot approve a global administrator's reset", func(t *testing.T) {
			defer h.use(t)()
			card := h.request(carol, "contoso.onmicrosoft.com "+globalUPN+" INC-9")
			if r := h.click(bob, card, actApprove); !strings.Contains(r, "Privileged Authentication Administrator") {
				t.Fatalf("reply = %q", r)
			}
			if r := h.click(erin, card, actApprove); !strings.Contains(r, "Approved") {
				t.Fatalf("PAA approval reply = %q", r)
			}
		})

		t.Run("deny", func(t *testing.T) {
			defer h.use(t)()
			card := h.request(alice, "contoso.onmicrosoft.com "+helpdeskUPN)
			if r := h.deny(bob, card, "not on the ticket"); !strings.Contains(r, "Denied") {
				t.Fatalf("deny reply = %q", r)
			}
			h.dmContaining(alice, "denied your request")
			h.dmContaining(alice, "not on the ticket")
			if r := h.click(grace, card0(t, h, buttonValue(t, card.Blocks, actApprove)), actApprove); !strings.Contains(r, "already denied") {
				t.Fatalf("approve after deny: %q", r)
			}
		})

		t.Run("withdraw", func(t *testing.T) {
			defer h.use(t)()
			card := h.request(alice, "contoso.onmicrosoft.com "+helpdeskUPN)
			pending := h.dmWithButton(alice, actCancel)
			if r := h.click(bob, pending, actCancel); !strings.Contains(r, "Only <@"+alice+">") {
				t.Fatalf("withdraw by someone else: %q", r)
			}
			if r := h.click(alice, pending, actCancel); !strings.Contains(r, "withdrawn") {
				t.Fatalf("withdraw reply = %q", r)
			}
			if r := h.click(bob, card, actApprove); !strings.Contains(r, "withdrawn") {
				t.Fatalf("approve after withdraw: %q", r)
			}
		})

		t.Run("pending request expires", func(t *testing.T) {
			defer h.use(t)()
			card := h.request(alice, "contoso.onmicrosoft.com "+helpdeskUPN)
			h.clock.Advance(31 * time.Minute)
			if err := h.app.svc.Sweep(context.Background()); err != nil {
				t.Fatal(err)
			}
			h.dmContaining(alice, "expired")
			if r := h.click(bob, card, actApprove); !strings.Contains(r, "expired") {
				t.Fatalf("approve after expiry: %q", r)
			}
			if !strings.Contains(plain(h.refreshed(card).Blocks), "Expired") {
				t.Fatalf("card not marked expired: %s", h.refreshed(card).Blocks)
			}
		})

		t.Run("unused approval expires", func(t *testing.T) {
			defer h.use(t)()
			card := h.request(alice, "contoso.onmicrosoft.com "+helpdeskUPN)
			if r := h.click(bob, card, actApprove); !strings.Contains(r, "Approved") {
				t.Fatalf("approve: %q", r)
			}
			resetDM := h.dmWithButton(alice, actReset)
			h.clock.Advance(16 * time.Minute)
			if err := h.app.svc.Sweep(context.Background()); err != nil {
				t.Fatal(err)
			}
			before := h.patches()
			if r := h.click(alice, resetDM, actReset); !strings.Contains(r, "expired") {
				t.Fatalf("reset after use_within: %q", r)
			}
			if h.patches() != before {
				t.Fatal("PATCH after expiry")
			}
		})
	})
}

// card0 returns the approval card of a request by its ID (cards are found by
// their Approve button value, also after the buttons are gone: by the request
// ID recorded in the store).
func card0(t *testing.T, h *harness, id string) fakeslack.Message {
	t.Helper()
	r, err := h.app.store.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	m, ok := h.slack.Message(r.ApprovalChannel, r.ApprovalTS)
	if !ok {
		t.Fatalf("no card for %s", id)
	}
	// The buttons are gone after a decision; clicking needs a value, so put the
	// original action back the way a stale Slack client would still show it.
	if !hasButton(m.Blocks, actApprove) {
		m.Blocks = []byte(fmt.Sprintf(`[{"type":"actions","elements":[{"type":"button","action_id":%q,"value":%q},{"type":"button","action_id":%q,"value":%q}]}]`, actApprove, id, actDeny, id))
	}
	return m
}

// TestE2E_Races: two people (or two replicas) acting at the same moment give
// exactly one transition and at most one PATCH.
func TestE2E_Races(t *testing.T) {
	const trials = 50
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		h := newHarness(t, harnessOptions{approval: true, dsn: dsn})
		// Unpaced: the races are about decisions, and at Slack's pace of a
		// card a second the 300 requests alone would outlast go test's
		// timeout (TestE2E_BurstIsPacedNotWithdrawn covers pacing).
		h.env["LOCKSMITH_SLACK_POST_INTERVAL"] = "0"
		h.start()
		ctx := context.Background()

		// A second locksmith replica on the same database. It shares the Web API
		// (any replica may post and update) and acts through its own store.
		cfg, err := loadConfig(h.getenv)
		if err != nil {
			t.Fatal(err)
		}
		replica, err := newApp(ctx, cfg, discardLogger(), h.clock.Now)
		if err != nil {
			t.Fatal(err)
		}
		defer replica.store.Close()

		newRequest := func() string {
			card := h.request(alice, "contoso.onmicrosoft.com "+helpdeskUPN)
			return buttonValue(t, card.Blocks, actApprove)
		}
		act := func(svc *commands.Service, kind commands.ActionKind, user, id string) string {
			return svc.Action(ctx, commands.Action{Kind: kind, RequestID: id, UserID: user, UserName: user, CorrelationID: "race-" + id}).Text
		}
		race := func(a, b func() string) (string, string) {
			var wg sync.WaitGroup
			var ra, rb string
			start := make(chan struct{})
			wg.Add(2)
			go func() { defer wg.Done(); <-start; ra = a() }()
			go func() { defer wg.Done(); <-start; rb = b() }()
			close(start)
			wg.Wait()
			return ra, rb
		}
		countAudit := func(id string, outcome approvals.Outcome) int {
			n := 0
			_ = h.app.store.Events(ctx, approvals.EventFilter{}, func(e approvals.Event) error {
				if e.RequestID == id && e.Outcome == outcome {
					n++
				}
				return nil
			})
			return n
		}

		t.Run("approve vs approve", func(t *testing.T) {
			defer h.use(t)()
			for i := 0; i < trials; i++ {
				id := newRequest()
				ra, rb := race(
					func() string { return act(h.app.svc, commands.ActionApprove, bob, id) },
					func() string { return act(replica.svc, commands.ActionApprove, grace, id) })
				wins := strings.Count(ra+rb, "Approved.")
				if wins != 1 || countAudit(id, approvals.OutcomeApproved) != 1 {
					t.Fatalf("trial %d: %d wins, %d audit rows; replies %q / %q", i, wins, countAudit(id, approvals.OutcomeApproved), ra, rb)
				}
				if !strings.Contains(ra+rb, "already approved by <@") {
					t.Fatalf("trial %d: the loser was not told who won: %q / %q", i, ra, rb)
				}
			}
		})
		t.Run("approve vs deny", func(t *testing.T) {
			defer h.use(t)()
			for i := 0; i < trials; i++ {
				id := newRequest()
				ra, rb := race(
					func() string { return act(h.app.svc, commands.ActionApprove, bob, id) },
					func() string { return act(replica.svc, commands.ActionDeny, grace, id) })
				approved, denied := strings.Contains(ra, "Approved."), strings.Contains(rb, "Denied.")
				if approved == denied {
					t.Fatalf("trial %d: approved=%t denied=%t (%q / %q)", i, approved, denied, ra, rb)
				}
				if countAudit(id, approvals.OutcomeApproved)+countAudit(id, approvals.OutcomeDenied) != 1 {
					t.Fatalf("trial %d: decisions audited twice", i)
				}
			}
		})
		t.Run("reset vs reset", func(t *testing.T) {
			defer h.use(t)()
			for i := 0; i < trials; i++ {
				id := newRequest()
				if r := act(h.app.svc, commands.ActionApprove, bob, id); !strings.Contains(r, "Approved.") {
					t.Fatalf("approve: %q", r)
				}
				before := h.patches()
				ra, rb := race(
					func() string { return act(h.app.svc, commands.ActionReset, alice, id) },
					func() string { return act(replica.svc, commands.ActionReset, alice, id) })
				if got := h.patches() - before; got != 1 {
					t.Fatalf("trial %d: %d PATCH calls, want exactly 1 (%q / %q)", i, got, ra, rb)
				}
				if strings.Count(ra+rb, "Done.") != 1 || countAudit(id, approvals.OutcomeResetIntent) != 1 {
					t.Fatalf("trial %d: replies %q / %q", i, ra, rb)
				}
			}
		})
	})
}

// TestE2E_DatabaseNeverHoldsThePassword reads the SQLite files byte by byte
// after resets in both flows.
func TestE2E_DatabaseNeverHoldsThePassword(t *testing.T) {
	dsn := dbtest.SQLite(t)
	h := newHarness(t, harnessOptions{approval: true, dsn: dsn})
	h.start()
	card := h.request(alice, "contoso.onmicrosoft.com "+plainUPN+" INC-1")
	h.click(bob, card, actApprove)
	h.click(alice, h.dmWithButton(alice, actReset), actReset)
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	// The same database, now without sign-off.
	if err := os.WriteFile(h.env["LOCKSMITH_CONFIG"], []byte(fmt.Sprintf(policyTemplate, false)), 0o600); err != nil {
		t.Fatal(err)
	}
	h.start()
	if r := h.slash(alice, "contoso.onmicrosoft.com "+plainUPN+" INC-2"); !strings.Contains(r, "was reset") {
		t.Fatalf("reset without sign-off: %q", r)
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	resets := h.pc.Resets()
	if len(resets) != 2 {
		t.Fatalf("%d resets, want 2 (one per flow)", len(resets))
	}
	for _, r := range resets {
		assertFilesLack(t, h, dsn, r.Password)
	}
}

func assertFilesLack(t *testing.T, h *harness, dsn, pw string) {
	t.Helper()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		raw, err := os.ReadFile(dsn + suffix)
		if err != nil {
			continue
		}
		if strings.Contains(string(raw), pw) {
			t.Fatalf("%s holds the password", dsn+suffix)
		}
		for _, tok := range issuedRefreshTokens(h) {
			if strings.Contains(string(raw), tok) {
				t.Fatalf("%s holds a Partner Center token in clear", dsn+suffix)
			}
		}
	}
}

func issuedRefreshTokens(h *harness) []string {
	toks := []string{h.pc.InitialRefreshToken()}
	for _, c := range h.pc.TokenCalls() {
		if c.IssuedRefreshToken != "" {
			toks = append(toks, c.IssuedRefreshToken)
		}
	}
	return toks
}
