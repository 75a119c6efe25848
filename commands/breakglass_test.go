package commands

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/internal/dbtest"
	"github.com/locksmithbot/locksmith/internal/secret"
	"github.com/locksmithbot/locksmith/messages"
	"github.com/locksmithbot/locksmith/partner"
	"github.com/locksmithbot/locksmith/policy"
)

// Tests of break-glass: a reset without approval, told to everyone at once and
// reviewed afterwards by someone else.

const ciso = "U0CISO"

func withBreakGlass(h *harness) {
	h.setPolicy(func(p *Policy) {
		p.BreakGlass = BreakGlass{People: policy.Principals{Users: []string{requester}}, SecurityContacts: []string{ciso}, RemindEvery: time.Hour}
	})
}

const breakGlassText = custDomain + " " + aliceUPN + " --break-glass CEO locked out before the board meeting"

func TestBreakGlass_ResetsAtOnceAndWaitsForReview(t *testing.T) {
	h := newHarness(t, true)
	withBreakGlass(h)
	reply := h.slash(requester, breakGlassText)
	wantContains(t, "reply", reply, "Done", "visible only to you")
	if n := h.pc.count("ResetPassword"); n != 1 {
		t.Fatalf("%d resets", n)
	}
	if ds := h.msg.Deliveries(); len(ds) != 1 || ds[0].UserID != requester {
		t.Fatalf("deliveries = %+v", ds)
	}
	cards := h.msg.Posted()
	if len(cards) != 1 || !cards[0].BreakGlass || !cards[0].Review || cards[0].Buttons || !strings.Contains(cards[0].Status, "<!here>") {
		t.Fatalf("review card = %+v", cards)
	}
	id := cards[0].RequestID
	r := h.get(id)
	if r.State != approvals.StateDone || !r.BreakGlass || r.Reason != "CEO locked out before the board meeting" || !r.ReviewedAt.IsZero() {
		t.Fatalf("stored = %+v", r)
	}
	want := []approvals.Outcome{approvals.OutcomeRequested, approvals.OutcomeBreakGlass, approvals.OutcomeResetIntent, approvals.OutcomeResetDone}
	if got := h.outcomes(); !reflect.DeepEqual(got, want) {
		t.Fatalf("outcomes = %v; want %v", got, want)
	}
	ns := h.noticesTo(ciso)
	if len(ns) != 1 {
		t.Fatalf("security contact DMs = %+v", ns)
	}
	wantContains(t, "security DM", ns[0].Text, ":rotating_light: Break-glass", "<@"+requester+">", aliceUPN, "without approval", "CEO locked out")
	h.svc.Wait(context.Background())
	loud := false
	for _, p := range h.msg.ChannelPosts() {
		if strings.HasPrefix(p, auditChannel+": `break_glass`") && strings.Contains(p, "without approval") {
			loud = true
		}
	}
	if !loud {
		t.Errorf("no break_glass line in the audit channel: %q", h.msg.ChannelPosts())
	}
	// The card keeps its Acknowledge button after the reset.
	ups := h.msg.Updates()
	if last := ups[len(ups)-1].Card; !last.Review || !strings.Contains(last.Status, "Reset done") {
		t.Errorf("card after the reset = %+v", last)
	}

	// Review: never the requester; someone who may approve such a reset may.
	reply = h.click(ActionReview, id, requester)
	wantContains(t, "self review", reply, "can't review your own")
	reply = h.click(ActionReview, id, stranger)
	wantContains(t, "stranger review", reply, "no grant")
	reply = h.click(ActionReview, id, approver)
	wantContains(t, "review", reply, "marked as reviewed")
	r = h.get(id)
	if r.ReviewedBy != approver || r.ReviewedAt.IsZero() {
		t.Fatalf("after review: %+v", r)
	}
	ups = h.msg.Updates()
	if last := ups[len(ups)-1].Card; last.Review || last.ReviewedBy != approver || !strings.Contains(last.Status, "reviewed by <@"+approver+">") {
		t.Errorf("card after review = %+v", last)
	}
	wantContains(t, "requester DM", h.noticesTo(requester)[len(h.noticesTo(requester))-1].Text, "reviewed your break-glass reset")
	// A security contact holds no grant but may review; too late now.
	reply = h.click(ActionReview, id, ciso)
	wantContains(t, "second review", reply, "already reviewed by <@"+approver+">")
	if e := h.lastEvent(approvals.OutcomeReviewed); e.ActorID != approver {
		t.Errorf("reviewed row = %+v", e)
	}
}

