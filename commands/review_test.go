package commands

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
)

// exec runs raw SQL on the harness's SQLite file, to make the store fail the
// way a full disk or a broken database would.
func (h *harness) exec(query string) {
	h.t.Helper()
	db, err := sql.Open("sqlite", "file:"+h.dsn+"?_busy_timeout=10000")
	if err != nil {
		h.t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(query); err != nil {
		h.t.Fatalf("%s: %v", query, err)
	}
}

func (h *harness) waitOutcomes(what string, cond func([]approvals.Outcome) bool) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond(h.outcomes()) {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s; audit trail %v", what, h.outcomes())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A reset whose outcome the store refused is known to this process: the
// reconciler must not call it unknown, and if another replica does, the late
// outcome is still written to the trail after the unknown row.
func TestLate_FinishOutlivesReconcile(t *testing.T) {
	h := newHarness(t, true)
	h.svc.lateRetryFirst = 10 * time.Millisecond
	id := h.approved()
	h.exec(`CREATE TRIGGER fail_done BEFORE UPDATE ON requests WHEN NEW.state = 'done' BEGIN SELECT RAISE(ABORT, 'disk full'); END`)

	wantContains(t, "reply", h.click(ActionReset, id, requester), "Done")
	if n := len(h.msg.Deliveries()); n != 1 {
		t.Fatalf("%d deliveries, want 1: the password must reach the requester", n)
	}
	h.wantState(id, approvals.StateResetting)

	h.backdateClaim(id, h.svc.staleResetAfter()+time.Minute)
	if err := h.svc.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.wantState(id, approvals.StateResetting) // spooled here: not unknown
	for _, n := range h.noticesTo(requester) {
		if strings.Contains(n.Text, "does not know whether") {
			t.Fatal("the requester was told the outcome is unknown although this process knows it")
		}
	}

	// Another replica, which cannot see this spool, reconciles it meanwhile.
	if _, err := h.store.MarkOutcomeUnknown(context.Background(), id, h.svc.staleResetAfter()); err != nil {
		t.Fatal(err)
	}
	h.exec(`DROP TRIGGER fail_done`)
	h.waitOutcomes("the late reset_done row", func(o []approvals.Outcome) bool {
		return len(o) > 0 && o[len(o)-1] == approvals.OutcomeResetDone
	})
	e := h.lastEvent(approvals.OutcomeResetDone)
	wantContains(t, "late row detail", e.Detail, "recorded late", "closed as failed")
	if e.RequestID != id || e.ActorID != requester {
		t.Errorf("late row = %+v", e)
	}
}

func TestApproval_ApproverGrantRevokedBeforeReset(t *testing.T) {
	h := newHarness(t, true)
	id := h.approved()
	h.setPolicy(func(p *Policy) {
		var kept []Grant
		for _, g := range p.Grants {
			g.Users = without(g.Users, approver)
			kept = append(kept, g)
		}
		p.Grants = kept
	})
	reply := h.click(ActionReset, id, requester)
	wantContains(t, "reply", reply, "approval by <@"+approver+"> no longer counts")
	if n := h.pc.count("ResetPassword"); n != 0 {
		t.Fatal("reset on an approval whose approver lost their grant")
	}
	h.wantState(id, approvals.StateApproved)
}

func without(ids []string, drop string) []string {
	var out []string
	for _, id := range ids {
		if id != drop {
			out = append(out, id)
		}
	}
	return out
}

func TestSlashCommand_NoApproval_RequireReason(t *testing.T) {
	h := newHarness(t, false)
	h.setPolicy(func(p *Policy) { p.RequireReason = true })
	reply := h.slash(requester, strings.TrimSuffix(slashText, " INC-4711"))
	wantContains(t, "reply", reply, "A reason is required")
	if h.pc.totalCalls() != 0 || len(h.events()) != 0 {
		t.Fatal("a reset without the required reason went ahead")
	}
}

// An Approve that arrives between chat.postMessage and the recording of the
// card's location still updates the card (the click says where it is).
func TestApproval_ClickBeforeCardRecorded(t *testing.T) {
	h := newHarness(t, true)
	var approveReply string
	post := h.msg.postApprovalFn
	h.msg.postApprovalFn = func(ctx context.Context, ch string, c Card) (MessageRef, error) {
		ref, err := post(ctx, ch, c)
		// Not h.click: that waits for the outbox, which is busy with this
		// very post.
		approveReply = h.svc.Action(context.Background(), Action{
			Kind: ActionApprove, RequestID: c.RequestID, UserID: approver, UserName: "bob",
			ChannelID: ref.Channel, MessageTS: ref.TS, CorrelationID: "corr-early-approve",
		}).Text
		return ref, err
	}
	id := h.request()
	wantContains(t, "approve reply", approveReply, "Approved.")
	h.wantState(id, approvals.StateApproved)
	ups := h.msg.Updates()
	if len(ups) == 0 || ups[0].Card.Buttons || !strings.Contains(ups[0].Card.Status, "Approved by") {
		t.Fatalf("card updates = %+v; want the buttons removed after the early approval", ups)
	}
}

// One request the store cannot expire does not stop the others from being
// expired and reported.
func TestSweep_OneFailingRowDoesNotHideOthers(t *testing.T) {
	h := newHarness(t, true)
	stuck := h.request()
	other := h.request()
	h.exec(`CREATE TRIGGER fail_expire BEFORE UPDATE ON requests WHEN OLD.id = '` + stuck + `' BEGIN SELECT RAISE(ABORT, 'corrupt page'); END`)
	h.clock.Advance(time.Hour)
	if err := h.svc.Sweep(context.Background()); err == nil {
		t.Fatal("Sweep hid the failure")
	}
	h.wantState(other, approvals.StateExpired)
	found := false
	for _, n := range h.noticesTo(requester) {
		if strings.Contains(n.Text, "expired") {
			found = true
		}
	}
	if !found {
		t.Fatal("the expired request was not reported because another row failed")
	}
}
