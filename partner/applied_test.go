package partner

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/internal/fakepartner"
)

// TestResetPassword_EarlierAttemptMayHaveApplied: once an attempt may have
// reached Partner Center (a 5xx, or a connection lost after the request was
// written), the reset's error says so, whatever later attempts answer. The
// requester must never be told "not reset" about a password that may have
// changed.
func TestResetPassword_EarlierAttemptMayHaveApplied(t *testing.T) {
	reset := func(f fakepartner.Fault) fakepartner.Fault {
		f.Method, f.PathContains = http.MethodPatch, "/resetpassword"
		if f.Times == 0 {
			f.Times = 1
		}
		return f
	}
	applied := reset(fakepartner.Fault{HandleThenDrop: true})
	tests := []struct {
		name        string
		faults      []fakepartner.Fault
		wantKind    Kind
		wantApplied bool
		wantResets  int // resets the fake really applied
	}{
		{"503 then 404 user not found", []fakepartner.Fault{
			reset(fakepartner.Fault{Status: 503}),
			reset(fakepartner.Fault{Status: 404, Code: 60002, Description: "User object ID is not found"}),
		}, KindNotFound, true, 0},
		{"500 then 400", []fakepartner.Fault{
			reset(fakepartner.Fault{Status: 500}),
			reset(fakepartner.Fault{Status: 400, Code: 800002, Description: "Invalid request input"}),
		}, KindRejected, true, 0},
		{"applied, answer lost, then 429 beyond the wait budget", []fakepartner.Fault{
			applied,
			reset(fakepartner.Fault{Status: 429, RetryAfter: "3600"}),
		}, KindThrottled, true, 1},
		{"applied, answer lost, then 403", []fakepartner.Fault{
			applied,
			reset(fakepartner.Fault{Status: 403, Code: 20002}),
		}, KindForbidden, true, 1},
		{"applied, answer lost, then 401 twice", []fakepartner.Fault{
			applied,
			reset(fakepartner.Fault{Status: 401, Times: 2}),
		}, KindUnauthorised, true, 1},
		{"answer lost, then 400", []fakepartner.Fault{
			reset(fakepartner.Fault{DropConnection: true}),
			reset(fakepartner.Fault{Status: 400, Code: 800002}),
		}, KindRejected, true, 0},
		{"502 then route unknown then the older route's 404", []fakepartner.Fault{
			reset(fakepartner.Fault{Status: 502}),
			reset(fakepartner.Fault{Status: 404}),
			{Method: http.MethodPatch, PathContains: "/users/" + userID(1), Status: 404, Code: 60002, Times: 1},
		}, KindNotFound, true, 0},
		// Controls: nothing could have been applied.
		{"429 then 404 user not found", []fakepartner.Fault{
			reset(fakepartner.Fault{Status: 429, RetryAfter: "1"}),
			reset(fakepartner.Fault{Status: 404, Code: 60002}),
		}, KindNotFound, false, 0},
		{"400 at once", []fakepartner.Fault{
			reset(fakepartner.Fault{Status: 400, Code: 800002}),
		}, KindRejected, false, 0},
		{"501 is not retried and not applied", []fakepartner.Fault{
			reset(fakepartner.Fault{Status: 501}),
		}, KindUnavailable, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			for _, f := range tt.faults {
				h.fake.AddFault(f)
			}
			err := h.c.ResetPassword(ctxTimeout(t, time.Minute), tenantA, userID(1), h.newPassword())
			e := h.wantKind(err, tt.wantKind)
			if got := MaybeApplied(err); got != tt.wantApplied {
				t.Errorf("MaybeApplied = %v, want %v (err: %v)", got, tt.wantApplied, err)
			}
			if e.MaybeApplied != tt.wantApplied {
				t.Errorf("Error.MaybeApplied = %v, want %v", e.MaybeApplied, tt.wantApplied)
			}
			if tt.wantApplied && !strings.Contains(err.Error(), "an earlier attempt may have been applied") {
				t.Errorf("error text %q does not say an earlier attempt may have been applied", err)
			}
			if n := len(h.fake.Resets()); n != tt.wantResets {
				t.Errorf("fake applied %d resets, want %d", n, tt.wantResets)
			}
		})
	}
}

// A connection that could not even be opened sent nothing: not applied.
func TestResetPassword_NothingSentIsNotApplied(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	h := newHarness(t)
	// Get a token first, then point Partner Center calls at a closed port.
	if err := h.c.CheckAuth(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	h.c.base = dead
	err = h.c.ResetPassword(ctxTimeout(t, 30*time.Second), tenantA, userID(1), h.newPassword())
	h.wantKind(err, KindUnavailable)
	if MaybeApplied(err) {
		t.Errorf("MaybeApplied = true for a connection that was refused: %v", err)
	}
}

// Reads are never "applied": the flag is about writes.
func TestUser_RetriedReadIsNotApplied(t *testing.T) {
	h := newHarness(t)
	h.fake.AddFault(fakepartner.Fault{Method: http.MethodGet, PathContains: "/users/" + userID(1), Status: 503, Times: 1})
	h.fake.AddFault(fakepartner.Fault{Method: http.MethodGet, PathContains: "/users/" + userID(1), Status: 404, Code: 60002, Times: 1})
	_, err := h.c.User(ctxTimeout(t, time.Minute), tenantA, userID(1))
	h.wantKind(err, KindNotFound)
	if MaybeApplied(err) {
		t.Errorf("a GET reported as maybe applied: %v", err)
	}
}
