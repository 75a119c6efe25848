package commands

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
)

func (h *harness) sweep() {
	h.t.Helper()
	if err := h.svc.Sweep(context.Background()); err != nil {
		h.t.Fatalf("Sweep: %v", err)
	}
	h.settle()
}

func TestSweep_PendingExpires(t *testing.T) {
	h := newHarness(t, true)
	id := h.request()

	h.clock.Advance(29 * time.Minute)
	h.sweep()
	h.wantState(id, approvals.StatePending)
	if n := len(h.msg.Updates()); n != 0 {
		t.Errorf("card updated %d times before expiry", n)
	}

	h.clock.Advance(time.Minute) // exactly ExpiresAt
	h.sweep()
	h.wantState(id, approvals.StateExpired)
	ups := h.msg.Updates()
	if len(ups) != 1 {
		t.Fatalf("card updates = %d; want 1", len(ups))
	}
	if ups[0].Card.Buttons || ups[0].Card.RequestID != id || !strings.Contains(ups[0].Card.Status, "Expired") || !strings.Contains(ups[0].Card.Status, "without a decision") {
		t.Errorf("expired card = %+v", ups[0].Card)
	}
	if ups[0].Ref.Channel != approvalChannel || ups[0].Ref.TS == "" {
		t.Errorf("card updated at %+v; want the posted approval message", ups[0].Ref)
	}
	ns := h.noticesTo(requester)
	if len(ns) != 2 {
		t.Fatalf("notices to the requester = %d; want pending + expired", len(ns))
	}
	wantContains(t, "expiry notice", ns[1].Text, "expired", "without a decision", aliceUPN, "Run `/reset-password` again")
	e := h.lastEvent(approvals.OutcomeExpired)
	if e.ActorID != approvals.SystemActor || e.RequestID != id {
		t.Errorf("expired row = %+v", e)
	}

	// A second sweep finds nothing new to report.
	h.sweep()
	if n := len(h.msg.Updates()); n != 1 {
		t.Errorf("card updated %d times after a second sweep; want 1", n)
	}
	if n := len(h.noticesTo(requester)); n != 2 {
		t.Errorf("requester told %d times after a second sweep; want 2", n)
	}
	// And a late click says so.
	wantContains(t, "late approve", h.click(ActionApprove, id, approver), "expired")
}

func TestSweep_ApprovedButUnusedExpires(t *testing.T) {
	h := newHarness(t, true)
	id := h.approved() // at t0: UseBy = t0 + 15 min
	before := len(h.msg.Updates())

	h.clock.Advance(15 * time.Minute)
	h.sweep()
	h.wantState(id, approvals.StateExpired)
	ups := h.msg.Updates()[before:]
	if len(ups) != 1 || ups[0].Card.Buttons || !strings.Contains(ups[0].Card.Status, "not used by") {
		t.Errorf("card updates = %+v", ups)
	}
	ns := h.noticesTo(requester)
	wantContains(t, "expiry notice", ns[len(ns)-1].Text, "approval to reset the password", "not used")
	if ns[len(ns)-1].ResetButton != "" {
		t.Errorf("expiry notice offers a reset button")
	}
	wantContains(t, "late reset", h.click(ActionReset, id, requester), "expired")
	if n := h.pc.count("ResetPassword"); n != 0 {
		t.Errorf("ResetPassword called on an expired approval")
	}
}

// backdateClaim moves a reset's claim age into the past by the database's
// clock (the one staleness is measured with), as if claimed that long ago.
func (h *harness) backdateClaim(id string, age time.Duration) {
	h.t.Helper()
	h.exec(fmt.Sprintf(`UPDATE requests SET claimed_at = strftime('%%Y-%%m-%%dT%%H:%%M:%%f000Z', 'now', '-%d seconds') WHERE id = '%s'`,
		int(age.Seconds()), id))
}

// A reset left in resetting by a crash is closed as failed/unknown once its
// claim is older than the stale bound (OpTimeout + 2 min) by the database's
// clock, never retried.
func TestSweep_StaleResettingMarkedUnknown(t *testing.T) {
	h := newHarness(t, true)
	id := h.approved()
	// The replica that claimed the reset died before calling Partner Center back.
	if _, err := h.store.ClaimReset(context.Background(), id, requester, "corr-crashed"); err != nil {
		t.Fatalf("ClaimReset: %v", err)
	}
	before := len(h.msg.Updates())
	noticesBefore := len(h.noticesTo(requester))
	bound := h.svc.staleResetAfter()
	if bound != 3*time.Minute {
		t.Fatalf("stale bound = %v; want OpTimeout (1m) + 2m", bound)
	}

	h.backdateClaim(id, bound-10*time.Second)
	h.sweep()
	h.wantState(id, approvals.StateResetting)
	if n := len(h.msg.Updates()) - before; n != 0 {
		t.Errorf("a live reset was touched by the sweep (%d card updates)", n)
	}

	h.backdateClaim(id, bound+10*time.Second)
	h.sweep()
	r := h.get(id)
	if r.State != approvals.StateFailed || r.Detail != approvals.OutcomeUnknownDetail {
		t.Errorf("after the stale bound: state %s detail %q; want failed, %q", r.State, r.Detail, approvals.OutcomeUnknownDetail)
	}
	ups := h.msg.Updates()[before:]
	if len(ups) != 1 || !strings.Contains(ups[0].Card.Status, "outcome unknown") || ups[0].Card.Buttons {
		t.Errorf("card updates = %+v", ups)
	}
	ns := h.noticesTo(requester)[noticesBefore:]
	if len(ns) != 1 {
		t.Fatalf("notices = %+v; want one", ns)
	}
	wantContains(t, "notice", ns[0].Text, "does not know whether the reset happened", "never shown", aliceUPN)
	e := h.lastEvent(approvals.OutcomeResetUnknown)
	if e.ActorID != approvals.SystemActor || e.RequestID != id || e.CorrelationID != "corr-crashed" {
		t.Errorf("reset_unknown row = %+v", e)
	}
	if n := h.pc.count("ResetPassword"); n != 0 {
		t.Errorf("the sweep reset the password (%d calls); it must never retry silently", n)
	}
	wantContains(t, "logs", h.logs.String(), "outcome unknown")

	// Nothing more on the next sweep.
	h.sweep()
	if n := len(h.noticesTo(requester)) - noticesBefore; n != 1 {
		t.Errorf("requester told %d times; want once", n)
	}
}

