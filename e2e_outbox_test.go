package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/internal/dbtest"
	"github.com/locksmithbot/locksmith/internal/fakeslack"
)

// TestE2E_BurstIsPacedNotWithdrawn is a phishing morning: 30 requests within
// two seconds while Slack allows one message a second per channel and
// answers 429 with Retry-After: 1 beyond it. Every request gets its card,
// posted once; none is withdrawn; the audit channel carries every request's
// lines in the order the trail has them.
func TestE2E_BurstIsPacedNotWithdrawn(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for 30 cards at one a second")
	}
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		// Mostly waiting for Slack's pace: the two databases side by side.
		t.Parallel()
		h := newHarness(t, harnessOptions{approval: true, dsn: dsn})
		h.slack.SetChannelRateLimit(time.Second, 1)
		delete(h.env, "LOCKSMITH_SLACK_POST_INTERVAL") // Slack's pace, the default
		h.start()

		const n = 30
		requesters := []string{alice, carol, grace}
		envelopes := make([]string, n)
		start := time.Now()
		for i := range n {
			env, err := h.slack.SlashCommand(h.ctx(), requesters[i%len(requesters)], helpdeskChannel, "/reset-password",
				fmt.Sprintf("contoso.onmicrosoft.com %s INC-%d", plainUPN, 1000+i))
			if err != nil {
				t.Fatalf("slash command %d: %v", i, err)
			}
			envelopes[i] = env
		}
		if typed := time.Since(start); typed > 2*time.Second {
			t.Logf("typing the burst took %v (a loaded machine); the queue still has to absorb it", typed)
		}
		// Every requester is answered: sent, or queued behind the others.
		// Nobody is refused or told their request was withdrawn.
		var wg sync.WaitGroup
		replies := make([]string, n)
		for i, env := range envelopes {
			wg.Add(1)
			go func() { defer wg.Done(); replies[i] = h.replyText(env) }()
		}
		wg.Wait()
		for i, r := range replies {
			if !strings.Contains(r, "Request sent for approval") && !strings.Contains(r, "queued") {
				t.Errorf("reply %d = %q; want sent or queued", i, r)
			}
		}

		// While the burst drains, /metrics shows what waits for the channel.
		_, metrics := h.get("/metrics")
		if !strings.Contains(metrics, `locksmith_outbox_depth{channel="`+approvalsChannel+`"}`) ||
			!strings.Contains(metrics, `locksmith_outbox_oldest_seconds{channel="`+approvalsChannel+`"}`) {
			t.Errorf("/metrics does not show the approval channel's queue:\n%s", grepLines(metrics, "locksmith_outbox"))
		}
		h.waitFor(fmt.Sprintf("%d approval cards", n), func() bool { return len(h.slack.Messages(approvalsChannel)) >= n })
		if _, metrics := h.get("/metrics"); !strings.Contains(metrics, `locksmith_slack_rate_limited_total{method="chat.postMessage"}`) {
			t.Errorf("/metrics does not count the 429s:\n%s", grepLines(metrics, "rate_limited"))
		}
		cards := h.slack.Messages(approvalsChannel)
		ids := map[string]int{}
		for _, c := range cards {
			ids[buttonValue(t, c.Blocks, actApprove)]++
		}
		if len(cards) != n || len(ids) != n {
			t.Fatalf("%d cards for %d requests; want %d, each posted once", len(cards), len(ids), n)
		}
		if got := h.slack.RateLimitedIn(approvalsChannel); got == 0 {
			t.Error("Slack never refused a card: the burst did not exercise the limit")
		} else {
			t.Logf("Slack answered 429 %d times in the approval channel; cards took %v", got, time.Since(start).Round(time.Millisecond))
		}

		// Decisions while the audit channel is still catching up, so each
		// request has several lines whose order can be checked.
		for i, c := range cards[:5] {
			env, err := h.slack.Click(h.ctx(), bob, fakeslack.MessageRef{Channel: c.Channel, TS: c.TS}, actApprove, buttonValue(t, c.Blocks, actApprove))
			if err != nil {
				t.Fatal(err)
			}
			if r := h.replyText(env); !strings.Contains(r, "Approved") {
				t.Fatalf("approve %d: %q", i, r)
			}
		}

		store, err := approvals.Open(context.Background(), dsn, approvals.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		counts, err := store.CountByState(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if counts[approvals.StateCancelled] != 0 || counts[approvals.StateExpired] != 0 {
			t.Fatalf("requests withdrawn or expired by the burst: %v", counts)
		}

		// The audit channel: every row of the trail, once, in the trail's order
		// for each request.
		want := map[string][]string{}
		total := 0
		err = store.Events(context.Background(), approvals.EventFilter{}, func(e approvals.Event) error {
			if e.RequestID != "" {
				want[e.RequestID] = append(want[e.RequestID], string(e.Outcome))
				total++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		h.waitFor(fmt.Sprintf("%d audit lines", total), func() bool { return len(h.slack.Messages(auditChannel)) >= total })
		got := map[string][]string{}
		for _, m := range h.slack.Messages(auditChannel) {
			id, outcome := auditLineRequest(m)
			got[id] = append(got[id], outcome)
		}
		for id, outcomes := range want {
			if !slices.Equal(got[id], outcomes) {
				t.Errorf("audit channel for %s = %v; want %v (the trail's order)", id, got[id], outcomes)
			}
		}
		if lines := len(h.slack.Messages(auditChannel)); lines != total {
			t.Errorf("%d audit lines for %d trail rows", lines, total)
		}
	})
}

// replyText waits for the reply to an envelope without waiting for the
// outbox (a burst keeps it busy for half a minute).
func (h *harness) replyText(envelopeID string) string {
	h.t.Helper()
	ctx := h.ctx()
	if _, err := h.slack.WaitAck(ctx, envelopeID); err != nil {
		h.t.Errorf("envelope %s not acked: %v", envelopeID, err)
		return ""
	}
	for {
		for _, p := range h.slack.ResponseURLPosts() {
			if p.EnvelopeID == envelopeID {
				return string(p.Body)
			}
		}
		select {
		case <-ctx.Done():
			h.t.Errorf("no reply to envelope %s", envelopeID)
			return ""
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// auditLineRequest reads the request ID and the outcome from an audit-channel
// line ("`approved` by <@U…> … · request `ID`").
func auditLineRequest(m fakeslack.Message) (id, outcome string) {
	text := m.Text
	if i := strings.LastIndex(text, "request `"); i >= 0 {
		rest := text[i+len("request `"):]
		id, _, _ = strings.Cut(rest, "`")
	}
	if i := strings.Index(text, "`"); i >= 0 {
		outcome, _, _ = strings.Cut(text[i+1:], "`")
	}
	return id, outcome
}

// grepLines keeps the lines of text that contain sub.
func grepLines(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
