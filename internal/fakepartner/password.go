package fakepartner

import (
	"strings"
	"unicode/utf8"
)

// Entra's password rules for an admin reset (§8). The banned list is a small
// stand-in for Microsoft's unpublished global list: enough to exercise the 400.

const passwordSymbols = "@#$%^&*-_!+=[]{}|\\:',.?/`~\"();<>"

var bannedTerms = []string{"password", "contoso", "welcome", "letmein", "qwerty"}

// passwordProblem says why p would be rejected, or "" if it is acceptable. The
// message never contains the password.
func passwordProblem(p string) string {
	n := utf8.RuneCountInString(p)
	if n < 8 || n > 256 {
		return "The password must be between 8 and 256 characters long."
	}
	var upper, lower, digit, symbol bool
	for _, c := range p {
		switch {
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= '0' && c <= '9':
			digit = true
		case c == ' ':
		case c < utf8.RuneSelf && strings.ContainsRune(passwordSymbols, c):
			symbol = true
		default:
			return "The password contains a character that is not allowed."
		}
	}
	classes := 0
	for _, ok := range []bool{upper, lower, digit, symbol} {
		if ok {
			classes++
		}
	}
	if classes < 3 {
		return "The password must contain characters from at least three of: uppercase letters, lowercase letters, digits, symbols."
	}
	norm := strings.NewReplacer("0", "o", "1", "l", "$", "s", "@", "a").Replace(strings.ToLower(p))
	for _, t := range bannedTerms {
		if strings.Contains(norm, t) {
			return "Unfortunately, your password contains a word, phrase, or pattern that makes your password easily guessable. Please try again with a different password."
		}
	}
	return ""
}
