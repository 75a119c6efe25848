package commands

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/internal/secret"
	"github.com/locksmithbot/locksmith/partner"
)

// Tests of the flow with sign-off (approval.required: true).

func TestApproval_HappyPath(t *testing.T) {
	h := newHarness(t, true)
	reply := h.slash(requester, slashText)
	wantContains(t, "reply", reply, "Request sent for approval", "<#"+approvalChannel+">")

	cards := h.msg.Posted()
	if len(cards) != 1 {
		t.Fatalf("%d cards posted; want 1", len(cards))
	}
	c := cards[0]
	if !c.Buttons || c.RequesterID != requester || c.TenantID != tenantID || c.UserObjectID != aliceOID ||
		c.RoleNeeded != string(partner.RoleUserAdministrator) || c.Reason != "INC-4711" || !c.ExpiresAt.Equal(t0.Add(30*time.Minute)) {
		t.Errorf("card = %+v", c)
	}
	id := c.RequestID
	r := h.get(id)
	if r.State != approvals.StatePending || r.ApprovalChannel != approvalChannel || r.ApprovalTS == "" {
		t.Errorf("stored request = %+v; want pending with its card recorded", r)
	}
	pending := h.noticesTo(requester)
	if len(pending) != 1 || pending[0].CancelButton != id || !strings.Contains(pending[0].Text, "waiting for approval") {
		t.Fatalf("pending notice = %+v", pending)
	}
	if n := h.pc.count("ResetPassword"); n != 0 {
		t.Fatalf("ResetPassword called before approval")
	}

	h.clock.Advance(2 * time.Minute)
	reply = h.click(ActionApprove, id, approver)
	wantContains(t, "approve reply", reply, "Approved.", "<@"+requester+">")
	r = h.get(id)
	if r.State != approvals.StateApproved || r.DeciderID != approver || !r.UseBy.Equal(t0.Add(17*time.Minute)) {
		t.Errorf("after approve: %+v", r)
	}
	ups := h.msg.Updates()
	if len(ups) != 1 || ups[0].Card.Buttons || !strings.Contains(ups[0].Card.Status, "Approved by <@"+approver+">") {
		t.Errorf("card updates after approve = %+v", ups)
	}
	ns := h.noticesTo(requester)
	if len(ns) != 2 || ns[1].ResetButton != id || !ns[1].ValidUntil.Equal(r.UseBy) {
		t.Fatalf("approved notice = %+v", ns)
	}

	h.clock.Advance(time.Minute)
	reply = h.click(ActionReset, id, requester)
	wantContains(t, "reset reply", reply, "Done", "visible only to you")
	h.wantState(id, approvals.StateDone)
	resets := h.pc.resetCalls()
	if len(resets) != 1 || resets[0].Password != canaryPassword || resets[0].TenantID != tenantID || resets[0].ObjectID != aliceOID {
		t.Errorf("ResetPassword calls = %+v", resets)
	}
	ds := h.msg.Deliveries()
	if len(ds) != 1 || ds[0].UserID != requester || ds[0].Delivery.Password.Reveal() != canaryPassword {
		t.Errorf("deliveries = %d, want one with the password Partner Center set", len(ds))
	}
	want := []approvals.Outcome{approvals.OutcomeRequested, approvals.OutcomeApproved, approvals.OutcomeResetIntent, approvals.OutcomeResetDone}
	if got := h.outcomes(); !reflect.DeepEqual(got, want) {
		t.Errorf("audit outcomes = %v; want %v", got, want)
	}
	last := h.msg.Updates()
	if st := last[len(last)-1].Card.Status; !strings.Contains(st, "Reset done by <@"+requester+">") {
		t.Errorf("final card status = %q", st)
	}
	// A second click finds the request finished: never a second reset.
	reply = h.click(ActionReset, id, requester)
	wantContains(t, "second click", reply, "finished")
	if n := h.pc.count("ResetPassword"); n != 1 {
		t.Errorf("ResetPassword called %d times after a second click; want 1", n)
	}
}

