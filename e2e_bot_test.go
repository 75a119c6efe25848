package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/internal/fakepartner"
	"github.com/locksmithbot/locksmith/internal/fakeslack"
)

// Issue #3: the bot end to end with approval.required: false.

func TestE2E_ResetWithoutApproval(t *testing.T) {
	h := newHarness(t, harnessOptions{approval: false})
	h.start()

	reply := h.slash(alice, "contoso.onmicrosoft.com "+plainUPN+" INC-4711")
	if !strings.Contains(reply, "was reset") || !strings.Contains(reply, "DM") {
		t.Fatalf("reply = %q, want a confirmation pointing at the DM", reply)
	}
	resets := h.pc.Resets()
	if len(resets) != 1 {
		t.Fatalf("Partner Center got %d resets, want 1", len(resets))
	}
	if r := resets[0]; r.TenantID != contosoTenant || r.UserID != plainUserID || !r.ForceChange {
		// Not %+v: the record holds the password, which must not reach test output.
		t.Fatalf("reset of %s/%s, forceChangePassword %t; want %s/%s, true", r.TenantID, r.UserID, r.ForceChange, contosoTenant, plainUserID)
	}
	if n := h.slack.CallCount("chat.postEphemeral"); n != 1 {
		t.Fatalf("%d chat.postEphemeral calls, want exactly 1", n)
	}
	h.assertPasswordOnlyInEphemeral(alice, resets[0].Password)
	if len(resets[0].Password) != 20 {
		t.Errorf("password length %d, want 20 from password.length", len(resets[0].Password))
	}
	for _, c := range h.pc.Calls() {
		if c.Header.Get("MS-CorrelationId") == "" || c.Header.Get("MS-RequestId") == "" {
			t.Errorf("%s %s without MS-CorrelationId / MS-RequestId", c.Method, c.Path)
		}
	}
	if u := h.pc.Unexpected(); len(u) > 0 {
		t.Errorf("unexpected Partner Center routes: %v", u)
	}
	if u := h.slack.Unexpected(); len(u) > 0 {
		t.Errorf("unexpected Slack methods: %v", u)
	}
}

func TestE2E_UserGroupGrantAndObjectID(t *testing.T) {
	h := newHarness(t, harnessOptions{approval: false})
	h.start()
	// grace holds her grant only through the S0HELPDESK user group.
	reply := h.slash(grace, contosoTenant+" "+helpdeskID)
	if !strings.Contains(reply, "was reset") {
		t.Fatalf("reply = %q", reply)
	}
	h.assertPasswordOnlyInEphemeral(grace, h.lastResetPassword())
}

func TestE2E_RefusalsChangeNothing(t *testing.T) {
	h := newHarness(t, harnessOptions{approval: false})
	h.start()
	tests := []struct {
		name, user, text, want string
		pcCalls                bool // whether Partner Center may be asked at all
	}{
		{"no grant at all; refused before Partner Center", mallory, "contoso.onmicrosoft.com " + plainUPN, "not permitted", false},
		{"grant for another customer", dave, "contoso.onmicrosoft.com " + plainUPN, "No customer of yours matches", true},
		{"user administrator targeting a global administrator", alice, "contoso.onmicrosoft.com " + globalUPN, "Privileged Authentication Administrator", true},
		{"ambiguous company prefix lists candidates", alice, "Contoso " + plainUPN, "matches 2 customers", true},
		{"unknown customer", alice, "nowhere.onmicrosoft.com " + plainUPN, "No customer of yours matches", true},
		{"unknown user", alice, "contoso.onmicrosoft.com nobody@contoso.onmicrosoft.com", "No user", true},
		{"synced user without sign-off", alice, "contoso.onmicrosoft.com " + syncedUPN, "synced from on-premises", true},
		{"empty", alice, "", "Usage", false},
		{"one argument", alice, "contoso.onmicrosoft.com", "both the customer and the user", false},
		{"10 KB of text", alice, "contoso.onmicrosoft.com " + plainUPN + " " + strings.Repeat("x", 10<<10), "too long", false},
		{"control characters", alice, "contoso.onmicrosoft.com " + plainUPN + " a\x1bb", "control characters", false},
		{"@channel in the reason", alice, "contoso.onmicrosoft.com " + plainUPN + " <!channel> now", "can't contain mentions", false},
		{"disguised link in the reason", alice, "contoso.onmicrosoft.com " + plainUPN + " <http://x|y>", "can't contain mentions", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer h.use(t)()
			before := len(h.pc.Calls())
			reply := h.slash(tt.user, tt.text)
			if !strings.Contains(reply, tt.want) {
				t.Fatalf("reply = %q, want it to contain %q", reply, tt.want)
			}
			if n := h.patches(); n != 0 {
				t.Fatalf("%d PATCH calls, want none", n)
			}
			if !tt.pcCalls && len(h.pc.Calls()) != before {
				t.Fatalf("Partner Center was called %d times, want none", len(h.pc.Calls())-before)
			}
			if strings.Contains(reply, "<!channel>") || strings.Contains(reply, "<http://x|y>") {
				t.Fatalf("reply echoes Slack markup unescaped: %q", reply)
			}
		})
	}
	if n := h.slack.CallCount("chat.postEphemeral"); n != 0 {
		t.Errorf("%d ephemeral password messages after refusals", n)
	}
	// The ambiguous answer names both candidates with their tenant IDs.
	reply := h.slash(alice, "Contoso "+plainUPN)
	for _, want := range []string{"Contoso Ltd", contosoTenant, contosoLtd} {
		if !strings.Contains(reply, want) {
			t.Errorf("candidates reply lacks %q: %q", want, reply)
		}
	}
}

