// Package retry holds the timing rules locksmith's HTTP clients (Partner
// Center, Microsoft Graph) share: jittered exponential backoff, Retry-After,
// which failures are worth another attempt, and waiting within a deadline.
package retry

import (
	"context"
	"crypto/tls"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Backoff returns the wait before attempt n+1 after attempt n (n ≥ 1) failed:
// exponential from base, capped at limit, with "equal jitter" (half fixed,
// half random) so that replicas hitting the same throttle do not retry in
// step and waits never collapse to zero.
func Backoff(n int, base, limit time.Duration) time.Duration {
	d := base << min(n-1, 16)
	if d > limit || d <= 0 {
		d = limit
	}
	half := d / 2
	return half + rand.N(half+1)
}

// ParseRetryAfter reads Retry-After as delay-seconds or an HTTP-date (RFC 9110
// §10.2.3), capped at a day. ok is false when the header is missing or
// unreadable.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(24*time.Hour/time.Second) {
			secs = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// Status reports whether a response status is worth another attempt: 429 and
// the 5xx statuses that describe a passing condition. 501 and 505 do not get
// better by asking again.
func Status(status int) bool {
	switch {
	case status == http.StatusTooManyRequests:
		return true
	case status == http.StatusNotImplemented, status == http.StatusHTTPVersionNotSupported:
		return false
	default:
		return status >= 500 && status <= 599
	}
}

// Transport reports whether a transport error (no response) is worth another
// attempt. Connection resets, refused connections, EOFs and per-attempt
// timeouts are; a certificate that does not verify is not.
func Transport(err error) bool {
	var cert *tls.CertificateVerificationError
	return !errors.As(err, &cert)
}

// Sleep waits for d or until ctx ends.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// FitsDeadline reports whether waiting d still leaves the context time to use
// it. Waiting past the deadline only to fail is worse than failing now with the
// real cause (say, a 429 and its Retry-After).
func FitsDeadline(ctx context.Context, d time.Duration, now time.Time) bool {
	dl, ok := ctx.Deadline()
	return !ok || now.Add(d).Before(dl)
}
