package partner

import (
	"context"
	"time"

	"github.com/locksmithbot/locksmith/internal/retry"
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

// backoff returns the wait before attempt n+1 after attempt n (n ≥ 1) failed.
func backoff(n int) time.Duration { return retry.Backoff(n, backoffBase, backoffCap) }

// parseRetryAfter reads Retry-After as delay-seconds or an HTTP-date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	return retry.ParseRetryAfter(v, now)
}

// retryableStatus reports whether a response status is worth another attempt.
func retryableStatus(status int) bool { return retry.Status(status) }

// retryableTransport reports whether a transport error is worth another attempt.
func retryableTransport(err error) bool { return retry.Transport(err) }

// sleepCtx waits for d or until ctx ends. It is Client.sleep's default; tests
// replace it to record waits instead of taking them.
func sleepCtx(ctx context.Context, d time.Duration) error { return retry.Sleep(ctx, d) }

// fitsDeadline reports whether waiting d still leaves the context time to use it.
func fitsDeadline(ctx context.Context, d time.Duration, now time.Time) bool {
	return retry.FitsDeadline(ctx, d, now)
}
