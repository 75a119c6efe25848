package secret

import (
	"strings"
	"testing"
)

// A server that echoes the password back in any form (as sent, JSON-escaped as
// Slack and some encoders do, truncated, or split by its own words) must not
// get it into an error's text, which is logged.
func TestScrub_RedactsTransformedEchoes(t *testing.T) {
	const pw = "Ab3/x{Q9]p:N7,#m"
	for name, desc := range map[string]string{
		"exact":        "password " + pw + " fails policy",
		"json escaped": `password "Ab3\/x{Q9]p:N7,#m" fails policy`,
		"truncated":    "password Ab3/x{Q9]p:N",
		"tail only":    "…x{Q9]p:N7,#m was rejected",
		"split":        "chars Ab3/x and Q9]p:N7 are weak",
	} {
		t.Run(name, func(t *testing.T) {
			got := Scrub(desc, 300, pw)
			for i := 0; i+minEcho <= len(pw); i++ {
				if frag := pw[i : i+minEcho]; strings.Contains(got, frag) {
					t.Errorf("Scrub(%q) = %q: still holds %q of the password", desc, got, frag)
				}
			}
			if !strings.Contains(got, "[redacted]") {
				t.Errorf("Scrub(%q) = %q: nothing redacted", desc, got)
			}
		})
	}
	if got := Scrub("Access denied for this user", 300, pw); got != "Access denied for this user" {
		t.Errorf("ordinary text changed: %q", got)
	}
}

// Scrub keeps one line and cuts long text on a rune boundary.
func TestScrub_OneLineCappedOnRuneBoundary(t *testing.T) {
	got := Scrub(strings.Repeat("é", 400)+"\nsecond line", 300)
	if strings.Contains(got, "second") || len(got) > 300+len("…") || !strings.HasSuffix(got, "…") {
		t.Errorf("Scrub = %q (%d bytes)", got, len(got))
	}
}
