package partner

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sethvargo/go-password/password"

	"github.com/locksmithbot/locksmith/internal/secret"
)

// Temporary password lengths. Entra allows 8–256 (§8); twelve is locksmith's
// floor.
const (
	MinPasswordLength     = 12
	MaxPasswordLength     = 256
	DefaultPasswordLength = 16
)

// The alphabet (docs/partner-center.md §8). Letters and digits lose the look-alikes
// 0 O o l 1 I (the requester reads the password out over the phone). Symbols
// are Entra's set (§8) minus what Slack renders as markup or people misread:
// & < > ` * _ ~ \ " ' and |.
const (
	pwLower   = "abcdefghijkmnpqrstuvwxyz"
	pwUpper   = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	pwDigits  = "23456789"
	pwSymbols = "@#$%^-!+=[]{}:,.?/();"
)

// generator draws from crypto/rand (go-password's default reader) and is safe
// for concurrent use.
var generator = func() *password.Generator {
	g, err := password.NewGenerator(&password.GeneratorInput{
		LowerLetters: pwLower, UpperLetters: pwUpper, Digits: pwDigits, Symbols: pwSymbols,
	})
	if err != nil {
		panic(err)
	}
	return g
}()

// errNoClasses is returned if, against all odds, no draw had every class.
var errNoClasses = errors.New("partner: password generator failed to include every character class")

// GeneratePassword returns a random temporary password of length characters
// (0 means DefaultPasswordLength) with at least one upper-case letter, one
// lower-case letter, one digit and one symbol, so that it passes Entra's
// complexity rule (3 of 4 classes) with a class to spare.
//
// length/8 characters (at least one) are digits and as many are symbols; the
// rest are letters. go-password does not promise that the letters include both
// cases, so a draw lacking one is thrown away and drawn again: rejection keeps
// the result uniform over the passwords that qualify.
func GeneratePassword(length int) (secret.Password, error) {
	if length == 0 {
		length = DefaultPasswordLength
	}
	if length < MinPasswordLength || length > MaxPasswordLength {
		return secret.Password{}, fmt.Errorf("partner: password length %d is outside %d..%d",
			length, MinPasswordLength, MaxPasswordLength)
	}
	n := max(1, length/8)
	for range 100 {
		s, err := generator.Generate(length, n, n, false, true)
		if err != nil {
			return secret.Password{}, fmt.Errorf("partner: generating a password: %w", err)
		}
		if strings.ContainsAny(s, pwUpper) && strings.ContainsAny(s, pwLower) {
			return secret.NewPassword(s), nil
		}
	}
	return secret.Password{}, errNoClasses
}
