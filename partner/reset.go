package partner

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"unicode/utf8"

	"github.com/locksmithbot/locksmith/internal/secret"
)

// ResetPassword sets a temporary password on the user, who must change it at
// the next sign-in (forceChangePassword: true).
//
// It sends PATCH /v1/customers/{cid}/users/{uid}/resetpassword (the current
// docs) with the body
//
//	{"passwordProfile":{"password":…,"forceChangePassword":true},"attributes":{"objectType":"CustomerUser"}}
//
// retried on 429, 5xx and transport failures with the same MS-RequestId, which
// the docs make the idempotency key (§2.1). If Partner Center does not know
// that route, the same body goes once to PATCH /v1/customers/{cid}/users/{uid},
// the route of the older docs and the SDK (§6.1).
//
// "Route unknown" versus "user not found": Partner Center's ApiFault codes
// 60002 ("User object ID is not found") and 60003 ("Tenant not found") name the
// missing object, so a 404 carrying one is returned as KindNotFound at once. A
// 405, or a 404 without either code (no ApiFault at all, a gateway body, or the
// generic code 1000 "Not found" that an unknown route also gets), tries the
// older route. Erring towards the fallback is harmless: it sends the same body
// to a documented route, and for a user that is really missing it answers
// 60002 too, which is then returned.
//
// The response echoes the password (§6.2): it is drained and discarded unread.
func (c *Client) ResetPassword(ctx context.Context, tenantID, objectID string, pw secret.Password) error {
	const op = "reset password"
	if err := checkGUID(op, "tenant ID", tenantID); err != nil {
		return err
	}
	if err := checkGUID(op, "user object ID", objectID); err != nil {
		return err
	}
	if pw.IsZero() {
		return &Error{Kind: KindRejected, Op: op, Description: "empty password"}
	}
	// The body is not cleared after use: the transport may still be reading it
	// after Do returns, and the password lives on in pw's string anyway.
	body := resetBody(pw)

	corr := correlationFor(ctx, c.newID)
	userPath := "/v1/customers/" + tenantID + "/users/" + objectID
	err := c.do(ctx, &call{op: op, endpoint: "PATCH /v1/customers/{id}/users/{id}/resetpassword",
		method: http.MethodPatch, path: userPath + "/resetpassword", body: body,
		secrets: []string{pw.Reveal()}, correlationID: corr})
	var e *Error
	if err == nil || !errors.As(err, &e) || !routeUnknown(e) {
		return err
	}
	c.log.LogAttrs(ctx, slog.LevelWarn, "reset route unknown to Partner Center; using PATCH /users/{id}",
		slog.Int("status", e.Status), slog.String("request_id", e.RequestID), slog.String("correlation_id", corr))
	err = c.do(ctx, &call{op: op + " (users route)", endpoint: "PATCH /v1/customers/{id}/users/{id}",
		method: http.MethodPatch, path: userPath, body: body,
		secrets: []string{pw.Reveal()}, correlationID: corr})
	if err != nil && e.MaybeApplied {
		// What the first route's attempts may have done still stands.
		return markApplied(err)
	}
	return err
}

// routeUnknown reports whether a failed reset means the /resetpassword route
// itself is unknown (see ResetPassword).
func routeUnknown(e *Error) bool {
	switch e.Status {
	case http.StatusMethodNotAllowed:
		return true
	case http.StatusNotFound:
		return e.Code != codeUserNotFound && e.Code != codeTenantNotFound
	}
	return false
}

// ApiFault codes that name the missing object (§2.3).
const (
	codeUserNotFound   = "60002"
	codeTenantNotFound = "60003"
)

// resetBody builds the documented body byte for byte. It is written by hand
// rather than by encoding/json because secret.Password refuses to marshal (on
// purpose), and so that the password is not copied into encoding/json's
// pooled buffers.
func resetBody(pw secret.Password) []byte {
	const (
		head = `{"passwordProfile":{"password":"`
		tail = `","forceChangePassword":true},"attributes":{"objectType":"CustomerUser"}}`
	)
	p := pw.Reveal()
	b := make([]byte, 0, len(head)+2*len(p)+len(tail))
	b = append(b, head...)
	b = appendJSONString(b, p)
	return append(b, tail...)
}

// appendJSONString appends s's JSON string escape (without quotes): quote,
// backslash and control characters escaped, invalid UTF-8 replaced by U+FFFD,
// everything else as is.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	for i := 0; i < len(s); {
		ch := s[i]
		if ch < utf8.RuneSelf {
			switch {
			case ch == '"' || ch == '\\':
				b = append(b, '\\', ch)
			case ch < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[ch>>4], hex[ch&0xf])
			default:
				b = append(b, ch)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return b
}
