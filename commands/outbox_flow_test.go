package commands

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
)

// rateLimited is Slack's 429 as the transport reports it.
type rateLimited struct{ after time.Duration }

func (e rateLimited) Error() string             { return "slack chat.postMessage: ratelimited" }
func (e rateLimited) RetryAfter() time.Duration { return e.after }

// A card Slack keeps refusing (temporarily) is retried until the request
// expires; then it is not posted at all, and the requester's expiry notice
// says the card never reached the channel.
func TestOutbox_CardNeverPostedBeforeExpiry(t *testing.T) {
	h := newHarness(t, true)
	h.msg.postApprovalFn = func(context.Context, string, Card) (MessageRef, error) {
		return MessageRef{}, slackError{"chat.postMessage", "internal_error", false}
	}
	reply := h.slash(requester, slashText)
	wantContains(t, "reply", reply, "queued")
	r := h.onlyRequest()
	h.wantState(r.ID, approvals.StatePending) // a temporary refusal withdraws nothing

	h.clock.Advance(31 * time.Minute)
	h.sweep()
	h.wantState(r.ID, approvals.StateExpired)
	var expired string
	for _, n := range h.noticesTo(requester) {
		if strings.Contains(n.Text, "expired") {
			expired = n.Text
		}
	}
	wantContains(t, "expiry notice", expired, "never reached", "<#"+approvalChannel+">")
	// The card, never posted, is not posted now that nobody can decide.
	h.msg.postApprovalFn = func(_ context.Context, ch string, c Card) (MessageRef, error) {
		t.Errorf("a card was posted for an expired request: %+v", c)
		return MessageRef{Channel: ch, TS: "1.2"}, nil
	}
	waitUntil(t, "the card abandoned", func() bool {
		st, _, _, err := h.store.MessageState(context.Background(), r.ID, approvals.MessageCard)
		return err == nil && st == approvals.OutboxAbandoned
	})
}

// A 429 pauses the channel for every message waiting on it, once: the
// messages behind it are not each sent into the same refusal.
func TestOutbox_RetryAfterPausesTheChannelOnce(t *testing.T) {
	h := newHarness(t, true)
	var mu sync.Mutex
	var calls []time.Time
	refused := false
	h.msg.postChannelFn = func(context.Context, string, string) error {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, time.Now())
		if !refused {
			refused = true
			return rateLimited{after: 700 * time.Millisecond}
		}
		return nil
	}
	h.request() // requested: one audit line
	h.request() // and another
	waitUntil(t, "both audit lines", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(calls) >= 3
	})
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 3 {
		t.Fatalf("%d audit-channel attempts; want 3 (one refused, then each line once)", len(calls))
	}
	if gap := calls[1].Sub(calls[0]); gap < 650*time.Millisecond {
		t.Errorf("the line after the 429 went %v later; want at least the Retry-After", gap)
	}
}

// A queue that could not post a new card before the request expires refuses
// the request with the reason, and records nothing.
func TestOutbox_FullQueueRefusesNewRequests(t *testing.T) {
	h := newHarness(t, true)
	h.svc.delivery.opts.MaxQueued = 2
	h.msg.postApprovalFn = func(context.Context, string, Card) (MessageRef, error) {
		return MessageRef{}, rateLimited{after: time.Hour} // Slack closed the channel for now
	}
	h.slash(requester, slashText)
	h.slash(requester, slashText)
	before := h.requestCount()
	reply := h.slash(requester, slashText)
	wantContains(t, "reply", reply, "Not recorded", "2 messages are already waiting", "<#"+approvalChannel+">", "nothing was changed")
	if n := h.requestCount(); n != before {
		t.Errorf("%d requests after the refusal; want %d", n, before)
	}
}

func (h *harness) onlyRequest() approvals.Request {
	h.t.Helper()
	rs, err := h.store.RequestsOf(context.Background(), requester, 10)
	if err != nil || len(rs) != 1 {
		h.t.Fatalf("requests of %s = %d, %v; want 1", requester, len(rs), err)
	}
	return rs[0]
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