func TestApproval_PostApprovalFails(t *testing.T) {
	h := newHarness(t, true)
	h.msg.postApprovalFn = func(context.Context, string, Card) (MessageRef, error) {
		return MessageRef{}, slackError{"chat.postMessage", "not_in_channel", true}
	}
	reply := h.slash(requester, slashText)
	wantContains(t, "reply", reply, "could not post to the approval channel", "<#"+approvalChannel+">", "withdrawn")

	cards := h.msg.Posted()
	if len(cards) != 1 {
		t.Fatalf("PostApproval called %d times; want 1", len(cards))
	}
	r := h.get(cards[0].RequestID)
	if r.State != approvals.StateCancelled {
		t.Errorf("request state = %s; want cancelled", r.State)
	}
	// The refusal row says why before the cancellation, so the trail does not
	// read as if the requester withdrew the request.
	if got, want := h.outcomes(), []approvals.Outcome{approvals.OutcomeRequested, approvals.OutcomeRefused, approvals.OutcomeCancelled}; !reflect.DeepEqual(got, want) {
		t.Errorf("audit outcomes = %v; want %v", got, want)
	}
	// No pending notice for a request nobody can see; one DM says it was
	// withdrawn, in case the requester's reply came before Slack's refusal.
	ns := h.noticesTo(requester)
	if len(ns) != 1 {
		t.Fatalf("%d DMs to the requester; want only the withdrawal: %+v", len(ns), ns)
	}
	wantContains(t, "withdrawal DM", ns[0].Text, "could not post to the approval channel", "withdrawn")
	// Nobody can approve the withdrawn request.
	reply = h.click(ActionApprove, r.ID, approver)
	wantContains(t, "late approve", reply, "withdrawn")
	h.wantState(r.ID, approvals.StateCancelled)
}

// Notify failing at every step is logged and changes no outcome.
func TestApproval_NotifyFailuresDoNotChangeOutcomes(t *testing.T) {
	h := newHarness(t, true)
	h.msg.notifyFn = func(context.Context, string, Notice) error {
		return slackError{"chat.postMessage", "channel_not_found", true}
	}
	h.msg.updateApprovalFn = func(context.Context, MessageRef, Card) error {
		return slackError{"chat.update", "message_not_found", true}
	}

	reply := h.slash(requester, slashText)
	wantContains(t, "reply", reply, "Request sent for approval")
	id := h.msg.Posted()[0].RequestID
	h.wantState(id, approvals.StatePending)

	wantContains(t, "approve reply", h.click(ActionApprove, id, approver), "Approved.")
	h.wantState(id, approvals.StateApproved)

	wantContains(t, "reset reply", h.click(ActionReset, id, requester), "Done")
	h.wantState(id, approvals.StateDone)
	if n := len(h.msg.Deliveries()); n != 1 {
		t.Errorf("deliveries = %d; want 1", n)
	}
	if n := len(h.msg.Notices()); n < 3 {
		t.Errorf("Notify attempted %d times; want pending, approved and done notices attempted", n)
	}
	logs := h.logs.String()
	wantContains(t, "logs", logs, "message given up", "channel_not_found", "message_not_found")
	// Slack refusing the DM with the Reset button for good is the requester
	// being unreachable, and is recorded; nothing else changes.
	want := []approvals.Outcome{approvals.OutcomeRequested, approvals.OutcomeApproved, approvals.OutcomeRequesterUnreachable, approvals.OutcomeResetIntent, approvals.OutcomeResetDone}
	if got := h.outcomes(); !reflect.DeepEqual(got, want) {
		t.Errorf("audit outcomes = %v; want %v", got, want)
	}
}

