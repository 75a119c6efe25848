package commands

import (
	"fmt"
	"github.com/locksmithbot/locksmith/messages"
	"strings"
	"testing"
)

// neutralisedCodePoints are the characters no text locksmith puts into Slack
// may carry: direction overrides, embeddings and isolates (which make text
// read differently from what it is), marks, zero-width and other invisible
// format characters, line and paragraph separators, and C0/C1 controls.
var neutralisedCodePoints = []rune{
	'\u202a', '\u202b', '\u202c', '\u202d', '\u202e', // embeddings and overrides
	'\u2066', '\u2067', '\u2068', '\u2069', // isolates
	'\u200e', '\u200f', '\u061c', // marks
	'\u200b', '\ufeff', // zero-width space, byte order mark
	'\u2028', '\u2029', // line and paragraph separators
	'\u00ad', '\u2060', '\u2061', '\u2064', '\u206a', '\u206f', '\u180e', // other invisible format characters
	'\ufff9', '\ufffb', '\U000e0001', '\U000e0041', // interlinear annotation, tags
	'\x00', '\x07', '\x1b', '\x7f', '\u0085', '\u009b', // C0, DEL, C1
}

func TestIsNeutralised_EveryListedCodePoint(t *testing.T) {
	for _, r := range neutralisedCodePoints {
		if !isNeutralised(r) {
			t.Errorf("%U is not neutralised", r)
		}
	}
	// What text needs stays: joiners that scripts and emoji sequences use,
	// variation selectors, ordinary letters and spaces.
	for _, r := range []rune{'a', ' ', 'é', 'ß', 'ק', 'م', '中', '\u200c', '\u200d', '\ufe0f', '\u00a0', '😀'} {
		if isNeutralised(r) {
			t.Errorf("%U (%q) is neutralised, but text needs it", r, r)
		}
	}
}

func TestEscape_RemovesEveryNeutralisedCodePoint(t *testing.T) {
	for _, r := range neutralisedCodePoints {
		t.Run(fmt.Sprintf("%U", r), func(t *testing.T) {
			got := Escape("Con"+string(r)+"toso <Ltd>", 0)
			if strings.ContainsRune(got, r) {
				t.Fatalf("Escape kept %U: %q", r, got)
			}
			want := "Contoso &lt;Ltd&gt;"
			if r == '\u2028' || r == '\u2029' {
				want = "Con toso &lt;Ltd&gt;" // line breaks read as a space, like \n
			}
			if got != want {
				t.Errorf("Escape = %q, want %q", got, want)
			}
		})
	}
}

// Typed text is refused, not silently changed: the requester is told which
// character it was, and nothing else happens.
func TestParse_RejectsEveryNeutralisedCodePoint(t *testing.T) {
	for _, r := range neutralisedCodePoints {
		for _, where := range []string{"customer", "user", "reason"} {
			t.Run(fmt.Sprintf("%U in %s", r, where), func(t *testing.T) {
				parts := []string{"contoso.onmicrosoft.com", "alice@contoso.onmicrosoft.com", "INC-4711 locked out"}
				i := map[string]int{"customer": 0, "user": 1, "reason": 2}[where]
				parts[i] = parts[i][:3] + string(r) + parts[i][3:]
				got := Parse(strings.Join(parts, " "), messages.English)
				if got.Reply == "" {
					t.Fatalf("accepted %U in the %s: %+v", r, where, got)
				}
				if !strings.Contains(got.Reply, fmt.Sprintf("%U", r)) {
					t.Errorf("reply %q does not name %U", got.Reply, r)
				}
				if strings.ContainsRune(got.Reply, r) {
					t.Errorf("the reply echoes %U", r)
				}
			})
		}
	}
}
