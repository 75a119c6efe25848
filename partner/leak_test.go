package partner

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/internal/fakepartner"
)

// TestLeaks_ScannerFindsAPlantedSecret keeps the scan honest: it must report
// a secret that is there.
func TestLeaks_ScannerFindsAPlantedSecret(t *testing.T) {
	got := leaks([]string{`{"msg":"x","token":"rt-planted-123456"}`, "partner: boom"},
		[]canary{{"planted", "rt-planted-123456"}, {"absent", "zzzzzzzzzz"}})
	if len(got) != 1 || got[0] != "planted in the logs" {
		t.Errorf("leaks = %v, want one planted hit", got)
	}
}

// TestLeaks_NoSecretInLogsOrErrors drives every flow through one client with
// a debug-level JSON log, and proves (in the harness's cleanup scan) that no
// password, refresh token, access token or client secret reaches a log line
// or an error text. Every other integration test runs the same scan.
func TestLeaks_NoSecretInLogsOrErrors(t *testing.T) {
	h := newHarness(t)
	ctx := WithCorrelationID(ctxTimeout(t, 2*time.Minute), "corr-leak")

	// Auth, rotation, and a keep-alive.
	_ = h.note(h.c.CheckAuth(ctx))
	_ = h.note(h.c.RefreshNow(ctx))
	// Lookups, with a throttle and an outage on the way.
	h.fake.AddFault(fakepartner.Fault{PathContains: "/v1/customers?", Status: 429, RetryAfter: "3", Times: 1})
	h.fake.AddFault(fakepartner.Fault{PathContains: "/directoryroles", Status: 503, Times: 1})
	h.fake.SetPageSize(3)
	_, err := h.c.CustomersByDomain(ctx, "contoso.com")
	h.note(err)
	_, err = h.c.UserByUPN(ctx, tenantA, "user5@contoso.com")
	h.note(err)
	_, err = h.c.UserRoles(ctx, tenantA, userID(3))
	h.note(err)
	_, err = h.c.User(ctx, tenantA, userID(99))
	h.note(err)
	// Resets: success, retried, rejected with an echo, through the older route.
	_ = h.note(h.c.ResetPassword(ctx, tenantA, userID(1), h.newPassword()))
	h.fake.AddFault(fakepartner.Fault{PathContains: "/resetpassword", Status: 502, Times: 1})
	_ = h.note(h.c.ResetPassword(ctx, tenantA, userID(2), h.newPassword()))
	pw := h.newPassword()
	h.fake.AddFault(fakepartner.Fault{PathContains: "/resetpassword", Status: 400, Code: "800002",
		Description: "password " + pw.Reveal() + " rejected", Times: 1})
	_ = h.note(h.c.ResetPassword(ctx, tenantA, userID(3), pw))
	h.fake.AddFault(fakepartner.Fault{Method: http.MethodPatch, PathContains: "/resetpassword", Status: 404, Times: 1})
	_ = h.note(h.c.ResetPassword(ctx, tenantA, userID(4), h.newPassword()))
	// The access token dies; then the refresh token does; then MFA.
	h.fake.ExpireAccessTokens()
	_, err = h.c.User(ctx, tenantA, userID(1))
	h.note(err)
	h.fake.RevokeRefreshTokens(50173)
	_ = h.note(h.c.RefreshNow(ctx))
	fresh := h.newClient(h.cfg)
	_ = h.note(fresh.CheckAuth(ctx))
	h.fake.RequireMFA(true)
	_, err = h.c.User(ctx, tenantA, userID(1))
	h.note(err)

	if n := len(h.fake.Resets()); n != 3 {
		t.Errorf("resets applied = %d, want 3", n)
	}
	// The log really holds the debug records the scan reads.
	var records, withIDs int
	for _, line := range strings.Split(strings.TrimSpace(h.logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %v", err)
		}
		records++
		if rec["request_id"] != nil && rec["correlation_id"] == "corr-leak" {
			withIDs++
		}
	}
	if records < 20 || withIDs < 10 {
		t.Errorf("log has %d records, %d with request and correlation IDs; the scan would prove little", records, withIDs)
	}
	if len(h.errTexts) < 5 {
		t.Errorf("only %d error texts collected", len(h.errTexts))
	}
}
