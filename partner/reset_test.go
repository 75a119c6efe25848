package partner

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/internal/fakepartner"
	"github.com/locksmithbot/locksmith/internal/secret"
)

// newPassword generates a password and registers it as a canary.
func (h *harness) newPassword() secret.Password {
	h.t.Helper()
	pw, err := GeneratePassword(0)
	if err != nil {
		h.t.Fatal(err)
	}
	h.canary(pw.Reveal())
	return pw
}

func TestResetPassword_DocumentedBody(t *testing.T) {
	h := newHarness(t)
	pw := h.newPassword()
	ctx := WithCorrelationID(ctxTimeout(t, 10*time.Second), "corr-reset")
	if err := h.note(h.c.ResetPassword(ctx, tenantA, userID(1), pw)); err != nil {
		t.Fatal(err)
	}
	calls := h.calls("/resetpassword")
	if len(calls) != 1 {
		t.Fatalf("reset calls = %d, want 1", len(calls))
	}
	c := calls[0]
	if c.Method != http.MethodPatch || c.Path != "/v1/customers/"+tenantA+"/users/"+userID(1)+"/resetpassword" {
		t.Errorf("reset went to %s %s", c.Method, c.Path)
	}
	want := `{"passwordProfile":{"password":"` + pw.Reveal() + `","forceChangePassword":true},"attributes":{"objectType":"CustomerUser"}}`
	if string(c.Body) != want {
		t.Errorf("body is not byte-for-byte the documented one")
	}
	if c.Header.Get("Content-Type") != "application/json" || c.Header.Get("MS-CorrelationId") != "corr-reset" {
		t.Errorf("Content-Type = %q, MS-CorrelationId = %q", c.Header.Get("Content-Type"), c.Header.Get("MS-CorrelationId"))
	}
	resets := h.fake.Resets()
	if len(resets) != 1 || !resets[0].ForceChange || resets[0].Password != pw.Reveal() || resets[0].UserID != userID(1) {
		t.Errorf("fake applied %d resets (force=%v)", len(resets), len(resets) == 1 && resets[0].ForceChange)
	}
}

func TestResetPassword_RetriedWithSameRequestIDAppliedOnce(t *testing.T) {
	h := newHarness(t)
	pw := h.newPassword()
	h.fake.AddFault(fakepartner.Fault{PathContains: "/resetpassword", Status: 503, Times: 1})
	h.fake.AddFault(fakepartner.Fault{PathContains: "/resetpassword", Status: 429, RetryAfter: "7", Times: 1})
	ctx := WithCorrelationID(ctxTimeout(t, 2*time.Minute), "corr-reset-retry")
	if err := h.note(h.c.ResetPassword(ctx, tenantA, userID(1), pw)); err != nil {
		t.Fatal(err)
	}
	calls := h.calls("/resetpassword")
	if len(calls) != 3 {
		t.Fatalf("attempts = %d, want 3", len(calls))
	}
	sameIDs(t, calls, "corr-reset-retry")
	if w := h.sleeps.waits(); len(w) != 2 || w[1] != 7*time.Second {
		t.Errorf("waits = %v, want a backoff then 7s", w)
	}
	if n := len(h.fake.Resets()); n != 1 {
		t.Errorf("resets applied = %d, want 1", n)
	}
}

