// Package secret holds values that must never be printed: temporary passwords and
// credentials. Every way Go has of turning a value into text (fmt verbs, slog, JSON,
// encoding.TextMarshaler) yields a redaction marker; the only way to the real value
// is an explicit Reveal call, so `grep -rn Reveal` lists every place a secret leaves
// the process.
package secret

import (
	"errors"
	"fmt"
	"log/slog"
)

// Redacted is what every printed form of a secret shows.
const Redacted = "[redacted]"

// errMarshal is returned when code tries to serialise a secret: failing loudly is
// better than writing "[redacted]" into a request body or a database by accident.
var errMarshal = errors.New("secret: refusing to marshal a secret value")

// Password is a temporary password between its generation and the one ephemeral
// Slack message that hands it to the requester (guarantee 1 in docs/architecture.md).
type Password struct{ v string }

// NewPassword wraps a freshly generated password.
func NewPassword(v string) Password { return Password{v: v} }

// Reveal returns the password itself. Call it only where the password leaves the
// process on purpose: the Partner Center PATCH body and the ephemeral DM.
func (p Password) Reveal() string { return p.v }

// IsZero reports whether no password is held.
func (p Password) IsZero() bool { return p.v == "" }

// Len is the password's length in bytes (all generated characters are ASCII).
func (p Password) Len() int { return len(p.v) }

func (Password) String() string               { return Redacted }
func (Password) GoString() string             { return Redacted }
func (Password) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte(Redacted)) }
func (Password) LogValue() slog.Value         { return slog.StringValue(Redacted) }
func (Password) MarshalJSON() ([]byte, error) { return nil, errMarshal }
func (Password) MarshalText() ([]byte, error) { return nil, errMarshal }
func (*Password) UnmarshalJSON([]byte) error  { return errMarshal }

// Token is a credential: a client secret, an access or refresh token, a Slack token.
type Token struct{ v string }

// NewToken wraps a credential.
func NewToken(v string) Token { return Token{v: v} }

// Reveal returns the credential for the one place it is sent (an HTTP header or form).
func (t Token) Reveal() string { return t.v }

// IsZero reports whether no credential is held.
func (t Token) IsZero() bool { return t.v == "" }

func (Token) String() string               { return Redacted }
func (Token) GoString() string             { return Redacted }
func (Token) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte(Redacted)) }
func (Token) LogValue() slog.Value         { return slog.StringValue(Redacted) }
func (Token) MarshalJSON() ([]byte, error) { return nil, errMarshal }
func (Token) MarshalText() ([]byte, error) { return nil, errMarshal }
