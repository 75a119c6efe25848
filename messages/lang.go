package messages

import "strings"

// Lang is a language locksmith speaks.
type Lang string

// The languages of the catalogue. English is the fallback for everything else.
const (
	English  Lang = "en"
	Japanese Lang = "ja"
)

// Langs lists every language the catalogue ships, English first.
var Langs = []Lang{English, Japanese}

// ParseLang reads a language as people type it and as Slack reports a user's
// locale ("ja", "ja-JP", "ja_JP", "en-GB", "EN"): only the primary subtag
// counts. ok is false for an empty or unsupported language.
func ParseLang(s string) (Lang, bool) {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "-_"); i >= 0 {
		s = s[:i]
	}
	switch strings.ToLower(s) {
	case "en":
		return English, true
	case "ja":
		return Japanese, true
	}
	return "", false
}

// Or returns l, or fallback when l is empty.
func (l Lang) Or(fallback Lang) Lang {
	if l == "" {
		return fallback
	}
	return l
}
