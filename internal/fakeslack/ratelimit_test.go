package fakeslack

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// limitClock replaces the limit's clock, so the tests say when the interval
// has passed instead of waiting for it.
type limitClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *limitClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *limitClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func limitedServer(t *testing.T) (*Server, *limitClock) {
	t.Helper()
	s := newServer(t)
	c := &limitClock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	s.mu.Lock()
	s.now = c.now
	s.mu.Unlock()
	s.AddChannel("C0AUDIT", "audit", alice)
	s.SetChannelRateLimit(time.Second, 1)
	return s, c
}

func wantRateLimited(t *testing.T, err error) {
	t.Helper()
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != time.Second {
		t.Fatalf("err = %v (%T), want *slack.RateLimitedError with RetryAfter 1s", err, err)
	}
}

func TestChannelRateLimit_SecondPostWithinIntervalIsRefused(t *testing.T) {
	s, c := limitedServer(t)
	ctx := testContext(t)
	api := newAPI(s)

	if _, _, err := api.PostMessageContext(ctx, approvals, slack.MsgOptionText("one", false)); err != nil {
		t.Fatalf("first post: %v", err)
	}
	c.advance(999 * time.Millisecond)
	_, _, err := api.PostMessageContext(ctx, approvals, slack.MsgOptionText("two", false))
	wantRateLimited(t, err)
	if got := s.Messages(approvals); len(got) != 1 || got[0].Text != "one" {
		t.Fatalf("history = %+v, want only the first post", got)
	}
	if n, m := s.RateLimited("chat.postMessage"), s.RateLimitedIn(approvals); n != 1 || m != 1 {
		t.Fatalf("RateLimited = %d, RateLimitedIn = %d, want 1 and 1", n, m)
	}
	calls := s.Calls()
	if last := calls[len(calls)-1]; last.Method != "chat.postMessage" || last.Status != 429 {
		t.Fatalf("last call = %s %d, want chat.postMessage 429", last.Method, last.Status)
	}

	// A refused post does not restart the interval: a second after the
	// accepted one, the channel takes a post again.
	c.advance(time.Millisecond)
	if _, _, err := api.PostMessageContext(ctx, approvals, slack.MsgOptionText("three", false)); err != nil {
		t.Fatalf("post after the interval: %v", err)
	}
	if got := s.Messages(approvals); len(got) != 2 || got[1].Text != "three" {
		t.Fatalf("history = %+v, want one and three", got)
	}
	if n := s.RateLimited("chat.postMessage"); n != 1 {
		t.Fatalf("RateLimited = %d after an accepted post, want still 1", n)
	}
}

func TestChannelRateLimit_ChannelsAreIndependent(t *testing.T) {
	s, c := limitedServer(t)
	ctx := testContext(t)
	api := newAPI(s)

	for _, ch := range []string{approvals, "C0AUDIT", alice, bob} {
		if _, _, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("hello", false)); err != nil {
			t.Fatalf("first post to %s: %v", ch, err)
		}
	}
	// A DM is limited by its channel, whether the post names the user or the
	// D… channel.
	_, _, err := api.PostMessageContext(ctx, s.DMChannel(alice), slack.MsgOptionText("again", false))
	wantRateLimited(t, err)
	if n := s.RateLimitedIn(s.DMChannel(alice)); n != 1 {
		t.Fatalf("RateLimitedIn(alice's DM) = %d, want 1", n)
	}
	if n := s.RateLimitedIn(approvals) + s.RateLimitedIn("C0AUDIT") + s.RateLimitedIn(s.DMChannel(bob)); n != 0 {
		t.Fatalf("refusals in the other channels = %d, want 0", n)
	}
	c.advance(time.Second)
	if _, _, err := api.PostMessageContext(ctx, alice, slack.MsgOptionText("later", false)); err != nil {
		t.Fatalf("DM after the interval: %v", err)
	}
}

func TestChannelRateLimit_Ephemeral(t *testing.T) {
	s, c := limitedServer(t)
	ctx := testContext(t)
	api := newAPI(s)

	if _, err := api.PostEphemeralContext(ctx, approvals, alice, slack.MsgOptionText("one", false)); err != nil {
		t.Fatalf("first ephemeral: %v", err)
	}
	_, err := api.PostEphemeralContext(ctx, approvals, bob, slack.MsgOptionText("two", false))
	wantRateLimited(t, err)
	if got := s.Ephemerals(approvals, bob); len(got) != 0 {
		t.Fatalf("refused ephemeral was shown: %+v", got)
	}
	if n, m := s.RateLimited("chat.postEphemeral"), s.RateLimited("chat.postMessage"); n != 1 || m != 0 {
		t.Fatalf("RateLimited: postEphemeral %d, postMessage %d; want 1 and 0", n, m)
	}
	// Each method has its own limit: a message may still be posted.
	if _, _, err := api.PostMessageContext(ctx, approvals, slack.MsgOptionText("card", false)); err != nil {
		t.Fatalf("post after an ephemeral: %v", err)
	}
	c.advance(time.Second)
	if _, err := api.PostEphemeralContext(ctx, approvals, bob, slack.MsgOptionText("two", false)); err != nil {
		t.Fatalf("ephemeral after the interval: %v", err)
	}
}

func TestChannelRateLimit_UpdateIsNotLimited(t *testing.T) {
	s, _ := limitedServer(t)
	ctx := testContext(t)
	api := newAPI(s)

	_, ts, err := api.PostMessageContext(ctx, approvals, slack.MsgOptionText("v1", false))
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	for _, text := range []string{"v2", "v3"} {
		if _, _, _, err := api.UpdateMessageContext(ctx, approvals, ts, slack.MsgOptionText(text, false)); err != nil {
			t.Fatalf("update to %s: %v", text, err)
		}
	}
	if m, _ := s.Message(approvals, ts); m.Text != "v3" {
		t.Fatalf("text = %q, want v3", m.Text)
	}
	if n := s.RateLimited("chat.update"); n != 0 {
		t.Fatalf("RateLimited(chat.update) = %d", n)
	}
	// The updates did not count as posts either: the limit still refuses
	// the next post, not more and not less.
	_, _, err = api.PostMessageContext(ctx, approvals, slack.MsgOptionText("next", false))
	wantRateLimited(t, err)
}

func TestChannelRateLimit_OffByDefaultAndWhenZero(t *testing.T) {
	s := newServer(t)
	ctx := testContext(t)
	api := newAPI(s)
	for i := range 3 {
		if _, _, err := api.PostMessageContext(ctx, approvals, slack.MsgOptionText("x", false)); err != nil {
			t.Fatalf("post %d without a limit: %v", i, err)
		}
	}
	s.SetChannelRateLimit(time.Hour, 1)
	s.SetChannelRateLimit(0, 1)
	for i := range 2 {
		if _, _, err := api.PostMessageContext(ctx, approvals, slack.MsgOptionText("x", false)); err != nil {
			t.Fatalf("post %d with the limit off: %v", i, err)
		}
	}
}
