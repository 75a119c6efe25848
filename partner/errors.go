package partner

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/locksmithbot/locksmith/internal/secret"
)

// Kind says what went wrong in terms the bot can answer precisely.
type Kind int

const (
	// KindUnknown is the kind of an error that did not come from this package.
	KindUnknown Kind = iota
	// KindNotFound: the customer, user or route does not exist (HTTP 404).
	KindNotFound
	// KindForbidden: the service account lacks the GDAP role or the relationship (HTTP 403).
	KindForbidden
	// KindThrottled: Partner Center answered 429 and retrying within the
	// context's deadline or the attempt budget was not possible; see Error.RetryAfter.
	KindThrottled
	// KindRejected: the request itself was refused (400, 409 and other 4xx),
	// e.g. a password that fails the tenant's policy.
	KindRejected
	// KindUnauthorised: the credential is not usable (HTTP 401, or the token
	// endpoint refused the refresh token or client secret). An operator must act;
	// Error.Description says what to do.
	KindUnauthorised
	// KindUnavailable: 5xx, transport failures and timeouts, after retries; or
	// the caller's context ended.
	KindUnavailable
)

// String returns the kind as it reads in logs.
func (k Kind) String() string {
	switch k {
	case KindNotFound:
		return "not found"
	case KindForbidden:
		return "forbidden"
	case KindThrottled:
		return "throttled"
	case KindRejected:
		return "rejected"
	case KindUnauthorised:
		return "unauthorised"
	case KindUnavailable:
		return "unavailable"
	default:
		return "unknown"
	}
}

// Error is every error this package returns from a Partner Center or token call.
//
// Its Error text is safe for logs: it carries the operation, the HTTP status, the
// server's code and a length-capped description scrubbed of the call's secrets,
// never a response body and never a token or password.
type Error struct {
	Kind   Kind
	Status int    // HTTP status; 0 when no response was received
	Code   string // ApiFault code (a number or a string in the JSON) or the AADSTS/OAuth error
	// Description is the server's description, or for KindUnauthorised from the
	// token endpoint the operator's next step.
	Description   string
	Op            string // what was being done, e.g. "reset password"
	RequestID     string // MS-RequestId of the logical call (the same on each retry)
	CorrelationID string // MS-CorrelationId
	RetryAfter    time.Duration
	Err           error // the underlying transport or context error, if any
	// MaybeApplied is set on a write (the reset PATCH) when an attempt may
	// have reached Partner Center and been carried out: a 5xx, or a
	// connection lost or timed out after the request was written. It stays set
	// whatever later attempts answer (a 429, 400, 401, 403 or 404 says nothing
	// about what an earlier attempt did), so Kind describes the last answer and
	// MaybeApplied what may already have happened.
	MaybeApplied bool
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("partner: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	b.WriteString(e.Kind.String())
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d", e.Status)
		if e.Code != "" {
			fmt.Fprintf(&b, ", code %s", e.Code)
		}
		b.WriteString(")")
	} else if e.Code != "" {
		fmt.Fprintf(&b, " (code %s)", e.Code)
	}
	if e.Description != "" {
		b.WriteString(": ")
		b.WriteString(e.Description)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, "; retry after %s", e.RetryAfter)
	}
	if e.MaybeApplied {
		b.WriteString("; an earlier attempt may have been applied")
	}
	if e.RequestID != "" || e.CorrelationID != "" {
		fmt.Fprintf(&b, " [request %s, correlation %s]", e.RequestID, e.CorrelationID)
	}
	return b.String()
}

// Unwrap returns the transport or context error underneath, so errors.Is(err,
// context.DeadlineExceeded) works.
func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of the first *Error in err's chain, or KindUnknown.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindUnknown
}

// MaybeApplied reports whether err is a Partner Center write that may have
// been carried out although it failed (see Error.MaybeApplied).
func MaybeApplied(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.MaybeApplied
}

// markApplied returns err with MaybeApplied set when it is an *Error (a copy:
// errors are values once returned), and err unchanged otherwise.
func markApplied(err error) error {
	var e *Error
	if !errors.As(err, &e) || e.MaybeApplied {
		return err
	}
	e2 := *e
	e2.MaybeApplied = true
	return &e2
}

// kindForStatus maps an HTTP status to a Kind (§2.3).
func kindForStatus(status int) Kind {
	switch {
	case status == http.StatusNotFound:
		return KindNotFound
	case status == http.StatusForbidden:
		return KindForbidden
	case status == http.StatusUnauthorized:
		return KindUnauthorised
	case status == http.StatusTooManyRequests:
		return KindThrottled
	case status >= 500:
		return KindUnavailable
	case status >= 400:
		return KindRejected
	default:
		return KindUnknown
	}
}

// maxDescription caps a server description in an error: ApiFault allows 1024
// characters, more than a log line or a Slack reply needs.
const maxDescription = 300

// apiFault is Partner Center's error body (§2.3). code is a string in the docs
// and a number in real responses, so it is decoded raw. The 429 gateway body
// ({statusCode, message}) shares the decode through Message.
type apiFault struct {
	Code        json.RawMessage `json:"code"`
	Description string          `json:"description"`
	Message     string          `json:"message"`
}

// decodeFault reads an error body: an ApiFault, or the gateway's 429 body.
// Anything else (empty, HTML, other JSON) yields empty strings. The description
// is scrubbed of secrets and capped; the raw body is never kept.
func decodeFault(body []byte, secrets []string) (code, desc string) {
	body = bytes.TrimPrefix(body, bom)
	var f apiFault
	if json.Unmarshal(body, &f) != nil {
		return "", ""
	}
	desc = f.Description
	if desc == "" {
		desc = f.Message
	}
	return rawCode(f.Code), clean(desc, secrets)
}

// rawCode turns a JSON number or string into its text; anything else is dropped.
func rawCode(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return clean(s, nil)
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// clean prepares server text for an error (secret.Scrub). Such text only ever
// reaches the log: the workflow keeps it out of Slack and the database.
func clean(s string, secrets []string) string {
	return secret.Scrub(s, maxDescription, secrets...)
}

var bom = []byte("\xef\xbb\xbf")
