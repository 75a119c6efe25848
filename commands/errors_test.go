package commands

import (
	"context"
	"errors"
	"fmt"
	"github.com/locksmithbot/locksmith/messages"
	"strings"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/partner"
)

// hostile is Partner Center text that would ping a whole channel, mention a
// user and plant a link if echoed raw into Slack.
const hostile = "<!channel> see <https://evil.example|docs> & <@U0BOSS>"

func TestPartnerProblem(t *testing.T) {
	ctx := partner.WithCorrelationID(context.Background(), "corr-ctx")
	tests := []struct {
		name    string
		err     error
		want    []string
		notWant []string
	}{
		{
			name: "throttled with Retry-After says how long to wait",
			err:  &partner.Error{Kind: partner.KindThrottled, Status: 429, RetryAfter: 42 * time.Second, CorrelationID: "corr-pe"},
			want: []string{"throttling", "try again in 42 seconds", "(ref `corr-pe`)"},
		},
		{
			name: "throttled with a fractional Retry-After rounds up",
			err:  &partner.Error{Kind: partner.KindThrottled, Status: 429, RetryAfter: 1500 * time.Millisecond},
			want: []string{"try again in 2 seconds"},
		},
		{
			name: "throttled without Retry-After says a minute",
			err:  &partner.Error{Kind: partner.KindThrottled, Status: 429},
			want: []string{"try again in a minute", "(ref `corr-ctx`)"},
		},
		{
			name:    "unavailable asks for a few minutes",
			err:     &partner.Error{Kind: partner.KindUnavailable, Status: 503, Description: hostile},
			want:    []string{"unavailable right now", "few minutes"},
			notWant: []string{"channel"},
		},
		{
			name:    "unauthorised points at the operator, not the technician",
			err:     &partner.Error{Kind: partner.KindUnauthorised, Status: 401, Code: "AADSTS50076", Description: "re-run the interactive sign-in " + hostile, CorrelationID: "corr-pe"},
			want:    []string{"credentials are not working", "an operator must fix them", "locksmith check", "(ref `corr-pe`)"},
			notWant: []string{"AADSTS50076", "interactive"},
		},
		{
			name:    "forbidden shows status and numeric code, never Partner Center's description",
			err:     &partner.Error{Kind: partner.KindForbidden, Status: 403, Code: "2000", Description: hostile, CorrelationID: "corr-pe"},
			want:    []string{"Partner Center refused: HTTP 403, code 2000.", "GDAP role", "(ref `corr-pe`)"},
			notWant: []string{"channel", "evil", "BOSS"},
		},
		{
			name: "forbidden with only a status",
			err:  &partner.Error{Kind: partner.KindForbidden, Status: 403},
			want: []string{"Partner Center refused: HTTP 403.", "relationship has ended"},
		},
		{
			name:    "a code that is not a number is server text and is left out",
			err:     &partner.Error{Kind: partner.KindForbidden, Status: 403, Code: "<!here>", Description: "denied"},
			want:    []string{"Partner Center refused: HTTP 403."},
			notWant: []string{"here", "denied"},
		},
		{
			name:    "rejected names the likely cause, not Partner Center's words",
			err:     &partner.Error{Kind: partner.KindRejected, Status: 400, Code: "1001", Description: "The password does not comply with the policy"},
			want:    []string{"rejected the request: HTTP 400, code 1001; for a reset this is usually the tenant's password policy", "log"},
			notWant: []string{"comply"},
		},
		{
			name:    "rejected with a description but no code",
			err:     &partner.Error{Kind: partner.KindRejected, Status: 409, Description: hostile},
			want:    []string{"rejected the request: HTTP 409;"},
			notWant: []string{"channel"},
		},
		{
			name: "not found",
			err:  &partner.Error{Kind: partner.KindNotFound, Status: 404},
			want: []string{"could not find it: HTTP 404"},
		},
		{
			name: "wrapped Partner Center error keeps its kind",
			err:  fmt.Errorf("reset: %w", &partner.Error{Kind: partner.KindForbidden, Status: 403, Description: hostile}),
			want: []string{"Partner Center refused: HTTP 403."},
		},
		{
			name: "a deadline outside Partner Center took too long",
			err:  fmt.Errorf("lookup: %w", context.DeadlineExceeded),
			want: []string{"took too long", "(ref `corr-ctx`)"},
		},
		{
			name:    "anything else is generic and shows no error text",
			err:     errors.New("boom " + hostile),
			want:    []string{"Something went wrong (ref `corr-ctx`)."},
			notWant: []string{"boom"},
		},
		{
			name: "a correlation ID of markup is escaped",
			err:  &partner.Error{Kind: partner.KindUnavailable, CorrelationID: "<!everyone>"},
			want: []string{"(ref `&lt;!everyone&gt;`)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := partnerProblem(ctx, messages.English, tt.err)
			wantContains(t, "partnerProblem", got, tt.want...)
			wantNotContains(t, "partnerProblem", got, tt.notWant...)
			// Nothing Partner Center sent may reach Slack unescaped.
			wantNotContains(t, "partnerProblem", got, "<!", "<@", "<http", "<#")
		})
	}
}

