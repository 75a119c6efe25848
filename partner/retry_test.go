package partner

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name   string
		value  string
		want   time.Duration
		wantOK bool
	}{
		{"seconds", "57", 57 * time.Second, true},
		{"zero", "0", 0, true},
		{"HTTP date", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{"date in the past", now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"missing", "", 0, false},
		{"negative", "-3", 0, false},
		{"garbage", "soon", 0, false},
		{"huge is capped at a day", "99999999999", 24 * time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseRetryAfter(tt.value, now)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("parseRetryAfter(%q) = (%v, %v), want (%v, %v)", tt.value, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestBackoff_GrowsJittersAndCaps(t *testing.T) {
	for n := 1; n <= 40; n++ {
		full := min(backoffBase<<min(n-1, 16), backoffCap)
		for range 50 {
			d := backoff(n)
			if d < full/2 || d > full {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", n, d, full/2, full)
			}
		}
	}
}

func TestRetryableStatus(t *testing.T) {
	for status, want := range map[int]bool{429: true, 500: true, 502: true, 503: true, 504: true,
		501: false, 505: false, 400: false, 401: false, 403: false, 404: false, 409: false} {
		if got := retryableStatus(status); got != want {
			t.Errorf("retryableStatus(%d) = %v, want %v", status, got, want)
		}
	}
}

func TestFitsDeadline(t *testing.T) {
	now := time.Now()
	if !fitsDeadline(context.Background(), time.Hour, now) {
		t.Errorf("no deadline: every wait fits")
	}
	ctx, cancel := context.WithDeadline(context.Background(), now.Add(time.Second))
	defer cancel()
	if !fitsDeadline(ctx, 500*time.Millisecond, now) {
		t.Errorf("500ms before a 1s deadline should fit")
	}
	if fitsDeadline(ctx, 2*time.Second, now) {
		t.Errorf("2s past a 1s deadline should not fit")
	}
}

func TestSleepCtx_StopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sleepCtx(ctx, time.Hour); err == nil {
		t.Errorf("sleepCtx on a cancelled context returned nil")
	}
	if err := sleepCtx(context.Background(), time.Millisecond); err != nil {
		t.Errorf("sleepCtx(1ms) = %v", err)
	}
}
