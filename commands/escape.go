package commands

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// slackEscaper replaces the three characters Slack gives meaning to in message
// text. With them escaped, user text cannot become a mention (<!channel>, <@U…>),
// a link (<http://x|y>) or a channel reference; Slack shows them literally.
var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// isNeutralised is the one definition of the characters locksmith never lets
// into Slack: Escape removes them from every text it shows (directory text
// from Partner Center, stored and typed text alike), and Parse refuses typed
// text that holds them. They are
//   - control characters (Unicode Cc: C0, DEL, C1), which Slack either drops or
//     shows as boxes, and which can end a line early in a log or a terminal;
//   - format characters (Unicode Cf): the bidirectional embeddings, overrides,
//     isolates and marks (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F,
//     U+061C), which make text read differently from what it is ("Contoso"
//     followed by U+202E shows the rest reversed), and the invisible ones
//     (U+200B zero-width space, U+FEFF, U+00AD soft hyphen, U+2060–U+2064,
//     the tag characters U+E0000–U+E007F, …), which make two different names
//     look the same or hide text;
//   - the line and paragraph separators U+2028 and U+2029.
//
// Two format characters are kept: U+200C and U+200D (zero-width non-joiner
// and joiner), which Persian, the Indic scripts and emoji sequences need, and
// which change neither direction nor what the text says.
func isNeutralised(r rune) bool {
	switch {
	case r == '\u200c' || r == '\u200d':
		return false
	case r == '\u2028' || r == '\u2029':
		return true
	}
	return unicode.In(r, unicode.Cc, unicode.Cf)
}

// Escape makes text safe to embed in a Slack message: & < > escaped, the
// characters isNeutralised names removed (line breaks and tabs become spaces,
// as do U+2028 and U+2029), invalid UTF-8 dropped, and the result cut at max
// runes with a visible ellipsis when max > 0.
func Escape(text string, max int) string {
	text = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t' || r == '\u2028' || r == '\u2029':
			return ' '
		case isNeutralised(r) || r == utf8.RuneError:
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
