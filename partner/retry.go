package partner

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

// Retry timing. The SDK backs off 0.5 s, 1.5 s, 3.5 s (§2.1); these are close,
// jittered so that replicas hitting the same throttle do not retry in step.
const (
	backoffBase = 200 * time.Millisecond
	backoffCap  = 8 * time.Second
	// maxRetryAfter is the longest Retry-After the client waits out when the
	// context has no deadline. Longer waits surface as KindThrottled with
	// RetryAfter set, for the bot to relay: nobody in Slack waits ten minutes.
	maxRetryAfter = 2 * time.Minute
)

// backoff returns the wait before attempt n+1 after attempt n (n ≥ 1) failed:
// exponential from backoffBase, capped, with "equal jitter" (half fixed, half
// random) so waits never collapse to zero.
func backoff(n int) time.Duration {
	d := backoffBase << min(n-1, 16)
	if d > backoffCap || d <= 0 {
		d = backoffCap
	}
	half := d / 2
	return half + rand.N(half+1)
}

// parseRetryAfter reads Retry-After as delay-seconds or an HTTP-date (RFC 9110
// §10.2.3). ok is false when the header is missing or unreadable.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
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

// retryableStatus reports whether a response status is worth another attempt:
// 429 and the 5xx statuses that describe a passing condition. 501 and 505 do
// not get better by asking again.
func retryableStatus(status int) bool {
	switch {
	case status == http.StatusTooManyRequests:
		return true
	case status == http.StatusNotImplemented, status == http.StatusHTTPVersionNotSupported:
		return false
	default:
		return status >= 500 && status <= 599
	}
}

// retryableTransport reports whether a transport error (no response) is worth
// another attempt. Connection resets, refused connections, EOFs and per-attempt
// timeouts are; a certificate that does not verify is not.
func retryableTransport(err error) bool {
	var cert *tls.CertificateVerificationError
	return !errors.As(err, &cert)
}

// sleepCtx waits for d or until ctx ends. It is Client.sleep's default; tests
// replace it to record waits instead of taking them.
func sleepCtx(ctx context.Context, d time.Duration) error {
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

// fitsDeadline reports whether waiting d still leaves the context time to use
// it. Waiting past the deadline only to fail is worse than failing now with the
// real cause (say, a 429 and its Retry-After).
func fitsDeadline(ctx context.Context, d time.Duration, now time.Time) bool {
	dl, ok := ctx.Deadline()
	return !ok || now.Add(d).Before(dl)
}
