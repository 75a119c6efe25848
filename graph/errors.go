package graph

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/locksmithbot/locksmith/internal/secret"
)

// Kind says what went wrong, in terms the bot and the operator can act on.
type Kind int

const (
	// KindUnknown is the kind of an error that did not come from this package.
	KindUnknown Kind = iota
	// KindNotFound: the user or object does not exist (HTTP 404).
	KindNotFound
	// KindForbidden: the service account's GDAP roles (or the app's consented
	// permissions) do not allow this call (HTTP 403). Error.Advice names what is missing.
	KindForbidden
	// KindNoLicence: the tenant lacks the licence the data needs (PIM data
	// without Microsoft Entra ID P2 or ID Governance).
	KindNoLicence
	// KindThrottled: Graph answered 429 and waiting for Retry-After did not fit
	// the budget or the caller's deadline.
	KindThrottled
	// KindRejected: the request was refused as invalid (400, 409 and other 4xx),
	// e.g. a Temporary Access Pass lifetime outside the tenant's policy.
	KindRejected
	// KindNotConsented: locksmith's app has no service principal or consent in
	// the customer tenant (AADSTS65001): run `locksmith consent`.
	KindNotConsented
	// KindNoRelationship: the partner's service account cannot sign in to the
	// customer tenant at all, which under GDAP means no active relationship.
	KindNoRelationship
	// KindUnauthorised: the partner credential itself is unusable (refresh token
	// expired or revoked, client secret wrong); an operator must act.
	KindUnauthorised
	// KindUnavailable: 5xx, transport failures, timeouts after retries, a
	// redirect (never followed), or the caller's context ended.
	KindUnavailable
)

// String returns the kind as it reads in logs.
func (k Kind) String() string {
	switch k {
	case KindNotFound:
		return "not found"
	case KindForbidden:
		return "forbidden"
	case KindNoLicence:
		return "no licence"
	case KindThrottled:
		return "throttled"
	case KindRejected:
		return "rejected"
	case KindNotConsented:
		return "not consented"
	case KindNoRelationship:
		return "no GDAP relationship"
	case KindUnauthorised:
		return "unauthorised"
	case KindUnavailable:
		return "unavailable"
	default:
		return "unknown"
	}
}

// Error is every error this package returns from Graph or the token endpoint.
// Its text is safe for logs and for an operator: it never holds a response
// body, a token or a pass, and server text is scrubbed and capped.
type Error struct {
	Kind     Kind
	Op       string // what was being done: "read user", "create temporary access pass"
	TenantID string // the customer tenant
	Status   int    // HTTP status; 0 when no response was received
	Code     string // Graph error.code, or the AADSTS code / OAuth error of the token endpoint
	Message  string // Graph's or Entra's message, scrubbed, one line, capped
	// Advice is the operator's next step in one sentence ("run `locksmith consent
	// <tenant>`", "add Directory Readers to the GDAP relationship"); "" when
	// there is nothing specific to say.
	Advice          string
	ClientRequestID string // the client-request-id sent (the same on every retry)
	RequestID       string // Graph's request-id of the last attempt
	RetryAfter      time.Duration
	Err             error // transport or context error underneath, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("graph: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	b.WriteString(e.Kind.String())
	if e.Status != 0 || e.Code != "" {
		b.WriteString(" (")
		if e.Status != 0 {
			fmt.Fprintf(&b, "HTTP %d", e.Status)
			if e.Code != "" {
				b.WriteString(", ")
			}
		}
		if e.Code != "" {
			b.WriteString("code " + e.Code)
		}
		b.WriteString(")")
	}
	if e.Advice != "" {
		b.WriteString(": " + e.Advice)
	}
	if e.Message != "" {
		b.WriteString(" (Graph: " + e.Message + ")")
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, "; retry after %s", e.RetryAfter)
	}
	if e.TenantID != "" || e.ClientRequestID != "" {
		fmt.Fprintf(&b, " [tenant %s, client-request-id %s", e.TenantID, e.ClientRequestID)
		if e.RequestID != "" {
			b.WriteString(", request-id " + e.RequestID)
		}
		b.WriteString("]")
	}
	return b.String()
}

// Unwrap returns the transport or context error underneath.
func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of the first *Error in err's chain, or KindUnknown.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindUnknown
}

// Sentence is what a person in Slack should read about err: the advice when
// there is one, else what kind of failure it was. Graph's own text is left to
// the logs: it is not written for the reader and may quote directory data.
func Sentence(err error) string {
	var e *Error
	if !errors.As(err, &e) {
		return "Microsoft Graph could not be asked"
	}
	if e.Advice != "" {
		return e.Advice
	}
	switch e.Kind {
	case KindUnavailable:
		return "Microsoft Graph did not answer in time"
	case KindNotFound:
		return "Microsoft Graph does not know this user"
	case KindRejected:
		return "Microsoft Graph rejected the request"
	}
	return "Microsoft Graph answered " + e.Kind.String()
}

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
		return KindUnavailable
	}
}

// graphError is Graph's error body: {"error":{"code","message","innerError":{…}}}.
type graphError struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError struct {
			RequestID string `json:"request-id"`
		} `json:"innerError"`
	} `json:"error"`
}

// maxMessage caps server text kept in an error.
const maxMessage = 300

// clean prepares server text for an error (secret.Scrub): echoes of the
// call's secrets, a Temporary Access Pass included, are redacted even when
// JSON-escaped or truncated.
func clean(s string, secrets []string) string {
	return secret.Scrub(s, maxMessage, secrets...)
}

func decodeGraphError(body []byte, secrets []string) (code, msg, requestID string) {
	var ge graphError
	if json.Unmarshal(body, &ge) != nil {
		return "", "", ""
	}
	return clean(ge.Error.Code, nil), clean(ge.Error.Message, secrets), clean(ge.Error.InnerError.RequestID, nil)
}

// licenceCodes are Graph error codes (and message fragments) that mean the
// tenant lacks the licence for the data, not that access is forbidden.
var licenceMarkers = []string{"aadpremiumlicenserequired", "licens", "premium"}

func looksLikeLicence(code, msg string) bool {
	s := strings.ToLower(code + " " + msg)
	for _, m := range licenceMarkers {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}
