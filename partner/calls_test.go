package partner

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/internal/fakepartner"
)

func TestHeaders_EveryCall(t *testing.T) {
	h := newHarness(t)
	ctx := WithCorrelationID(ctxTimeout(t, 10*time.Second), "corr-slack-request-1")
	if _, err := h.c.User(ctx, tenantA, userID(1)); h.note(err) != nil {
		t.Fatal(err)
	}
	if _, err := h.c.User(ctxTimeout(t, 10*time.Second), tenantA, userID(1)); h.note(err) != nil {
		t.Fatal(err)
	}
	calls := h.calls("/v1/customers/")
	want := map[string]string{
		"Accept":                       "application/json",
		"X-Locale":                     "en-US",
		"MS-PartnerCenter-Application": "locksmith",
		"MS-CorrelationId":             "corr-slack-request-1",
	}
	for k, v := range want {
		if got := calls[0].Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if calls[0].Header.Get("Authorization") == "" || calls[0].Header.Get("Content-Type") != "" {
		t.Errorf("GET: want Authorization and no Content-Type")
	}
	r0, r1 := calls[0].Header.Get("MS-RequestId"), calls[1].Header.Get("MS-RequestId")
	if r0 == "" || r0 == r1 {
		t.Errorf("MS-RequestId must be new per logical call")
	}
	if c1 := calls[1].Header.Get("MS-CorrelationId"); c1 == "" || c1 == "corr-slack-request-1" {
		t.Errorf("without WithCorrelationID a fresh MS-CorrelationId is expected, got %q", c1)
	}
	if got := CorrelationID(ctx); got != "corr-slack-request-1" {
		t.Errorf("CorrelationID(ctx) = %q", got)
	}
}

// sameIDs fails unless every call carries the same MS-RequestId and MS-CorrelationId.
func sameIDs(t *testing.T, calls []fakepartner.Call, wantCorr string) {
	t.Helper()
	for i, c := range calls {
		if c.Header.Get("MS-RequestId") != calls[0].Header.Get("MS-RequestId") {
			t.Errorf("attempt %d changed MS-RequestId", i+1)
		}
		if c.Header.Get("MS-CorrelationId") != wantCorr {
			t.Errorf("attempt %d MS-CorrelationId = %q, want %q", i+1, c.Header.Get("MS-CorrelationId"), wantCorr)
		}
	}
}

func TestRetry(t *testing.T) {
	tests := []struct {
		name      string
		fault     fakepartner.Fault
		attempts  int
		wantWaits func([]time.Duration) bool
	}{
		{"429 then 200; Retry-After 7 honoured; same MS-RequestId",
			fakepartner.Fault{Status: 429, RetryAfter: "7", Times: 1}, 2,
			func(w []time.Duration) bool { return slices.Equal(w, []time.Duration{7 * time.Second}) }},
		{"429 with an HTTP date",
			fakepartner.Fault{Status: 429, RetryAfter: time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat), Times: 1}, 2,
			func(w []time.Duration) bool { return len(w) == 1 && w[0] > 25*time.Second && w[0] <= 30*time.Second }},
		{"429 without Retry-After backs off",
			fakepartner.Fault{Status: 429, Times: 1}, 2,
			func(w []time.Duration) bool { return len(w) == 1 && w[0] >= backoffBase/2 && w[0] <= backoffBase }},
		{"503 twice then 200; growing backoff",
			fakepartner.Fault{Status: 503, Times: 2}, 3,
			func(w []time.Duration) bool {
				return len(w) == 2 && w[0] <= backoffBase && w[1] >= backoffBase && w[1] <= 2*backoffBase
			}},
		// Go's transport itself replays a GET whose reused connection died, so
		// the client may or may not have waited.
		{"dropped connection then 200",
			fakepartner.Fault{DropConnection: true, Times: 1}, 2,
			func(w []time.Duration) bool { return len(w) <= 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ctx := WithCorrelationID(ctxTimeout(t, 2*time.Minute), "corr-retry")
			if err := h.note(h.c.CheckAuth(ctx)); err != nil {
				t.Fatal(err)
			}
			f := tt.fault
			f.PathContains = "/users/" + userID(1)
			h.fake.AddFault(f)
			if _, err := h.c.User(ctx, tenantA, userID(1)); h.note(err) != nil {
				t.Fatalf("User: %v", err)
			}
			calls := h.calls("/users/" + userID(1))
			if !tt.fault.DropConnection && len(calls) != tt.attempts {
				t.Errorf("attempts = %d, want %d", len(calls), tt.attempts)
			}
			sameIDs(t, calls, "corr-retry")
			if w := h.sleeps.waits(); !tt.wantWaits(w) {
				t.Errorf("waits = %v", w)
			}
		})
	}
}

