package fakeslack

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

func TestInjectedFaultsAsSlackGoSeesThem(t *testing.T) {
	tests := []struct {
		name       string
		failure    Failure
		wantStatus int
		check      func(t *testing.T, err error)
	}{
		{
			name: "429 with Retry-After is a RateLimitedError", failure: Failure{Status: 429, RetryAfter: 7}, wantStatus: 429,
			check: func(t *testing.T, err error) {
				var rl *slack.RateLimitedError
				if !errors.As(err, &rl) || rl.RetryAfter != 7*time.Second {
					t.Errorf("err = %v, want RateLimitedError after 7s", err)
				}
			},
		},
		{
			name: "429 without Retry-After is a StatusCodeError", failure: Failure{Status: 429}, wantStatus: 429,
			check: func(t *testing.T, err error) {
				var sc slack.StatusCodeError
				if !errors.As(err, &sc) || sc.Code != 429 {
					t.Errorf("err = %v, want StatusCodeError 429", err)
				}
			},
		},
		{
			name: "ok:false is a SlackErrorResponse", failure: Failure{Error: "ratelimited"}, wantStatus: 200,
			check: func(t *testing.T, err error) {
				var se slack.SlackErrorResponse
				if !errors.As(err, &se) || se.Err != "ratelimited" {
					t.Errorf("err = %v, want SlackErrorResponse ratelimited", err)
				}
			},
		},
		{
			name: "503 is a retryable StatusCodeError", failure: Failure{Status: 503}, wantStatus: 503,
			check: func(t *testing.T, err error) {
				var sc slack.StatusCodeError
				if !errors.As(err, &sc) || sc.Code != 503 || !sc.Retryable() {
					t.Errorf("err = %v, want retryable StatusCodeError 503", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			ctx := testContext(t)
			api := newAPI(s)
			s.Fail("chat.postMessage", tt.failure)

			_, _, err := api.PostMessageContext(ctx, approvals, slack.MsgOptionText("x", false))
			tt.check(t, err)
			// Calls carry the token: report only their count and status.
			if calls := s.Calls(); len(calls) != 1 {
				t.Errorf("%d calls, want 1", len(calls))
			} else if calls[0].Status != tt.wantStatus {
				t.Errorf("call status = %d, want %d", calls[0].Status, tt.wantStatus)
			}
			if _, _, err := api.PostMessageContext(ctx, approvals, slack.MsgOptionText("x", false)); err != nil {
				t.Errorf("second call after a one-shot fault: %v", err)
			}
			if n := len(s.Messages(approvals)); n != 1 {
				t.Errorf("history has %d messages, want only the second", n)
			}
		})
	}
}

func TestFaultTimes(t *testing.T) {
	tests := []struct {
		name       string
		times      int
		calls      int
		wantFailed int
	}{
		{name: "zero means once", times: 0, calls: 3, wantFailed: 1},
		{name: "two", times: 2, calls: 4, wantFailed: 2},
		{name: "negative means until cleared", times: -1, calls: 5, wantFailed: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			ctx := testContext(t)
			api := newAPI(s)
			s.Fail("auth.test", Failure{Error: "internal_error", Times: tt.times})
			failed := 0
			for range tt.calls {
				if _, err := api.AuthTestContext(ctx); err != nil {
					failed++
				}
			}
			if failed != tt.wantFailed {
				t.Errorf("%d of %d calls failed, want %d", failed, tt.calls, tt.wantFailed)
			}
			s.ClearFailures("auth.test")
			if _, err := api.AuthTestContext(ctx); err != nil {
				t.Errorf("after ClearFailures: %v", err)
			}
		})
	}
}

func TestQueuedFaultsApplyInOrder(t *testing.T) {
	s := newServer(t)
	ctx := testContext(t)
	api := newAPI(s)
	s.Fail("users.info", Failure{Status: 500})
	s.Fail("users.info", Failure{Error: "user_not_visible"})
	_, err1 := api.GetUserInfoContext(ctx, alice)
	_, err2 := api.GetUserInfoContext(ctx, alice)
	_, err3 := api.GetUserInfoContext(ctx, alice)
	var sc slack.StatusCodeError
	var se slack.SlackErrorResponse
	if !errors.As(err1, &sc) || !errors.As(err2, &se) || se.Err != "user_not_visible" || err3 != nil {
		t.Errorf("errors = %v, %v, %v; want 500, user_not_visible, success", err1, err2, err3)
	}
}

func TestDelayFault(t *testing.T) {
	t.Run("a delay alone slows a successful call", func(t *testing.T) {
		s := newServer(t)
		api := newAPI(s)
		s.Fail("auth.test", Failure{Delay: 100 * time.Millisecond})
		start := time.Now()
		if _, err := api.AuthTestContext(testContext(t)); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < 100*time.Millisecond {
			t.Errorf("call took %v, want at least the 100ms delay", d)
		}
	})
	t.Run("a hang is bounded by the client's context", func(t *testing.T) {
		s := newServer(t)
		api := newAPI(s)
		s.Fail("auth.test", Failure{Delay: time.Hour})
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		if _, err := api.AuthTestContext(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want deadline exceeded", err)
		}
	})
}

// slack-go retries apps.connections.open after a non-fatal error with backoff.
func TestSocketModeRetriesAfterConnectionsOpenFails(t *testing.T) {
	s := newServer(t)
	ctx := testContext(t)
	s.Fail("apps.connections.open", Failure{Error: "internal_error"})
	c := startClient(t, s, clientOptions{})
	if err := s.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	c.waitEvent(ctx, t, socketmode.EventTypeConnectionError, nil)
	if got := s.CallCount("apps.connections.open"); got != 2 {
		t.Errorf("apps.connections.open calls = %d, want 2", got)
	}
	if got := s.Calls()[0].Status; got != http.StatusOK {
		t.Errorf("failed call status = %d, want 200 with ok:false", got)
	}
}

// A fault limited to one channel fails only calls to that channel; calls to
// other channels pass it by and leave it queued.
func TestFail_OneChannelOnly(t *testing.T) {
	s := New()
	defer s.Close()
	s.AddChannel("C1", "one")
	s.AddChannel("C2", "two")
	s.Fail("chat.postMessage", Failure{Error: "channel_is_archived", Channel: "C2"})
	post := func(ch string) string {
		t.Helper()
		resp, err := http.PostForm(s.APIURL()+"chat.postMessage", url.Values{"token": {BotToken}, "channel": {ch}, "text": {"hi"}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			OK    bool   `json:"ok"`
			Error string `json:"error"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return body.Error
	}
	if e := post("C1"); e != "" {
		t.Fatalf("C1: %s, want ok", e)
	}
	if e := post("C2"); e != "channel_is_archived" {
		t.Fatalf("C2: %q, want the injected fault", e)
	}
	if e := post("C2"); e != "" {
		t.Fatalf("C2 again: %s, want ok (the fault applied once)", e)
	}
}
