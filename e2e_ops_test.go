package main

import (
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/internal/fakeslack"
)

func (h *harness) get(path string) (int, string) {
	h.t.Helper()
	var addr string
	h.waitFor("ops listener", func() bool {
		v, _ := h.app.opsAddr.Load().(string)
		addr = v
		return addr != ""
	})
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestOps_HealthReadinessMetrics(t *testing.T) {
	h := newHarness(t, harnessOptions{approval: false})
	h.start()
	if code, _ := h.get("/healthz"); code != 200 {
		t.Fatalf("/healthz %d", code)
	}
	h.waitFor("ready", func() bool { code, _ := h.get("/readyz"); return code == 200 })

	h.slash(alice, "contoso.onmicrosoft.com "+plainUPN)
	h.slash(mallory, "contoso.onmicrosoft.com "+plainUPN)
	_, metrics := h.get("/metrics")
	for _, want := range []string{
		`locksmith_resets_total{outcome="done"} 1`,
		`locksmith_resets_total{outcome="refused"} 1`,
		`locksmith_partner_center_requests_total{endpoint="PATCH /v1/customers/{id}/users/{id}/resetpassword",status="200"} 1`,
		`locksmith_slack_ack_duration_seconds_count`,
		`locksmith_slack_api_calls_total{method="chat.postEphemeral",result="ok"} 1`,
		`locksmith_pending_requests 0`,
		`locksmith_refresh_token_age_seconds`,
		`locksmith_audit_write_failures_total 0`,
		`locksmith_build_info{goversion="` + runtime.Version() + `",revision="",version="(devel)"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if pw := h.lastResetPassword(); strings.Contains(metrics, pw) {
		t.Fatal("/metrics holds the password")
	}

	// Not ready while the database is gone.
	h.app.store.Close()
	code, body := h.get("/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "database") {
		t.Fatalf("/readyz with the database closed: %d %q", code, body)
	}
}

// TestOps_ReloadPolicy: SIGHUP re-reads locksmith.yaml; a grant added there
// applies to the next request, and a broken file keeps the running policy.
func TestOps_ReloadPolicy(t *testing.T) {
	h := newHarness(t, harnessOptions{approval: false})
	h.start()
	if r := h.slash(mallory, "contoso.onmicrosoft.com "+plainUPN); !strings.Contains(r, "not permitted") {
		t.Fatalf("before reload: %q", r)
	}
	path := h.env["LOCKSMITH_CONFIG"]
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	updated := strings.Replace(string(raw), "slack_users: [U0ALICE, U0BOB]", "slack_users: [U0ALICE, U0BOB, U0MALLORY]", 1)
	if err := os.WriteFile(path, []byte(updated), 0o600); err != nil {
		t.Fatal(err)
	}
	h.app.reload()
	if r := h.slash(mallory, "contoso.onmicrosoft.com "+plainUPN); !strings.Contains(r, "was reset") {
		t.Fatalf("after reload: %q", r)
	}
	if err := os.WriteFile(path, []byte("grants: [oops"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.app.reload()
	if !strings.Contains(h.logs.String(), "reload refused") {
		t.Fatal("a broken file was not reported")
	}
	time.Sleep(0)
	if r := h.slash(mallory, "contoso.onmicrosoft.com "+plainUPN); !strings.Contains(r, "was reset") {
		t.Fatalf("a broken reload changed the policy: %q", r)
	}
}

// TestOps_ReadyzFailsWhileTheSocketIsSilent: a half-open Slack socket (TCP up,
// nothing arriving) makes /readyz fail with the reason while slack-go still
// holds it, before it gives up on it, and /readyz recovers once slack-go's
// next socket is up.
func TestOps_ReadyzFailsWhileTheSocketIsSilent(t *testing.T) {
	oldPing, oldSuspect := slackPingTimeout, slackSuspectAfter
	// The fake pings every 200 ms: one second of silence is five missed PINGs,
	// and slack-go gives up 5 to 10 s after the last one.
	slackPingTimeout, slackSuspectAfter = 5*time.Second, time.Second
	t.Cleanup(func() { slackPingTimeout, slackSuspectAfter = oldPing, oldSuspect })
	h := newHarness(t, harnessOptions{approval: false})
	h.start()
	h.waitFor("ready", func() bool { code, _ := h.get("/readyz"); return code == 200 })

	// StallDrained, not Stall: on a loaded machine the bot's reader can lag
	// more than the 1 s limit, see 503, then read PINGs that were sent before
	// the stall and rightly recover on the old socket.
	stalled, err := h.slack.StallDrained(h.ctx())
	if err != nil || stalled == 0 {
		t.Fatalf("no live socket to stall: %d, %v", stalled, err)
	}
	var body string
	h.waitFor("/readyz 503", func() bool {
		code, b := h.get("/readyz")
		body = b
		return code == http.StatusServiceUnavailable
	})
	// Still the socket slack-go dialled first, open: it has not given up on it.
	if n, open := h.slack.Connections(), h.slack.OpenConnections(); n != stalled || open != 1 {
		t.Fatalf("/readyz failed only after a reconnect: %d sockets opened, %d open; want %d and 1 (body %q)", n, open, stalled, body)
	}
	if !strings.Contains(body, "Slack socket suspect: no frame or ping for ") || !strings.Contains(body, "limit 1s") {
		t.Fatalf("/readyz body %q does not say the socket is suspect", body)
	}

	h.waitFor("ready again", func() bool { code, _ := h.get("/readyz"); return code == 200 })
	if n := h.slack.Connections(); n <= stalled {
		t.Fatalf("/readyz recovered on the stalled socket (%d sockets opened)", n)
	}
	if err := h.slack.WaitConnectionClosed(h.ctx(), stalled); err != nil {
		t.Fatal(err)
	}
	if r := h.slash(alice, "contoso.onmicrosoft.com "+plainUPN); !strings.Contains(r, "was reset") {
		t.Fatalf("after the new socket: %q", r)
	}
}

// TestOps_SlackRateLimitedMetric: each 429 from Slack is counted per method,
// with Retry-After (which the bot waits out) or without.
func TestOps_SlackRateLimitedMetric(t *testing.T) {
	h := newHarness(t, harnessOptions{approval: false})
	h.start()
	h.slack.Fail("chat.postEphemeral", fakeslack.Failure{Status: 429, RetryAfter: 1, Times: 1})
	h.slack.Fail("response_url", fakeslack.Failure{Status: 429, Times: 1})
	if r := h.slash(alice, "contoso.onmicrosoft.com "+plainUPN); !strings.Contains(r, "was reset") {
		t.Fatalf("reply = %q", r)
	}
	// Every attempt has been observed once the password (429, then delivered)
	// and the reply (response_url 429, then chat.postEphemeral) are out.
	var metrics string
	h.waitFor("every Slack call observed", func() bool {
		_, metrics = h.get("/metrics")
		return strings.Contains(metrics, `locksmith_slack_api_calls_total{method="chat.postEphemeral",result="ok"} 2`) &&
			strings.Contains(metrics, `locksmith_slack_api_calls_total{method="response_url",result="http_429"} 1`)
	})
	for _, want := range []string{
		`locksmith_slack_rate_limited_total{method="chat.postEphemeral"} 1`,
		`locksmith_slack_rate_limited_total{method="response_url"} 1`,
		`locksmith_slack_api_calls_total{method="chat.postEphemeral",result="ratelimited"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(metrics, `locksmith_slack_rate_limited_total{method="chat.postMessage"}`) {
		t.Error("a method Slack never limited is counted")
	}
}