func TestApproval_DecisionRefusals(t *testing.T) {
	tests := []struct {
		name       string
		roles      []partner.DirectoryRole
		kind       ActionKind
		decider    string
		want       []string
		wantDetail string
	}{
		{
			name:       "UA-only approver cannot approve a target that needs PAA",
			roles:      []partner.DirectoryRole{globalAdmin},
			kind:       ActionApprove,
			decider:    uaApprover,
			want:       []string{"You can't approve this", "needs *Privileged Authentication Administrator*", "give you *User Administrator*", "Nothing changed"},
			wantDetail: `decider holds "User Administrator"; needs Privileged Authentication Administrator`,
		},
		{
			name:       "UA-only decider cannot deny a target that needs PAA either",
			roles:      []partner.DirectoryRole{globalAdmin},
			kind:       ActionDeny,
			decider:    uaApprover,
			want:       []string{"You can't deny this"},
			wantDetail: `decider holds "User Administrator"; needs Privileged Authentication Administrator`,
		},
		{
			name:       "someone with no grant cannot approve",
			kind:       ActionApprove,
			decider:    stranger,
			want:       []string{"You can't approve this", "give you no grant"},
			wantDetail: `decider holds ""; needs User Administrator`,
		},
		{
			name:       "the requester cannot approve their own request",
			kind:       ActionApprove,
			decider:    requester,
			want:       []string{"You can't approve your own request"},
			wantDetail: "requester tried to approve their own request",
		},
		{
			name:       "the requester cannot deny their own request",
			kind:       ActionDeny,
			decider:    requester,
			want:       []string{"You can't deny your own request"},
			wantDetail: "requester tried to deny their own request",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, true)
			h.pc.userRolesFn = func(context.Context, string, string) ([]partner.DirectoryRole, error) { return tt.roles, nil }
			id := h.request()
			reply := h.click(tt.kind, id, tt.decider)
			wantContains(t, "reply", reply, tt.want...)
			h.wantState(id, approvals.StatePending)
			e := h.lastEvent(approvals.OutcomeRefused)
			if e.ActorID != tt.decider || e.RequestID != id || e.Detail != tt.wantDetail {
				t.Errorf("refusal row = actor %s request %s detail %q; want %s %s %q", e.ActorID, e.RequestID, e.Detail, tt.decider, id, tt.wantDetail)
			}
			if n := len(h.msg.Updates()); n != 0 {
				t.Errorf("card updated %d times after a refused decision", n)
			}
		})
	}
}

// A UA-only approver may approve a target that needs only UA, and a group
// member with UA may too.
func TestApproval_WeakerRoleSufficesForPlainUser(t *testing.T) {
	for _, decider := range []string{uaApprover, groupUser} {
		t.Run(decider, func(t *testing.T) {
			h := newHarness(t, true)
			id := h.request()
			wantContains(t, "reply", h.click(ActionApprove, id, decider), "Approved.")
			h.wantState(id, approvals.StateApproved)
		})
	}
}

func TestApproval_Deny(t *testing.T) {
	h := newHarness(t, true)
	id := h.request()
	wantContains(t, "reply", h.click(ActionDeny, id, approver), "Denied.")
	h.wantState(id, approvals.StateDenied)
	ns := h.noticesTo(requester)
	if len(ns) != 2 || !strings.Contains(ns[1].Text, "denied your request") || ns[1].ResetButton != "" {
		t.Errorf("notices = %+v", ns)
	}
	wantContains(t, "late approve", h.click(ActionApprove, id, approver), "already denied by <@"+approver+">")
	wantContains(t, "reset after deny", h.click(ActionReset, id, requester), "already denied")
	if n := h.pc.count("ResetPassword"); n != 0 {
		t.Errorf("ResetPassword called after a denial")
	}
}

func TestApproval_Withdraw(t *testing.T) {
	h := newHarness(t, true)
	id := h.request()
	wantContains(t, "someone else", h.click(ActionCancel, id, approver), "Only <@"+requester+">")
	h.wantState(id, approvals.StatePending)
	wantContains(t, "requester", h.click(ActionCancel, id, requester), "withdrawn")
	h.wantState(id, approvals.StateCancelled)
	ups := h.msg.Updates()
	if len(ups) != 1 || !strings.Contains(ups[0].Card.Status, "Withdrawn") || ups[0].Card.Buttons {
		t.Errorf("card updates = %+v", ups)
	}
}