// TestSweep_ReplicaClockAheadDoesNotMarkLiveReset: a reset claimed a moment
// ago (by the database's clock) is live, however far ahead the sweeping
// replica's clock runs: it is not declared interrupted.
func TestSweep_ReplicaClockAheadDoesNotMarkLiveReset(t *testing.T) {
	h := newHarness(t, true)
	id := h.approved()
	if _, err := h.store.ClaimReset(context.Background(), id, requester, "corr-live"); err != nil {
		t.Fatalf("ClaimReset: %v", err)
	}
	notices := len(h.noticesTo(requester))
	// This replica's clock is ten minutes ahead of the one that claimed.
	h.clock.Advance(10 * time.Minute)
	h.sweep()
	h.wantState(id, approvals.StateResetting)
	for _, n := range h.noticesTo(requester)[notices:] {
		if strings.Contains(n.Text, "does not know whether") {
			t.Errorf("the requester was told a live reset was interrupted")
		}
	}
	for _, o := range h.outcomes() {
		if o == approvals.OutcomeResetUnknown {
			t.Errorf("a live reset was audited as reset_unknown")
		}
	}
}

// A request that expires inside a click's transaction (a click after the
// deadline but before the sweeper ran) gets the same card update and notice as
// one the sweeper expires (docs/architecture.md, "The life of a request":
// final, card updated, requester notified).
//
// Known bug (see report): the store expires the request in the click's
// transaction, ExpireDue then never returns it, and the workflow only answers
// the clicker, so the card keeps its buttons and the requester is never told.
// The test skips while the bug is present and asserts once it is fixed.
func TestExpiryDuringClickUpdatesCardAndNotifies(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(h *harness) string
		kind    ActionKind
		clicker string
		advance time.Duration
		notice  string
	}{
		{"approve after expires_after", func(h *harness) string { return h.request() }, ActionApprove, approver, 31 * time.Minute, "without a decision"},
		{"withdraw after expires_after", func(h *harness) string { return h.request() }, ActionCancel, requester, 31 * time.Minute, "without a decision"},
		{"reset after use_within", func(h *harness) string { return h.approved() }, ActionReset, requester, 16 * time.Minute, "not used"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, true)
			id := tt.prepare(h)
			updates, notices := len(h.msg.Updates()), len(h.noticesTo(requester))
			h.clock.Advance(tt.advance)
			wantContains(t, "reply", h.click(tt.kind, id, tt.clicker), "expired")
			h.wantState(id, approvals.StateExpired)
			h.sweep()

			gotUpdate := len(h.msg.Updates()) > updates
			gotNotice := false
			for _, n := range h.noticesTo(requester)[notices:] {
				if strings.Contains(n.Text, tt.notice) {
					gotNotice = true
				}
			}
			if !gotUpdate {
				t.Errorf("card not updated after expiry during a click")
			}
			if !gotNotice {
				t.Errorf("requester not told of the expiry")
			}
		})
	}
}

// Slack failing during a sweep is logged; the expiry stands and is not
// repeated.
func TestSweep_SlackFailuresDoNotChangeOutcome(t *testing.T) {
	h := newHarness(t, true)
	id := h.request()
	h.msg.notifyFn = func(context.Context, string, Notice) error {
		return slackError{"chat.postMessage", "cannot_dm_bot", true}
	}
	h.msg.updateApprovalFn = func(context.Context, MessageRef, Card) error {
		return slackError{"chat.update", "message_not_found", true}
	}
	h.clock.Advance(30 * time.Minute)
	h.sweep()
	h.wantState(id, approvals.StateExpired)
	wantContains(t, "logs", h.logs.String(), "message given up", "cannot_dm_bot", "message_not_found")
	attempts := len(h.msg.Notices())
	h.sweep()
	if n := len(h.msg.Notices()); n != attempts {
		t.Errorf("a second sweep re-sent the expiry notice (%d → %d attempts)", attempts, n)
	}
}