func TestResetPassword_FallbackRoute(t *testing.T) {
	tests := []struct {
		name         string
		fault        fakepartner.Fault
		wantFallback bool
		wantKind     Kind
	}{
		{"404 route unknown (generic code); older route used",
			fakepartner.Fault{Method: http.MethodPatch, PathContains: "/resetpassword", Status: 404}, true, KindUnknown},
		{"404 with an empty code; older route used",
			fakepartner.Fault{Method: http.MethodPatch, PathContains: "/resetpassword", Status: 404, Code: ""}, true, KindUnknown},
		{"405 method not allowed; older route used",
			fakepartner.Fault{Method: http.MethodPatch, PathContains: "/resetpassword", Status: 405}, true, KindUnknown},
		{"404 60002 user not found; no fallback",
			fakepartner.Fault{Method: http.MethodPatch, PathContains: "/resetpassword", Status: 404, Code: 60002,
				Description: "User object ID is not found"}, false, KindNotFound},
		{"403; no fallback",
			fakepartner.Fault{Method: http.MethodPatch, PathContains: "/resetpassword", Status: 403, Code: 900150}, false, KindForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			pw := h.newPassword()
			h.fake.AddFault(tt.fault)
			err := h.c.ResetPassword(ctxTimeout(t, 10*time.Second), tenantA, userID(2), pw)
			if KindOf(h.note(err)) != tt.wantKind {
				t.Fatalf("err = %v, want kind %v", err, tt.wantKind)
			}
			var legacy []fakepartner.Call
			for _, c := range h.fake.Calls() {
				if c.Method == http.MethodPatch && strings.HasSuffix(c.Path, "/users/"+userID(2)) {
					legacy = append(legacy, c)
				}
			}
			if got := len(legacy) == 1; got != tt.wantFallback {
				t.Fatalf("older-route calls = %d, want fallback %v", len(legacy), tt.wantFallback)
			}
			if !tt.wantFallback {
				return
			}
			first := h.calls("/resetpassword")[0]
			if string(legacy[0].Body) != string(first.Body) {
				t.Errorf("the fallback body differs from the first")
			}
			if legacy[0].Header.Get("MS-CorrelationId") != first.Header.Get("MS-CorrelationId") {
				t.Errorf("the fallback has another MS-CorrelationId")
			}
			if r := h.fake.Resets(); len(r) != 1 || !r[0].ForceChange || r[0].Path != legacy[0].Path {
				t.Errorf("fake resets = %d, want 1 through the older route", len(r))
			}
		})
	}
}

func TestResetPassword_MissingUserOnBothRoutes(t *testing.T) {
	h := newHarness(t)
	h.fake.AddFault(fakepartner.Fault{Method: http.MethodPatch, PathContains: "/resetpassword", Status: 405})
	err := h.c.ResetPassword(ctxTimeout(t, 10*time.Second), tenantA, userID(77), h.newPassword())
	if e := h.wantKind(err, KindNotFound); e.Code != "60002" {
		t.Errorf("Code = %q, want 60002 from the older route", e.Code)
	}
}

func TestResetPassword_RejectedWithoutEchoingThePassword(t *testing.T) {
	h := newHarness(t)
	pw := h.newPassword()
	// A server that (unlike Partner Center, as far as is known) quotes the
	// password in its description.
	h.fake.AddFault(fakepartner.Fault{PathContains: "/resetpassword", Status: 400, Code: "800002",
		Description: "Invalid request input: password " + pw.Reveal() + " is banned", Times: 1})
	err := h.c.ResetPassword(ctxTimeout(t, 10*time.Second), tenantA, userID(1), pw)
	e := h.wantKind(err, KindRejected)
	if strings.Contains(e.Description, pw.Reveal()) || !strings.Contains(e.Description, "[redacted]") {
		t.Errorf("the description was not scrubbed")
	}

	// The fake's own policy check (a banned term).
	err = h.c.ResetPassword(ctxTimeout(t, 10*time.Second), tenantA, userID(1), secret.NewPassword("Contoso-2026!x"))
	if e := h.wantKind(err, KindRejected); e.Code != "800002" {
		t.Errorf("Code = %q, want 800002", e.Code)
	}
}

func TestResetPassword_InputChecked(t *testing.T) {
	h := newHarness(t)
	ctx := ctxTimeout(t, 10*time.Second)
	h.wantKind(h.c.ResetPassword(ctx, tenantA, userID(1), secret.Password{}), KindRejected)
	h.wantKind(h.c.ResetPassword(ctx, tenantA, "alice@contoso.com", h.newPassword()), KindRejected)
	h.wantKind(h.c.ResetPassword(ctx, "contoso.com", userID(1), h.newPassword()), KindRejected)
	if len(h.fake.Calls()) != 0 {
		t.Errorf("invalid input reached Partner Center")
	}
}