func TestApproval_ResetRefusals(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(h *harness)
		clicker    string
		want       []string
		wantDetail string
		wantRoles  int // UserRoles calls at the click
	}{
		{
			name:       "someone other than the requester clicks Reset",
			clicker:    approver,
			want:       []string{"Only <@" + requester + ">", "can use this button"},
			wantDetail: "someone other than the requester clicked Reset password now",
		},
		{
			name: "target gained a role needing PAA after approval for UA",
			setup: func(h *harness) {
				h.pc.userRolesFn = func(context.Context, string, string) ([]partner.DirectoryRole, error) {
					return []partner.DirectoryRole{globalAdmin}, nil
				}
			},
			clicker:    requester,
			want:       []string{"gained an admin role", "needs *Privileged Authentication Administrator*", "Nothing was reset"},
			wantDetail: "target's roles changed since approval: now needs Privileged Authentication Administrator",
			wantRoles:  1,
		},
		{
			name: "requester's grant was removed by a config reload",
			setup: func(h *harness) {
				h.setPolicy(func(p *Policy) { p.Grants = p.Grants[1:] })
			},
			clicker:    requester,
			want:       []string{"no longer give you *User Administrator*", "nothing was reset"},
			wantDetail: "requester no longer holds User Administrator",
			wantRoles:  1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, true)
			id := h.approved()
			rolesBefore := h.pc.count("UserRoles")
			if tt.setup != nil {
				tt.setup(h)
			}
			reply := h.click(ActionReset, id, tt.clicker)
			wantContains(t, "reply", reply, tt.want...)
			if n := h.pc.count("ResetPassword"); n != 0 {
				t.Errorf("ResetPassword called %d times; want none", n)
			}
			if n := h.pc.count("UserRoles") - rolesBefore; n != tt.wantRoles {
				t.Errorf("UserRoles called %d times at the click; want %d", n, tt.wantRoles)
			}
			if n := len(h.msg.Deliveries()); n != 0 {
				t.Errorf("a password was delivered")
			}
			h.wantState(id, approvals.StateApproved)
			e := h.lastEvent(approvals.OutcomeRefused)
			if e.ActorID != tt.clicker || e.RequestID != id || e.Detail != tt.wantDetail {
				t.Errorf("refusal row = actor %s request %s detail %q; want %s %s %q", e.ActorID, e.RequestID, e.Detail, tt.clicker, id, tt.wantDetail)
			}
			for _, o := range h.outcomes() {
				if o == approvals.OutcomeResetIntent {
					t.Errorf("reset intent audited for a refused click: %v", h.outcomes())
				}
			}
		})
	}
}

// Roles that cannot be re-read at the click refuse, and keep the approval.
func TestApproval_ResetRolesRecheckFails(t *testing.T) {
	h := newHarness(t, true)
	id := h.approved()
	h.pc.userRolesFn = func(context.Context, string, string) ([]partner.DirectoryRole, error) {
		return nil, &partner.Error{Kind: partner.KindUnavailable, Status: 502}
	}
	reply := h.click(ActionReset, id, requester)
	wantContains(t, "reply", reply, "Could not re-check the user's admin roles", "approval still stands")
	if n := h.pc.count("ResetPassword"); n != 0 {
		t.Errorf("ResetPassword called without a roles re-check")
	}
	h.wantState(id, approvals.StateApproved)
}

// A requester whose grants all come through user groups that cannot be read is
// refused at the click, and keeps the approval. (A broken group does not take
// away grants that name the requester directly: TestGrants_BrokenGroupFailsOnlyItsGrants.)
func TestApproval_ResetGroupErrorFailsClosed(t *testing.T) {
	h := newHarness(t, true)
	id := h.approved()
	h.setPolicy(func(p *Policy) {
		p.Grants = slices.Clone(p.Grants)
		p.Grants[0] = Grant{Usergroups: []string{"S0LEADS"}, Roles: p.Grants[0].Roles, Customers: p.Grants[0].Customers}
	})
	h.groups.membersFn = func(context.Context, string) ([]string, error) { return nil, errors.New("slack: ratelimited") }
	reply := h.click(ActionReset, id, requester)
	wantContains(t, "reply", reply, "could not check your permissions", "approval still stands")
	if n := h.pc.count("ResetPassword"); n != 0 {
		t.Errorf("ResetPassword called without a grant check")
	}
	h.wantState(id, approvals.StateApproved)
}