func TestBreakGlass_Refusals(t *testing.T) {
	h := newHarness(t, true)
	withBreakGlass(h)
	// Not on the list (the approver holds a grant, but that is not enough).
	reply := h.slash(approver, breakGlassText)
	wantContains(t, "not on the list", reply, "not on locksmith's break-glass list")
	// Off for privileged targets by policy.
	noBG := policy.Rule{Name: "no-break-glass-for-admins", Customers: []string{"*"}, Tiers: []policy.Tier{policy.Privileged},
		ApprovalsRequired: 1, ExpiresAfter: time.Hour, UseWithin: time.Hour, BreakGlass: false}
	withLeads(h, noBG)
	reply = h.slash(requester, breakGlassText)
	wantContains(t, "policy off", reply, "no-break-glass-for-admins", "does not allow break-glass", "privileged tier")
	// A ticket the policy wants is wanted with break-glass too.
	withLeads(h, adminsRule())
	reply = h.slash(requester, breakGlassText)
	wantContains(t, "ticket", reply, "needs a ticket reference")
	// A reason is required.
	reply = h.slash(requester, custDomain+" "+aliceUPN+" --break-glass")
	wantContains(t, "no reason", reply, "needs a reason")
	if n := h.pc.count("ResetPassword") + len(h.msg.Posted()) + h.requestCount(); n != 0 {
		t.Fatalf("something happened: %d", n)
	}
}

// Reminders until someone reviews, each once, with two replicas sweeping.
func TestBreakGlass_ReviewRemindersOnceWithTwoReplicas(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		h := newHarnessOn(t, true, dsn)
		withBreakGlass(h)
		other := h.replica()
		h.slash(requester, breakGlassText)
		id := h.msg.Posted()[0].RequestID
		sweepBoth := func() { sweepAtOnce(t, h.svc, other, h.svc, other) }
		sweepBoth()
		if n := len(h.msg.ThreadPosts()); n != 0 {
			t.Fatalf("%d reminders at once", n)
		}
		h.clock.Advance(time.Hour)
		sweepBoth()
		posts := h.msg.ThreadPosts()
		if len(posts) != 1 {
			t.Fatalf("%d reminders after an hour; want 1", len(posts))
		}
		wantContains(t, "reminder", posts[0].Text, "Still not reviewed", "<@"+ciso+">", "<@"+approver+">", "Acknowledge")
		h.clock.Advance(time.Hour)
		sweepBoth()
		if n := len(h.msg.ThreadPosts()); n != 2 {
			t.Fatalf("%d reminders after two hours; want 2", n)
		}
		h.click(ActionReview, id, ciso)
		h.clock.Advance(3 * time.Hour)
		sweepBoth()
		if n := len(h.msg.ThreadPosts()); n != 2 {
			t.Fatalf("%d reminders after the review; want still 2", n)
		}
	})
}

// Refusals read in the requester's language; the review card's status in
// locale.channel.
func TestBreakGlass_InJapanese(t *testing.T) {
	h := newHarness(t, true)
	withBreakGlass(h)
	withLocales(h, map[string]string{approver: "ja-JP"})
	reply := h.slash(approver, breakGlassText)
	wantContains(t, "ja not on the list", reply, "緊急アクセス リストに含まれていない", "`--break-glass` を付けずに")
	wantNotContains(t, "ja not on the list", reply, "break-glass list")

	h.setPolicy(func(p *Policy) { p.ChannelLang = messages.Japanese })
	h.slash(requester, breakGlassText)
	posted := h.msg.Posted()
	if len(posted) != 1 {
		t.Fatalf("%d cards; want the review card", len(posted))
	}
	wantContains(t, "ja review card", posted[0].Status, "*緊急アクセス:*", " *承認なしで* ")
}

// A break-glass reset that fails transiently is given back as an approval,
// and the button to try again is owed with that release (the requester never
// had an offer DM): one DM, with the button, and the button resets.
func TestBreakGlass_TransientFailureOffersTheButton(t *testing.T) {
	h := newHarness(t, true)
	withBreakGlass(h)
	failed := false
	h.pc.resetPasswordFn = func(context.Context, string, string, secret.Password) error {
		if failed {
			return nil
		}
		failed = true
		return &partner.Error{Kind: partner.KindThrottled, Status: 429, RetryAfter: 20 * time.Second, CorrelationID: "corr-429"}
	}
	reply := h.slash(requester, breakGlassText)
	wantContains(t, "reply", reply, "*not* reset", "approval still stands")
	id := h.msg.Posted()[0].RequestID
	h.wantState(id, approvals.StateApproved)
	var offers []Notice
	for _, n := range h.noticesTo(requester) {
		if n.ResetButton == id || n.OfferRequest == id {
			offers = append(offers, n)
		}
	}
	if len(offers) != 1 {
		t.Fatalf("offer DMs = %+v, want exactly one", offers)
	}
	wantContains(t, "offer", offers[0].Text, "did not complete", aliceUPN)
	if n := len(h.msg.Deliveries()); n != 0 {
		t.Fatalf("%d passwords delivered before the retry", n)
	}
	// The retry counts only while the requester may still skip approval.
	h.setPolicy(func(p *Policy) { p.BreakGlass.People = policy.Principals{} })
	reply = h.click(ActionReset, id, requester)
	wantContains(t, "retry off the list", reply, "not on locksmith's break-glass list")
	if n := h.pc.count("ResetPassword"); n != 1 {
		t.Fatalf("%d reset attempts, want still 1", n)
	}
	withBreakGlass(h)
	reply = h.click(ActionReset, id, requester)
	wantContains(t, "retry", reply, "Done")
	h.wantState(id, approvals.StateDone)
	if ds := h.msg.Deliveries(); len(ds) != 1 || ds[0].UserID != requester {
		t.Fatalf("deliveries = %+v", ds)
	}
}
