package partner

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/internal/fakepartner"
	"github.com/locksmithbot/locksmith/internal/secret"
)

// Fixtures seeded into the fake by seed.
const (
	tenantA    = "0a0a0a0a-1111-4222-8333-444444444444" // Contoso Ltd, contoso.com
	tenantB    = "0b0b0b0b-1111-4222-8333-444444444444" // Contoso Australia, contoso.com.au
	tenantC    = "0c0c0c0c-1111-4222-8333-444444444444" // Contoso Labs, contosolabs.onmicrosoft.com
	tenantGone = "0d0d0d0d-1111-4222-8333-444444444444" // relationship none
	tenantNone = "0e0e0e0e-1111-4222-8333-444444444444" // never added
)

// userID returns the object ID of seeded user i.
func userID(i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i) }

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// sleepRecorder replaces Client.sleep: it records each wait and returns at
// once, so a 57 s Retry-After costs nothing.
type sleepRecorder struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleepRecorder) waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

type observation struct {
	endpoint string
	status   int
}

// harness is a Client wired to a fresh fakepartner, with every log line and
// every error text kept for the secret scan at cleanup.
type harness struct {
	t      testing.TB
	fake   *fakepartner.Server
	c      *Client
	cfg    Config
	store  *MemoryTokenStore
	logs   *syncBuffer
	sleeps *sleepRecorder

	mu              sync.Mutex
	errTexts        []string
	secrets         []string // extra canaries (passwords a test used)
	observed        []observation
	allowUnexpected bool
}

func newHarness(t testing.TB, mutate ...func(*Config)) *harness {
	t.Helper()
	fake := fakepartner.New()
	t.Cleanup(fake.Close)
	h := &harness{t: t, fake: fake, store: NewMemoryTokenStore(), logs: &syncBuffer{}, sleeps: &sleepRecorder{}}
	h.cfg = Config{
		BaseURL:        fake.URL(),
		AuthorityHost:  fake.AuthorityURL(),
		TenantID:       fakepartner.TenantID,
		ClientID:       fakepartner.ClientID,
		ClientSecret:   secret.NewToken(fakepartner.ClientSecret),
		RefreshToken:   secret.NewToken(fake.InitialRefreshToken()),
		Tokens:         h.store,
		Logger:         slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		AttemptTimeout: 5 * time.Second,
		Observe: func(endpoint string, status int, _ time.Duration) {
			h.mu.Lock()
			h.observed = append(h.observed, observation{endpoint, status})
			h.mu.Unlock()
		},
	}
	for _, m := range mutate {
		m(&h.cfg)
	}
	h.c = h.newClient(h.cfg)
	seed(fake)
	t.Cleanup(h.checkNoSecrets)
	return h
}

// newClient builds another client (sharing the harness's sleeps and logs).
func (h *harness) newClient(cfg Config) *Client {
	h.t.Helper()
	c, err := New(cfg)
	if err != nil {
		h.t.Fatalf("New: %v", err)
	}
	c.sleep = h.sleeps.sleep
	return c
}

func seed(f *fakepartner.Server) {
	f.AddCustomer(fakepartner.Customer{TenantID: tenantA, Name: "Contoso Ltd", Domain: "contoso.com"})
	f.AddCustomer(fakepartner.Customer{TenantID: tenantB, Name: "Contoso Australia", Domain: "contoso.com.au"})
	f.AddCustomer(fakepartner.Customer{TenantID: tenantC, Name: "Contoso Labs", Domain: "contosolabs.onmicrosoft.com"})
	f.AddCustomer(fakepartner.Customer{TenantID: tenantGone, Name: "Fabrikam", Domain: "fabrikam.com", Relationship: "none"})
	synced := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := 1; i <= 7; i++ {
		u := fakepartner.User{ObjectID: userID(i), UPN: fmt.Sprintf("user%d@contoso.com", i),
			FirstName: "User", LastName: fmt.Sprint(i), DisplayName: fmt.Sprintf("User %d", i)}
		switch i {
		case 2:
			u.Roles = []fakepartner.Role{{TemplateID: tmplHelpdeskAdministrator}}
		case 3:
			u.Roles = []fakepartner.Role{{TemplateID: tmplGlobalAdministrator}}
		case 4:
			u.Roles = []fakepartner.Role{{TemplateID: tmplUserAdministrator}, {TemplateID: tmplDirectoryReaders}}
		case 5:
			u.Roles = []fakepartner.Role{{TemplateID: "5d6b6bb7-de71-4623-b4af-96380a352509", Name: "Custom Role"}}
		case 6:
			u.LastDirectorySyncTime = &synced
		}
		f.AddUser(tenantA, u)
	}
}

