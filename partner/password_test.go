package partner

import (
	"runtime"
	"strings"
	"sync"
	"testing"
)

// entraSymbols is Entra's accepted symbol set (docs/partner-center.md §8).
const entraSymbols = "@#$%^&*-_!+=[]{}|\\:',.?/`~\"();<>"

// forbidden are the characters locksmith keeps out (docs/partner-center.md §8):
// Slack markup, quotes, and look-alikes.
const forbidden = "&<>`*_~\\\"'|0Oo1lI "

func checkPassword(t *testing.T, p string, length int) {
	t.Helper()
	if len(p) != length {
		t.Fatalf("len = %d, want %d", len(p), length)
	}
	var upper, lower, digit, symbol bool
	for _, r := range p {
		switch {
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= '0' && r <= '9':
			digit = true
		case strings.ContainsRune(entraSymbols, r):
			symbol = true
		default:
			t.Fatalf("character outside Entra's set (not printed)")
		}
		if strings.ContainsRune(forbidden, r) {
			t.Fatalf("forbidden character %q present", r)
		}
	}
	if !upper || !lower || !digit || !symbol {
		t.Fatalf("classes upper=%v lower=%v digit=%v symbol=%v, want all", upper, lower, digit, symbol)
	}
}

func TestGeneratePassword_RulesAndUniqueness(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	// Draw on every CPU (the generator is safe for concurrent use) and check
	// here; the race detector makes a single-threaded run slow.
	workers := runtime.GOMAXPROCS(0)
	out := make([][]string, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range n / workers {
				pw, err := GeneratePassword(0)
				if err != nil {
					errs[w] = err
					return
				}
				out[w] = append(out[w], pw.Reveal())
			}
		})
	}
	wg.Wait()
	seen := make(map[string]struct{}, n)
	for w := range workers {
		if errs[w] != nil {
			t.Fatal(errs[w])
		}
		for _, p := range out[w] {
			checkPassword(t, p, DefaultPasswordLength)
			if _, dup := seen[p]; dup {
				t.Fatalf("duplicate password after %d draws", len(seen))
			}
			seen[p] = struct{}{}
		}
	}
	if len(seen) < n-workers {
		t.Fatalf("checked %d passwords, want %d", len(seen), n)
	}
}

func TestGeneratePassword_Lengths(t *testing.T) {
	for _, length := range []int{MinPasswordLength, 13, 16, 31, 64, MaxPasswordLength} {
		for range 200 {
			pw, err := GeneratePassword(length)
			if err != nil {
				t.Fatalf("GeneratePassword(%d): %v", length, err)
			}
			checkPassword(t, pw.Reveal(), length)
		}
	}
	for _, bad := range []int{-1, 1, 8, MinPasswordLength - 1, MaxPasswordLength + 1} {
		if _, err := GeneratePassword(bad); err == nil {
			t.Errorf("GeneratePassword(%d) succeeded, want an error", bad)
		}
	}
}

// TestGeneratePassword_EveryCharacterUsed checks the alphabet is what the
// constants say, and that every allowed symbol can appear.
func TestGeneratePassword_EveryCharacterUsed(t *testing.T) {
	want := pwLower + pwUpper + pwDigits + pwSymbols
	for _, r := range want {
		if strings.ContainsRune(forbidden, r) {
			t.Errorf("alphabet contains forbidden %q", r)
		}
		if r > 0x7e || (!strings.ContainsRune(entraSymbols, r) && !(r >= 'a' && r <= 'z') && !(r >= 'A' && r <= 'Z') && !(r >= '0' && r <= '9')) {
			t.Errorf("alphabet contains %q, which Entra does not accept", r)
		}
	}
	seen := map[rune]bool{}
	for range 3000 {
		pw, err := GeneratePassword(64)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range pw.Reveal() {
			seen[r] = true
		}
	}
	for _, r := range want {
		if !seen[r] {
			t.Errorf("character %q never drawn in 3000 passwords", r)
		}
	}
}

func TestGeneratePassword_NeverPrints(t *testing.T) {
	pw, err := GeneratePassword(0)
	if err != nil {
		t.Fatal(err)
	}
	if s := pw.String(); strings.Contains(s, pw.Reveal()) {
		t.Errorf("String() shows the password")
	}
}

func BenchmarkGeneratePassword(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := GeneratePassword(DefaultPasswordLength); err != nil {
			b.Fatal(err)
		}
	}
}
