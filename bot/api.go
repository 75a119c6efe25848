package bot

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/slack-go/slack"

	"github.com/locksmithbot/locksmith/commands"
	"github.com/locksmithbot/locksmith/internal/nofollow"
)

// Retry policy of call. slack-go retries nothing by default (OptionRetry would
// wait 60 s on a 429 without Retry-After and cannot be bounded by ctx), so the
// policy lives here.
const (
	maxAttempts    = 3
	serverBackoff  = 250 * time.Millisecond // first wait after a 5xx; doubles
	minRetryAfter  = 100 * time.Millisecond // a 429 with "Retry-After: 0" still waits a little
	maxServerRetry = 2                      // 5xx answers retried at most this often
)

// APIError is what every failed Slack call returns: the method and Slack's error
// code ("channel_not_found", "ratelimited", "http_503", "timeout"). It never holds
// a request body or a URL (a response_url is a bearer capability, and a request
// body may hold the password). errors.As still finds slack.SlackErrorResponse,
// *slack.RateLimitedError and slack.StatusCodeError through Unwrap.
type APIError struct {
	Method string
	Code   string
	Err    error
}

func (e *APIError) Error() string {
	if isAuthFailure(e.Code) {
		return "slack " + e.Method + ": " + e.Code + ": Slack refused SLACK_BOT_TOKEN; check the Bot User OAuth Token (OAuth & Permissions) and that the app is still installed"
	}
	return "slack " + e.Method + ": " + e.Code
}

// isAuthFailure reports whether a Slack error code means the token itself was
// refused, which only the operator can fix by changing the token.
func isAuthFailure(code string) bool {
	switch code {
	case "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired":
		return true
	}
	return false
}

// socketError explains why Socket Mode stopped for good. slack-go gives up at
// once when apps.connections.open refuses the app-level token.
func socketError(err error) error {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) && isAuthFailure(se.Err) {
		return fmt.Errorf("bot: socket mode: %s: Slack refused SLACK_APP_TOKEN; generate an app-level token with connections:write (Basic Information → App-Level Tokens): %w", se.Err, err)
	}
	if errors.As(err, &se) && se.Err == "not_allowed_token_type" {
		return fmt.Errorf("bot: socket mode: %s: SLACK_APP_TOKEN is not an app-level token: %w", se.Err, err)
	}
	return fmt.Errorf("bot: socket mode: %w", err)
}
func (e *APIError) Unwrap() error { return e.Err }

// RetryAfter is how long Slack asked to wait before the next message (a 429
// with Retry-After), or zero.
func (e *APIError) RetryAfter() time.Duration {
	var rl *slack.RateLimitedError
	if errors.As(e.Err, &rl) {
		return max(rl.RetryAfter, minRetryAfter)
	}
	return 0
}

// Permanent reports whether sending the same message again cannot succeed
// until someone changes something in Slack (the channel is gone or locksmith
// is not in it, the message breaks a limit, the user cannot be messaged).
// Throttling, server errors, timeouts and refused tokens are not: they pass,
// or the operator fixes them, and the message should then still arrive.
func (e *APIError) Permanent() bool {
	switch e.Code {
	case "channel_not_found", "not_in_channel", "is_archived", "msg_too_long", "no_text",
		"invalid_blocks", "invalid_blocks_format", "too_many_attachments", "invalid_arguments",
		"restricted_action", "restricted_action_read_only_channel", "restricted_action_thread_only_channel",
		"restricted_action_non_threadable_channel", "cant_update_message", "edit_window_closed", "message_not_found",
		"user_not_found", "user_not_visible", "user_disabled", "cannot_dm_bot", "messages_tab_disabled":
		return true
	}
	return false
}

// call runs fn, one Web API call (or response_url POST), under the rules every
// Slack call follows: each attempt gets CallTimeout; a 429 waits Retry-After and
// tries again; a 5xx is retried once or twice with backoff; nothing retries past
// maxAttempts or past ctx; every attempt is reported to ObserveCall. Timeouts and
// other errors are not retried: the call may have taken effect (a message posted).
func (b *Bot) call(ctx context.Context, method string, fn func(ctx context.Context) error) error {
	serverRetries := 0
	for attempt := 1; ; attempt++ {
		err := b.attempt(ctx, method, fn)
		if err == nil {
			return nil
		}
		var wait time.Duration
		var rl *slack.RateLimitedError
		var sc slack.StatusCodeError
		switch {
		case errors.As(err, &rl) && commands.IsPaced(ctx):
			// The outbox paces this channel itself and pauses it for every
			// waiting message at once; waiting here would hold one message
			// back while the others pile up behind it.
			return err
		case errors.As(err, &rl):
			wait = max(rl.RetryAfter, minRetryAfter)
		case errors.As(err, &sc) && sc.Code >= 500 && serverRetries < maxServerRetry:
			wait = serverBackoff << serverRetries
			serverRetries++
		default:
			return err
		}
		if attempt >= maxAttempts {
			return err
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return err // waiting would outlive the caller: fail now, with the real reason
		}
		if sleepCtx(ctx, wait) != nil {
			return err
		}
	}
}

// attempt makes one try of fn under CallTimeout and reports it.
func (b *Bot) attempt(ctx context.Context, method string, fn func(ctx context.Context) error) error {
	actx, cancel := context.WithTimeout(ctx, b.cfg.CallTimeout)
	defer cancel()
	start := time.Now()
	err := fn(actx)
	if err != nil {
		err = apiError(method, err)
	}
	if b.cfg.ObserveCall != nil {
		b.cfg.ObserveCall(method, err, time.Since(start))
	}
	return err
}

// apiError turns whatever slack-go returned into an *APIError with a short code
// and no URL or body in its text.
func apiError(method string, err error) *APIError {
	var (
		se  slack.SlackErrorResponse
		rl  *slack.RateLimitedError
		sc  slack.StatusCodeError
		ue  *url.Error
		re  *nofollow.RedirectError
		out = &APIError{Method: method, Err: err}
	)
	switch {
	case errors.As(err, &se):
		out.Code = se.Err
	case errors.As(err, &rl):
		out.Code = "ratelimited"
	case errors.As(err, &sc):
		out.Code = "http_" + strconv.Itoa(sc.Code)
	case errors.Is(err, context.DeadlineExceeded):
		out.Code = "timeout"
		out.Err = context.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		out.Code = "canceled"
		out.Err = context.Canceled
	case errors.As(err, &re):
		// Slack never redirects its Web API; the text names the host only.
		out.Code = "redirect_refused: " + re.Error()
		out.Err = re
	case errors.As(err, &ue):
		// *url.Error's text starts with the URL; keep only the cause.
		out.Code = "request_failed: " + ue.Err.Error()
		out.Err = ue.Err
	default:
		out.Code = err.Error()
	}
	return out
}