func TestE2E_SurvivesDisconnect(t *testing.T) {
	h := newHarness(t, harnessOptions{approval: false})
	h.start()
	h.slack.Disconnect("refresh_requested")
	h.waitFor("reconnect", func() bool { return h.slack.Connections() >= 2 })
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	if err := h.slack.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	reply := h.slash(alice, "contoso.onmicrosoft.com "+plainUPN)
	if !strings.Contains(reply, "was reset") {
		t.Fatalf("after reconnect: reply = %q", reply)
	}
	h.assertPasswordOnlyInEphemeral(alice, h.lastResetPassword())
}

func TestE2E_SlackRateLimitOnEphemeralStillDelivers(t *testing.T) {
	h := newHarness(t, harnessOptions{approval: false})
	h.start()
	h.slack.Fail("chat.postEphemeral", fakeslack.Failure{Status: 429, RetryAfter: 1, Times: 1})
	reply := h.slash(alice, "contoso.onmicrosoft.com "+plainUPN)
	if !strings.Contains(reply, "was reset") {
		t.Fatalf("reply = %q", reply)
	}
	if n := h.slack.CallCount("chat.postEphemeral"); n != 2 {
		t.Fatalf("%d chat.postEphemeral calls, want 2 (429, then delivered)", n)
	}
	if eph := h.slack.Ephemerals(h.slack.DMChannel(alice), alice); len(eph) != 1 {
		t.Fatalf("%d ephemerals delivered, want 1", len(eph))
	}
}

func TestE2E_EveryEnvelopeAckedDuringPartnerCenterOutage(t *testing.T) {
	h := newHarness(t, harnessOptions{approval: false})
	h.start()
	h.pc.AddFault(fakepartner.Fault{Status: 503, Delay: 200 * time.Millisecond})
	const n = 12
	var wg sync.WaitGroup
	replies := make([]string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			replies[i] = h.slash(alice, "contoso.onmicrosoft.com "+plainUPN)
		}(i)
	}
	wg.Wait()
	for i, r := range replies {
		if !strings.Contains(r, "unavailable") {
			t.Errorf("reply %d = %q, want Partner Center unavailable", i, r)
		}
	}
	if un := h.slack.Unacked(); len(un) != 0 {
		t.Fatalf("unacked envelopes: %v", un)
	}
	// Each command's reply waited for Partner Center's slow failures; its ack
	// must not have (an absolute bound would fail on a loaded machine).
	replied := map[string]time.Time{}
	for _, p := range h.slack.ResponseURLPosts() {
		replied[p.EnvelopeID] = p.At
	}
	for _, a := range h.slack.Acks() {
		if r, ok := replied[a.EnvelopeID]; ok && !a.At.Before(r) {
			t.Errorf("envelope %s acked at %v, after its reply at %v", a.EnvelopeID, a.At, r)
		}
	}
	if h.patches() != 0 {
		t.Fatal("PATCH during outage")
	}
}

func TestE2E_ShutdownIsClean(t *testing.T) {
	h := newHarness(t, harnessOptions{approval: false})
	h.start()
	if err := h.stop(); err != nil {
		t.Fatalf("serve returned %v, want nil on SIGTERM", err)
	}
}
