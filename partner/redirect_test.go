package partner

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/internal/fakepartner"
)

// elsewhere is a second host a redirect points to. It answers 200 to
// everything and records what reached it.
type elsewhere struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []string
}

func newElsewhere(t *testing.T) *elsewhere {
	e := &elsewhere{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		e.bodies = append(e.bodies, r.Method+" "+r.URL.Path+" "+string(b))
		e.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"stolen","token_type":"Bearer","expires_in":3600,"refresh_token":"x"}`)
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *elsewhere) host() string { return strings.TrimPrefix(e.URL, "http://") }

func (e *elsewhere) received() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.bodies)
}

// TestResetPassword_RedirectIsRefused: a 307/308 answer to the reset PATCH is
// an error naming the host it pointed to; the password goes nowhere else, and
// the other host's 200 is never taken for success.
func TestResetPassword_RedirectIsRefused(t *testing.T) {
	for _, status := range []int{307, 308} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			h := newHarness(t)
			other := newElsewhere(t)
			h.fake.AddFault(fakepartner.Fault{Method: http.MethodPatch, PathContains: "/resetpassword", Status: status,
				Location: other.URL + "/v1/customers/" + tenantA + "/users/" + userID(1) + "/resetpassword"})
			pw := h.newPassword()
			err := h.note(h.c.ResetPassword(ctxTimeout(t, 30*time.Second), tenantA, userID(1), pw))
			if err == nil {
				t.Fatal("a redirected reset reported success")
			}
			if !strings.Contains(err.Error(), other.host()) {
				t.Errorf("error %q does not name the host the redirect pointed to", err)
			}
			if KindOf(err) != KindRejected || MaybeApplied(err) {
				t.Errorf("kind %v, maybe applied %v; want rejected, not applied", KindOf(err), MaybeApplied(err))
			}
			if n := other.received(); n != 0 {
				t.Errorf("the redirect target received %d requests; want none", n)
			}
			if n := len(h.calls("/resetpassword")); n != 1 {
				t.Errorf("%d reset attempts; a redirect is not retried", n)
			}
		})
	}
}

// TestToken_RedirectIsRefused: the token request (refresh token, client
// secret) is never re-sent to the host a redirect names.
func TestToken_RedirectIsRefused(t *testing.T) {
	for _, status := range []int{307, 308} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			h := newHarness(t)
			other := newElsewhere(t)
			h.fake.AddFault(fakepartner.Fault{PathContains: "/oauth2/", Status: status, Location: other.URL + "/token"})
			err := h.note(h.c.CheckAuth(ctxTimeout(t, 30*time.Second)))
			if err == nil {
				t.Fatal("a redirected token request reported success")
			}
			if !strings.Contains(err.Error(), other.host()) {
				t.Errorf("error %q does not name the host the redirect pointed to", err)
			}
			if KindOf(err) != KindUnauthorised {
				t.Errorf("kind %v, want unauthorised (an operator must fix the authority URL)", KindOf(err))
			}
			if n := other.received(); n != 0 {
				t.Errorf("the redirect target received %d requests; want none", n)
			}
			if n := len(h.fake.TokenCalls()); n != 1 {
				t.Errorf("%d token calls; a redirect is not retried", n)
			}
		})
	}
}

// A caller's own HTTP client does not bring redirect-following back.
func TestConfigHTTPClient_StillRefusesRedirects(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.HTTPClient = &http.Client{Timeout: 10 * time.Second} })
	other := newElsewhere(t)
	h.fake.AddFault(fakepartner.Fault{Method: http.MethodPatch, PathContains: "/resetpassword", Status: 307, Location: other.URL + "/x"})
	if err := h.note(h.c.ResetPassword(ctxTimeout(t, 30*time.Second), tenantA, userID(1), h.newPassword())); err == nil {
		t.Fatal("a redirected reset reported success")
	}
	if n := other.received(); n != 0 {
		t.Errorf("the redirect target received %d requests; want none", n)
	}
}
