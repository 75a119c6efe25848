package bot

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/commands"
	"github.com/locksmithbot/locksmith/internal/fakeslack"
	"github.com/locksmithbot/locksmith/internal/secret"
)

// TestDeliverPassword_RedirectIsRefused: Slack's answer to chat.postEphemeral
// redirecting elsewhere is an error naming that host; the message with the
// password is not re-sent there, and the other host's "ok" is not success.
// It holds for the default HTTP client and for one the caller supplies.
func TestDeliverPassword_RedirectIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		mod    func(*Config)
	}{
		{"307, default client", 307, nil},
		{"308, default client", 308, nil},
		{"307, caller's client", 307, func(c *Config) { c.HTTPClient = &http.Client{Timeout: 5 * time.Second} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var reached atomic.Int32
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reached.Add(1)
				io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"ok":true,"message_ts":"1.2"}`)
			}))
			defer other.Close()
			b, fake, logs, ctx := messengerBot(t, tc.mod)
			fake.Fail("chat.postEphemeral", fakeslack.Failure{Status: tc.status, Location: other.URL + "/api/chat.postEphemeral"})
			err := b.DeliverPassword(ctx, alice, commands.Delivery{Password: secret.NewPassword(fakePassword), UserPrincipalName: "jdoe@contoso.com"})
			if err == nil {
				t.Fatal("a redirected delivery reported success")
			}
			host := strings.TrimPrefix(other.URL, "http://")
			if !strings.Contains(err.Error(), host) {
				t.Errorf("error %q does not name the host the redirect pointed to", err)
			}
			if n := reached.Load(); n != 0 {
				t.Errorf("the redirect target received %d requests; want none", n)
			}
			if n := fake.CallCount("chat.postEphemeral"); n != 1 {
				t.Errorf("%d chat.postEphemeral calls; a redirect is not retried", n)
			}
			if strings.Contains(err.Error(), fakePassword) || strings.Contains(logs.String(), fakePassword) {
				t.Errorf("the password appears in the error or the logs")
			}
		})
	}
}