// note records err's text for the secret scan and returns err.
func (h *harness) note(err error) error {
	if err != nil {
		h.mu.Lock()
		h.errTexts = append(h.errTexts, err.Error())
		h.mu.Unlock()
	}
	return err
}

// canary adds a secret the scan must not find.
func (h *harness) canary(s string) {
	h.mu.Lock()
	h.secrets = append(h.secrets, s)
	h.mu.Unlock()
}

// wantKind fails unless err is an *Error of kind want.
func (h *harness) wantKind(err error, want Kind) *Error {
	h.t.Helper()
	h.note(err)
	if KindOf(err) != want {
		h.t.Fatalf("err = %v, want kind %v", err, want)
	}
	e, _ := err.(*Error)
	return e
}

// checkNoSecrets scans every log line and error text for every secret the
// test saw: the client secret, every refresh token sent or issued, every
// access token presented, every password reset or attempted.
func (h *harness) checkNoSecrets() {
	h.t.Helper()
	canaries := []canary{{"client secret", fakepartner.ClientSecret}, {"initial refresh token", h.fake.InitialRefreshToken()}}
	for _, tc := range h.fake.TokenCalls() {
		canaries = append(canaries, canary{"issued refresh token", tc.IssuedRefreshToken},
			canary{"redeemed refresh token", tc.Form.Get("refresh_token")}, canary{"sent client secret", tc.Form.Get("client_secret")})
	}
	for _, c := range h.fake.Calls() {
		if _, tok, ok := strings.Cut(c.Header.Get("Authorization"), " "); ok {
			canaries = append(canaries, canary{"access token", tok})
		}
	}
	for _, r := range h.fake.Resets() {
		canaries = append(canaries, canary{"reset password", r.Password})
	}
	h.mu.Lock()
	for _, s := range h.secrets {
		canaries = append(canaries, canary{"test canary", s})
	}
	texts := append([]string{h.logs.String()}, h.errTexts...)
	h.mu.Unlock()
	for _, where := range leaks(texts, canaries) {
		h.t.Errorf("a secret appears in %s", where)
	}
	if u := h.fake.Unexpected(); len(u) > 0 && !h.allowUnexpected {
		h.t.Errorf("requests the fake does not serve: %q", u)
	}
}

// canary is a secret the scan looks for; kind names it in a failure.
type canary struct{ kind, value string }

// leaks returns, for each canary found in a text, "<kind> in the logs" or
// "<kind> in error text N" (texts[0] is the log). It never returns the secret.
func leaks(texts []string, canaries []canary) []string {
	var out []string
	for _, cn := range canaries {
		if len(cn.value) < 6 {
			continue
		}
		for i, text := range texts {
			if strings.Contains(text, cn.value) {
				where := cn.kind + " in the logs"
				if i > 0 {
					where = fmt.Sprintf("%s in error text %d", cn.kind, i)
				}
				out = append(out, where)
			}
		}
	}
	return out
}

// calls returns the fake's Partner Center calls whose path contains sub.
func (h *harness) calls(sub string) []fakepartner.Call {
	var out []fakepartner.Call
	for _, c := range h.fake.Calls() {
		if strings.Contains(c.Path+"?"+c.RawQuery, sub) {
			out = append(out, c)
		}
	}
	return out
}

func (h *harness) observations() []observation {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]observation(nil), h.observed...)
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
