package secret

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Scrub prepares a server's text (an error description from Partner Center,
// Graph or Entra) for an error string or a log line: it redacts anything that
// could be an echo of the call's secrets (a password or Temporary Access Pass
// being set, a refresh token or client secret being sent), keeps the first
// line, and caps the length at max bytes on a rune boundary. Servers are not
// known to echo secrets in their error text; this makes sure of it, including
// copies that were JSON-escaped, truncated or split (see RedactEchoes).
func Scrub(s string, max int, secrets ...string) string {
	for _, sec := range secrets {
		s = RedactEchoes(s, sec)
	}
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	if max > 0 && len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// minEcho is the shortest run of a secret's characters that RedactEchoes
// treats as a copy of it. Short enough to catch a secret cut into pieces or
// truncated by the server, long enough that ordinary words rarely trip it (a
// secret is random text).
const minEcho = 4

// RedactEchoes replaces every run of at least minEcho bytes of s that also
// occurs in secret, or in secret as a JSON or Slack-style JSON string would
// carry it (\/, \uXXXX), with Redacted. So an exact copy, a JSON-escaped copy, a
// truncated copy and a copy split by the server's own words are all caught; the
// cost is an occasional harmless redaction of a word that happens to occur in
// the secret.
func RedactEchoes(s, secret string) string {
	if secret == "" || s == "" {
		return s
	}
	variants := []string{secret}
	if b, err := json.Marshal(secret); err == nil {
		esc := string(b[1 : len(b)-1])
		variants = append(variants, esc, strings.ReplaceAll(esc, "/", `\/`))
	}
	for _, v := range variants {
		need := min(minEcho, len(v))
		var b strings.Builder
		changed := false
		for i := 0; i < len(s); {
			n := longestRunIn(s[i:], v)
			if n >= need {
				b.WriteString(Redacted)
				i += n
				changed = true
				continue
			}
			b.WriteByte(s[i])
			i++
		}
		if changed {
			s = b.String()
		}
	}
	return s
}

// longestRunIn returns the length of the longest prefix of s that occurs in v.
func longestRunIn(s, v string) int {
	n := 0
	for n < len(s) && strings.Contains(v, s[:n+1]) {
		n++
	}
	return n
}