func TestPartnerProblem_NoCorrelationID(t *testing.T) {
	got := partnerProblem(context.Background(), messages.English, &partner.Error{Kind: partner.KindUnavailable})
	wantNotContains(t, "partnerProblem", got, "ref")
}

// Every kind, with markup in every field Partner Center controls, comes out
// without live Slack markup.
func TestPartnerProblem_NeverEchoesMarkup(t *testing.T) {
	kinds := []partner.Kind{partner.KindUnknown, partner.KindNotFound, partner.KindForbidden, partner.KindThrottled,
		partner.KindRejected, partner.KindUnauthorised, partner.KindUnavailable}
	for _, k := range kinds {
		t.Run(k.String(), func(t *testing.T) {
			err := &partner.Error{Kind: k, Status: 400, Code: "<!here>", Description: hostile, CorrelationID: "<!channel>", Op: "<!everyone>"}
			got := partnerProblem(context.Background(), messages.English, err)
			wantNotContains(t, "partnerProblem", got, "<!", "<@", "<http")
		})
	}
}

func TestClassifyResetFailure(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want resetFailure
	}{
		{"throttled: nothing changed", &partner.Error{Kind: partner.KindThrottled}, notApplied},
		{"credentials refused: nothing changed", &partner.Error{Kind: partner.KindUnauthorised}, notApplied},
		{"no password generated: nothing changed", fmt.Errorf("%w: entropy", errGeneratePassword), notApplied},
		{"unavailable after retries: may have applied", &partner.Error{Kind: partner.KindUnavailable}, maybeApplied},
		{"wrapped unavailable", fmt.Errorf("x: %w", &partner.Error{Kind: partner.KindUnavailable}), maybeApplied},
		{"deadline: may have applied", context.DeadlineExceeded, maybeApplied},
		{"cancelled: may have applied", context.Canceled, maybeApplied},
		{"unforeseen error: may have applied", errors.New("boom"), maybeApplied},
		{"rejected: refused", &partner.Error{Kind: partner.KindRejected}, refused},
		{"forbidden: refused", &partner.Error{Kind: partner.KindForbidden}, refused},
		{"not found: refused", &partner.Error{Kind: partner.KindNotFound}, refused},
		{"not found after an attempt that may have applied", &partner.Error{Kind: partner.KindNotFound, MaybeApplied: true}, maybeApplied},
		{"throttled after an attempt that may have applied", &partner.Error{Kind: partner.KindThrottled, MaybeApplied: true}, maybeApplied},
		{"credentials refused after an attempt that may have applied", fmt.Errorf("x: %w", &partner.Error{Kind: partner.KindUnauthorised, MaybeApplied: true}), maybeApplied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classifyResetFailure(tt.err); got != tt.want {
				t.Errorf("classifyResetFailure(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestPartnerDetail(t *testing.T) {
	err := fmt.Errorf("reset: %w", &partner.Error{Kind: partner.KindForbidden, Status: 403, Code: "2000", Description: "no GDAP", CorrelationID: "corr-9", Op: "reset password"})
	got := partnerDetail(err)
	if want := "forbidden: status 403, code 2000, correlation corr-9"; got != want {
		t.Errorf("partnerDetail = %q, want %q", got, want)
	}
	// Partner Center's description and a non-numeric code stay out of the trail.
	got = partnerDetail(&partner.Error{Kind: partner.KindRejected, Status: 400, Code: "PasswordPolicy", Description: "marker"})
	wantNotContains(t, "partnerDetail", got, "marker", "PasswordPolicy")
	if got := partnerDetail(errors.New("plain " + hostile)); strings.Contains(got, "plain") {
		t.Errorf("partnerDetail(plain) = %q: error text is for the log", got)
	}
	if !strings.HasPrefix(partnerDetail(&partner.Error{Kind: partner.KindThrottled, Status: 429}), "throttled: status 429") {
		t.Errorf("partnerDetail(throttled) = %q", partnerDetail(&partner.Error{Kind: partner.KindThrottled, Status: 429}))
	}
}