func TestApproval_ResetTransientFailureKeepsApproval(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"throttled: not reset", &partner.Error{Kind: partner.KindThrottled, Status: 429, RetryAfter: 20 * time.Second, CorrelationID: "corr-429"}, "try again in 20 seconds"},
		{"unavailable: outcome unknown", &partner.Error{Kind: partner.KindUnavailable, Status: 503, CorrelationID: "corr-503"}, "unavailable right now"},
		{"credentials refused: not reset", &partner.Error{Kind: partner.KindUnauthorised, Status: 401, CorrelationID: "corr-401"}, "an operator must fix them"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, true)
			id := h.approved()
			h.pc.resetPasswordFn = func(context.Context, string, string, secret.Password) error { return tt.err }
			reply := h.click(ActionReset, id, requester)
			// Unavailable after retries means the PATCH may have been applied: say
			// so instead of claiming nothing changed.
			first := "*not* reset"
			if tt.err.(*partner.Error).Kind == partner.KindUnavailable {
				first = "may or may not have been changed"
			}
			wantContains(t, "reply", reply, first, tt.want, "approval still stands", "click *Reset password now* again")
			r := h.get(id)
			if r.State != approvals.StateApproved || !r.ClaimedAt.IsZero() {
				t.Errorf("after a transient failure: state %s claimed %v; want approved, unclaimed", r.State, r.ClaimedAt)
			}
			if n := len(h.msg.Deliveries()); n != 0 {
				t.Errorf("a password was delivered after a failed reset")
			}
			rel := h.lastEvent(approvals.OutcomeResetReleased)
			wantContains(t, "released detail", rel.Detail, tt.err.(*partner.Error).Kind.String())

			// The requester clicks again and it works.
			h.pc.resetPasswordFn = func(context.Context, string, string, secret.Password) error { return nil }
			h.clock.Advance(time.Minute)
			wantContains(t, "second click", h.click(ActionReset, id, requester), "Done")
			h.wantState(id, approvals.StateDone)
			if n := h.pc.count("ResetPassword"); n != 2 {
				t.Errorf("ResetPassword called %d times; want 2", n)
			}
			want := []approvals.Outcome{approvals.OutcomeRequested, approvals.OutcomeApproved,
				approvals.OutcomeResetIntent, approvals.OutcomeResetReleased, approvals.OutcomeResetIntent, approvals.OutcomeResetDone}
			if got := h.outcomes(); !reflect.DeepEqual(got, want) {
				t.Errorf("audit outcomes = %v; want %v", got, want)
			}
		})
	}
}

func TestApproval_ResetPermanentFailure(t *testing.T) {
	h := newHarness(t, true)
	id := h.approved()
	h.pc.resetPasswordFn = func(context.Context, string, string, secret.Password) error {
		return &partner.Error{Kind: partner.KindRejected, Status: 400, Code: "1001", Description: "<!channel> password policy", CorrelationID: "corr-400"}
	}
	updatesBefore := len(h.msg.Updates())
	noticesBefore := len(h.noticesTo(requester))
	reply := h.click(ActionReset, id, requester)
	wantContains(t, "reply", reply, "*not* reset", "rejected the request: HTTP 400, code 1001")
	wantNotContains(t, "reply", reply, "channel", "again")

	r := h.get(id)
	if r.State != approvals.StateFailed {
		t.Errorf("state = %s; want failed", r.State)
	}
	wantContains(t, "stored detail", r.Detail, "rejected", "status 400", "corr-400")
	ups := h.msg.Updates()[updatesBefore:]
	if len(ups) != 1 || !strings.Contains(ups[0].Card.Status, "Reset failed") || ups[0].Card.Buttons {
		t.Errorf("card updates = %+v; want one \"Reset failed\" without buttons", ups)
	} else {
		wantNotContains(t, "card status", ups[0].Card.Status, "channel")
	}
	ns := h.noticesTo(requester)[noticesBefore:]
	if len(ns) != 1 || !strings.Contains(ns[0].Text, "was *not* reset") || ns[0].ResetButton != "" {
		t.Errorf("notices = %+v; want one failure notice without a button", ns)
	}
	e := h.lastEvent(approvals.OutcomeResetFailed)
	wantContains(t, "reset_failed detail", e.Detail, "status 400", "code 1001", "corr-400")
	wantNotContains(t, "reset_failed detail", e.Detail, "channel")
	if n := len(h.msg.Deliveries()); n != 0 {
		t.Errorf("a password was delivered after a failed reset")
	}
	// Failed is final.
	wantContains(t, "click after failure", h.click(ActionReset, id, requester), "failed")
	if n := h.pc.count("ResetPassword"); n != 1 {
		t.Errorf("ResetPassword called %d times; want 1", n)
	}
}