func TestRetry_GivesUp(t *testing.T) {
	tests := []struct {
		name      string
		fault     fakepartner.Fault
		deadline  time.Duration
		want      Kind
		attempts  int
		waits     int
		retryFor  time.Duration
		ctxCaused bool
	}{
		{"503 forever; attempts bounded", fakepartner.Fault{Status: 503}, 10 * time.Second, KindUnavailable, 4, 3, 0, false},
		{"429 past the deadline; stop at once with Retry-After", fakepartner.Fault{Status: 429, RetryAfter: "57"},
			2 * time.Second, KindThrottled, 1, 0, 57 * time.Second, false},
		{"429 longer than anyone waits", fakepartner.Fault{Status: 429, RetryAfter: "600"},
			time.Hour, KindThrottled, 1, 0, 600 * time.Second, false},
		{"429 forever; attempts bounded", fakepartner.Fault{Status: 429, RetryAfter: "1"},
			10 * time.Second, KindThrottled, 4, 3, time.Second, false},
		{"backoff past the deadline; stop at once", fakepartner.Fault{Status: 502},
			50 * time.Millisecond, KindUnavailable, 1, 0, 0, false},
		{"hung server; per-attempt timeouts then the deadline", fakepartner.Fault{Delay: time.Minute},
			1500 * time.Millisecond, KindUnavailable, 3, 2, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.AttemptTimeout = 500 * time.Millisecond })
			if err := h.note(h.c.CheckAuth(ctxTimeout(t, 10*time.Second))); err != nil {
				t.Fatal(err)
			}
			f := tt.fault
			f.PathContains = "/users/" + userID(1)
			h.fake.AddFault(f)
			ctx := ctxTimeout(t, tt.deadline)
			_, err := h.c.User(ctx, tenantA, userID(1))
			e := h.wantKind(err, tt.want)
			if e.RetryAfter != tt.retryFor {
				t.Errorf("RetryAfter = %v, want %v", e.RetryAfter, tt.retryFor)
			}
			if tt.ctxCaused != errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("errors.Is(err, DeadlineExceeded) = %v, want %v", !tt.ctxCaused, tt.ctxCaused)
			}
			if n := len(h.calls("/users/" + userID(1))); tt.attempts > 0 && n != tt.attempts && !tt.ctxCaused {
				t.Errorf("attempts = %d, want %d", n, tt.attempts)
			}
			if w := h.sleeps.waits(); len(w) != tt.waits && !tt.ctxCaused {
				t.Errorf("waits = %v, want %d", w, tt.waits)
			}
			if e.RequestID == "" || e.Op != "get user" {
				t.Errorf("error lacks RequestID or Op: %+v", e)
			}
		})
	}
}

func TestRetry_AttemptTimeoutThenSuccess(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.AttemptTimeout = 200 * time.Millisecond })
	h.fake.AddFault(fakepartner.Fault{PathContains: "/users/" + userID(1), Delay: time.Minute, Times: 1})
	if _, err := h.c.User(ctxTimeout(t, 10*time.Second), tenantA, userID(1)); h.note(err) != nil {
		t.Fatalf("User after one hung attempt: %v", err)
	}
	calls := h.calls("/users/" + userID(1))
	if len(calls) != 2 {
		t.Fatalf("attempts = %d, want 2", len(calls))
	}
	sameIDs(t, calls, calls[0].Header.Get("MS-CorrelationId"))
}

func TestErrorKinds(t *testing.T) {
	tests := []struct {
		name   string
		status int
		code   any
		want   Kind
	}{
		{"400 rejected", 400, "800002", KindRejected},
		{"403 forbidden", 403, 900150, KindForbidden},
		{"404 not found", 404, 60002, KindNotFound},
		{"409 rejected", 409, "conflict", KindRejected},
		{"401 unauthorised after one renewal", 401, nil, KindUnauthorised},
		{"501 unavailable, not retried", 501, nil, KindUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.fake.AddFault(fakepartner.Fault{PathContains: "/users/" + userID(1), Status: tt.status, Code: tt.code})
			_, err := h.c.User(ctxTimeout(t, 10*time.Second), tenantA, userID(1))
			e := h.wantKind(err, tt.want)
			if e.Status != tt.status {
				t.Errorf("Status = %d, want %d", e.Status, tt.status)
			}
			if n := len(h.calls("/users/")); n > 2 {
				t.Errorf("attempts = %d; a %d is not retried", n, tt.status)
			}
		})
	}
}
