package commands

import (
	"context"
	"net/http"
	"testing"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/internal/fakepartner"
	"github.com/locksmithbot/locksmith/internal/secret"
	"github.com/locksmithbot/locksmith/partner"
)

// realReset points the harness's ResetPassword at the real Partner Center
// client talking to the fake Partner Center, with faults.
func (h *harness) realReset(faults ...fakepartner.Fault) *fakepartner.Server {
	h.t.Helper()
	fake := fakepartner.New()
	h.t.Cleanup(fake.Close)
	fake.AddCustomer(fakepartner.Customer{TenantID: tenantID, Name: custName, Domain: custDomain})
	fake.AddUser(tenantID, fakepartner.User{ObjectID: aliceOID, UPN: aliceUPN, FirstName: "Alice", LastName: "Example", DisplayName: "Alice Example"})
	for _, f := range faults {
		fake.AddFault(f)
	}
	pc, err := partner.New(partner.Config{
		BaseURL: fake.URL(), AuthorityHost: fake.AuthorityURL(),
		TenantID: fakepartner.TenantID, ClientID: fakepartner.ClientID,
		ClientSecret: secret.NewToken(fakepartner.ClientSecret), RefreshToken: secret.NewToken(fake.InitialRefreshToken()),
	})
	if err != nil {
		h.t.Fatal(err)
	}
	h.pc.resetPasswordFn = func(ctx context.Context, tid, oid string, pw secret.Password) error {
		return pc.ResetPassword(ctx, tid, oid, pw)
	}
	return fake
}

// appliedThenRefused are fault sequences in which an early attempt of the
// reset may have been carried out and a later one is refused.
var appliedThenRefused = []struct {
	name   string
	faults []fakepartner.Fault
}{
	{"503 then 404 user not found", []fakepartner.Fault{
		{Method: http.MethodPatch, PathContains: "/resetpassword", Status: 503, Times: 1},
		{Method: http.MethodPatch, PathContains: "/resetpassword", Status: 404, Code: 60002, Times: 1},
	}},
	{"applied, answer lost, then 429 for an hour", []fakepartner.Fault{
		{Method: http.MethodPatch, PathContains: "/resetpassword", HandleThenDrop: true, Times: 1},
		{Method: http.MethodPatch, PathContains: "/resetpassword", Status: 429, RetryAfter: "3600", Times: 1},
	}},
	{"applied, answer lost, then 403", []fakepartner.Fault{
		{Method: http.MethodPatch, PathContains: "/resetpassword", HandleThenDrop: true, Times: 1},
		{Method: http.MethodPatch, PathContains: "/resetpassword", Status: 403, Times: 1},
	}},
}

// Without sign-off: the outcome is "may have changed" (reset_unknown), never
// "not reset", whatever the last attempt said.
func TestReset_EarlierAttemptAppliedIsUnknown_WithoutApproval(t *testing.T) {
	for _, tt := range appliedThenRefused {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, false)
			h.realReset(tt.faults...)
			reply := h.slash(requester, slashText)
			wantContains(t, "reply", reply, "may or may not have been changed", "Run the command again")
			wantNotContains(t, "reply", reply, "*not* reset")
			if got := h.outcomes(); len(got) == 0 || got[len(got)-1] != approvals.OutcomeResetUnknown {
				t.Errorf("audit outcomes = %v; want reset_unknown last", got)
			}
			for _, p := range h.msg.ChannelPosts() {
				wantNotContains(t, "audit channel", p, "reset_failed", "*not* reset")
			}
			if n := len(h.msg.Deliveries()); n != 0 {
				t.Errorf("%d passwords delivered after an unconfirmed reset", n)
			}
		})
	}
}

// With sign-off: the approval is kept (a new click sets a new password, the
// way to a known state), the requester is told the password may have
// changed, and no card or DM says "not reset".
func TestReset_EarlierAttemptAppliedIsUnknown_WithApproval(t *testing.T) {
	for _, tt := range appliedThenRefused {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, true)
			id := h.approved()
			h.realReset(tt.faults...)
			updates := len(h.msg.Updates())
			reply := h.click(ActionReset, id, requester)
			wantContains(t, "reply", reply, "may or may not have been changed", "approval still stands")
			wantNotContains(t, "reply", reply, "*not* reset")
			h.wantState(id, approvals.StateApproved)
			rel := h.lastEvent(approvals.OutcomeResetReleased)
			wantContains(t, "released detail", rel.Detail, "outcome unknown")
			for _, u := range h.msg.Updates()[updates:] {
				wantNotContains(t, "card", u.Card.Status, "Reset failed", "*not* reset")
			}
			for _, n := range h.noticesTo(requester) {
				wantNotContains(t, "DM", n.Text, "*not* reset")
			}
		})
	}
}
