package commands

import (
	"strings"
	"unicode/utf8"
)

// slackEscaper replaces the three characters Slack gives meaning to in message
// text. With them escaped, user text cannot become a mention (<!channel>, <@U…>),
// a link (<http://x|y>) or a channel reference; Slack shows them literally.
var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Escape makes text safe to embed in a Slack message: & < > escaped, control
// and bidi-override characters removed (line breaks and tabs become spaces), and
// the result cut at max runes with a visible ellipsis when max > 0.
func Escape(text string, max int) string {
	text = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == utf8.RuneError:
			return -1
		case r == '\u202e' || r == '\u202d' || r == '\u2066' || r == '\u2067' || r == '\u2068' || r == '\u2069':
			// Bidirectional overrides can make text read differently from what it is.
			return -1
		}
		return r
	}, text)
	if max > 0 && utf8.RuneCountInString(text) > max {
		runes := []rune(text)
		text = string(runes[:max]) + "…"
	}
	return slackEscaper.Replace(text)
}
