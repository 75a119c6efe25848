package bot

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/locksmithbot/locksmith/commands"
	"github.com/locksmithbot/locksmith/internal/fakeslack"
)

type observed struct {
	method string
	err    error
}

func TestCall_RetryPolicy(t *testing.T) {
	tests := []struct {
		name      string
		failure   fakeslack.Failure
		wantCalls int
		wantCode  string // "" for success
	}{
		{"slack error code: no retry", fakeslack.Failure{Error: "channel_not_found"}, 1, "channel_not_found"},
		{"one 503 then success", fakeslack.Failure{Status: 503}, 2, ""},
		{"503 every time: bounded", fakeslack.Failure{Status: 503, Times: -1}, 3, "http_503"},
		{"500 twice then success", fakeslack.Failure{Status: 500, Times: 2}, 3, ""},
		{"429 without Retry-After: not retried", fakeslack.Failure{Status: 429}, 1, "http_429"},
		{"429 with Retry-After every time: bounded", fakeslack.Failure{Status: 429, RetryAfter: 1, Times: -1}, 3, "ratelimited"},
		{"timeout: not retried (the post may have landed)", fakeslack.Failure{Delay: time.Second}, 1, "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var seen []observed
			b, fake, _, ctx := messengerBot(t, func(c *Config) {
				c.CallTimeout = 300 * time.Millisecond
				c.ObserveCall = func(method string, err error, _ time.Duration) {
					mu.Lock()
					seen = append(seen, observed{method, err})
					mu.Unlock()
				}
			})
			fake.Fail("chat.postMessage", tt.failure)
			err := b.PostChannel(ctx, approvalsCh, "hello")
			// A timed-out request is recorded when the fake finishes with it.
			if _, werr := fake.WaitCall(ctx, "chat.postMessage", nil); werr != nil {
				t.Fatal(werr)
			}
			if n := fake.CallCount("chat.postMessage"); n != tt.wantCalls {
				t.Errorf("%d calls, want %d", n, tt.wantCalls)
			}
			mu.Lock()
			if len(seen) != tt.wantCalls {
				t.Errorf("ObserveCall saw %d attempts, want %d", len(seen), tt.wantCalls)
			}
			for _, o := range seen {
				if o.method != "chat.postMessage" {
					t.Errorf("ObserveCall method %q", o.method)
				}
			}
			mu.Unlock()
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("err = %v, want success", err)
				}
				return
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.Code != tt.wantCode || ae.Method != "chat.postMessage" {
				t.Fatalf("err = %v, want an APIError with code %q", err, tt.wantCode)
			}
			if err.Error() != "slack chat.postMessage: "+tt.wantCode {
				t.Errorf("err text %q", err)
			}
		})
	}
}

func TestAPIError_UnwrapsToSlackTypes(t *testing.T) {
	b, fake, _, ctx := messengerBot(t, nil)
	fake.Fail("chat.update", fakeslack.Failure{Error: "message_not_found"})
	err := b.UpdateApproval(ctx, commands.MessageRef{Channel: approvalsCh, TS: "1.000001"}, pendingCard())
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) || se.Err != "message_not_found" {
		t.Errorf("errors.As SlackErrorResponse: %v", err)
	}
}

// A response_url is a bearer capability: it must not end up in an error (and so
// in a log line) when the POST fails.
func TestAPIError_HidesURLs(t *testing.T) {
	b, fake, logs, ctx := messengerBot(t, nil)
	const hook = "http://127.0.0.1:1/hooks/T0/123/very-secret-path"
	// The POST fails (nothing listens on port 1) and the reply falls back to
	// chat.postEphemeral; the failure is logged without the URL.
	if err := b.reply(ctx, job{responseURL: hook, channelID: helpdesk, userID: alice, log: b.log}, commands.Reply{Text: "x"}); err != nil {
		t.Fatalf("reply: %v", err)
	}
	if fake.CallCount("chat.postEphemeral") != 1 {
		t.Error("no fallback to chat.postEphemeral")
	}
	if !strings.Contains(logs.String(), "falling back") {
		t.Error("the response_url failure was not logged")
	}
	if strings.Contains(logs.String(), "very-secret-path") {
		t.Error("a log line carries the response_url")
	}
	err := b.call(ctx, "response_url", func(ctx context.Context) error {
		return slack.PostWebhookCustomHTTPContext(ctx, hook, b.cfg.HTTPClient, &slack.WebhookMessage{Text: "x"})
	})
	if err == nil {
		t.Fatal("POST to a closed port succeeded")
	}
	if strings.Contains(err.Error(), "very-secret-path") {
		t.Errorf("error text carries the response_url: %v", err)
	}
}
