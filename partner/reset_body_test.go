package partner

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/locksmithbot/locksmith/internal/secret"
)

func TestResetBody_ExactAndValidJSON(t *testing.T) {
	const want = `{"passwordProfile":{"password":"Renew456*","forceChangePassword":true},"attributes":{"objectType":"CustomerUser"}}`
	if got := string(resetBody(secret.NewPassword("Renew456*"))); got != want {
		t.Errorf("body differs from the documented one")
	}
	// Characters JSON must escape, and ones encoding/json would HTML-escape,
	// round-trip exactly.
	for _, pw := range []string{`a"b\c`, "tab\there", "<&>", "ünï©ødé", "ctl\x01\x1f", "bad\xffutf8"} {
		body := resetBody(secret.NewPassword(pw))
		var v struct {
			PasswordProfile struct {
				Password            string `json:"password"`
				ForceChangePassword bool   `json:"forceChangePassword"`
			} `json:"passwordProfile"`
		}
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("body is not JSON: %v", err)
		}
		wantPW := string(bytes.ToValidUTF8([]byte(pw), []byte("\uFFFD")))
		if v.PasswordProfile.Password != wantPW || !v.PasswordProfile.ForceChangePassword {
			t.Errorf("password did not round-trip through the body")
		}
	}
}