func TestApproval_ResetDeliveryFails(t *testing.T) {
	h := newHarness(t, true)
	id := h.approved()
	h.msg.deliverPasswordFn = func(context.Context, string, Delivery) error {
		return errors.New("slack: chat.postEphemeral: user_not_found")
	}
	reply := h.click(ActionReset, id, requester)
	wantContains(t, "reply", reply, "*was reset*", "password is lost")
	r := h.get(id)
	if r.State != approvals.StateDone {
		t.Errorf("state = %s; want done (Partner Center did reset it)", r.State)
	}
	wantContains(t, "stored detail", r.Detail, "password lost")
	h.lastEvent(approvals.OutcomeDeliveryFailed)
	ns := h.noticesTo(requester)
	wantContains(t, "last notice", ns[len(ns)-1].Text, "lost")
	ups := h.msg.Updates()
	wantContains(t, "card status", ups[len(ups)-1].Card.Status, "could not be shown")
	if n := len(h.msg.Deliveries()); n != 1 {
		t.Errorf("DeliverPassword called %d times; want exactly 1", n)
	}
}

// Clicking Reset after use_within is answered with the expiry; Partner Center
// is not asked to reset.
func TestApproval_ResetAfterUseWithin(t *testing.T) {
	h := newHarness(t, true)
	id := h.approved()
	h.clock.Advance(16 * time.Minute)
	reply := h.click(ActionReset, id, requester)
	wantContains(t, "reply", reply, "expired")
	if n := h.pc.count("ResetPassword"); n != 0 {
		t.Errorf("ResetPassword called on an expired approval")
	}
	h.wantState(id, approvals.StateExpired)
}

// Several clicks on "Reset password now" at once (double click, redelivered
// envelope) reset exactly once (guarantee 3).
func TestApproval_ConcurrentResetClicksResetOnce(t *testing.T) {
	h := newHarness(t, true)
	id := h.approved()
	entered := make(chan struct{}, 8)
	release := make(chan struct{})
	h.pc.resetPasswordFn = func(context.Context, string, string, secret.Password) error {
		entered <- struct{}{}
		<-release
		return nil
	}
	const clicks = 5
	replies := make(chan string, clicks)
	for range clicks {
		go func() { replies <- h.click(ActionReset, id, requester) }()
	}
	// One click is inside Partner Center; the others must answer without it.
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("no click reached Partner Center")
	}
	var got []string
	for range clicks - 1 {
		select {
		case r := <-replies:
			got = append(got, r)
		case <-time.After(10 * time.Second):
			close(release)
			t.Fatalf("losing clicks did not answer while the reset was in flight; got %q", got)
		}
	}
	close(release)
	got = append(got, <-replies)
	done := 0
	for _, r := range got {
		switch {
		case strings.Contains(r, "Done"):
			done++
		case strings.Contains(r, "in progress"):
		default:
			t.Errorf("unexpected reply %q", r)
		}
	}
	if done != 1 {
		t.Errorf("%d clicks reported a reset; want exactly 1 (replies %q)", done, got)
	}
	if n := h.pc.count("ResetPassword"); n != 1 {
		t.Errorf("ResetPassword called %d times; want 1", n)
	}
	if n := len(h.msg.Deliveries()); n != 1 {
		t.Errorf("password delivered %d times; want 1", n)
	}
	h.wantState(id, approvals.StateDone)
}

func TestApproval_RequireReason(t *testing.T) {
	h := newHarness(t, true)
	h.setPolicy(func(p *Policy) { p.RequireReason = true })
	noReason := strings.TrimSuffix(slashText, " INC-4711")
	if noReason == slashText {
		t.Fatalf("slashText %q has no trailing reason to drop", slashText)
	}
	reply := h.slash(requester, noReason)
	wantContains(t, "reply", reply, "A reason is required")
	if n := h.pc.totalCalls(); n != 0 {
		t.Fatalf("%d Partner Center calls for a request without the required reason", n)
	}
	if len(h.msg.Posted()) != 0 || len(h.events()) != 0 {
		t.Fatal("a request without the required reason changed something")
	}
	wantContains(t, "reply", h.slash(requester, slashText), "Request sent for approval")
}
