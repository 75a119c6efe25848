package graph

import (
	"strings"
	"testing"
)

// Graph's error text goes through the same echo-proof redaction as Partner
// Center's: a Temporary Access Pass echoed JSON-escaped is still redacted.
func TestClean_RedactsEscapedEchoOfAPass(t *testing.T) {
	const pass = "x7/Kq2!mZp9#"
	got := clean(`the pass "x7\/Kq2!mZp9#" was not accepted`, []string{pass})
	if strings.Contains(got, "Kq2!") || !strings.Contains(got, "[redacted]") {
		t.Errorf("clean kept an echo of the pass: %q", got)
	}
}
