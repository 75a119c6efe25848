package graph

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/internal/fakegraph"
	"github.com/locksmithbot/locksmith/internal/secret"
)

const (
	testClientID     = "3f9d2b71-5c8e-4a06-b1d4-7e2a9c6f8b35"
	testClientSecret = "graph-test-secret-Zq8~x"
	partnerRT        = "rt-partner-chain-0001"
	tenantA          = "a1b2c3d4-0000-4000-8000-00000000000a"
	tenantB          = "a1b2c3d4-0000-4000-8000-00000000000b"

	tmplGA   = "62e90394-69f5-4237-9190-012177145e10"
	tmplHelp = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	tmplPAA  = "7be44c8a-adaf-4e2a-84d6-ab2649e08a13"
)

// syncBuffer is a log sink tests can read while the client writes.
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

type fixture struct {
	fg     *fakegraph.Server
	c      *Client
	logs   *syncBuffer
	sleeps []time.Duration
	mu     sync.Mutex
	public atomic.Bool // the partner token came from a public client
}

// newFixture starts a fake with tenant A and a client against it. Sleeps are
// recorded, not slept, so retry tests are instant and exact.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{logs: &syncBuffer{}}
	fg := fakegraph.New(fakegraph.Options{ClientID: testClientID, ClientSecret: testClientSecret,
		RefreshTokenValid:  func(rt string) bool { return rt == partnerRT },
		RefreshTokenPublic: func(string) bool { return f.public.Load() }})
	t.Cleanup(fg.Close)
	f.fg = fg
	c, err := New(Config{
		BaseURL: fg.URL(), AuthorityHost: fg.AuthorityURL(), ClientID: testClientID,
		ClientSecret: secret.NewToken(testClientSecret),
		RefreshToken: func(context.Context) (PartnerToken, error) {
			return PartnerToken{Token: secret.NewToken(partnerRT), Public: f.public.Load()}, nil
		},
		Logger: slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	c.sleep = func(_ context.Context, d time.Duration) error {
		f.mu.Lock()
		f.sleeps = append(f.sleeps, d)
		f.mu.Unlock()
		return nil
	}
	f.c = c
	t.Cleanup(func() {
		if u := fg.Unexpected(); len(u) > 0 {
			t.Errorf("client called routes the contract does not contain: %v", u)
		}
	})
	return f
}

func ptr[T any](v T) *T { return &v }

// alice is an ordinary enabled cloud user.
func addAlice(tn *fakegraph.Tenant) {
	tn.AddUser(fakegraph.User{ID: "u-alice", UserPrincipalName: "alice@contoso.com", DisplayName: "Alice",
		AccountEnabled: true, LastPasswordChange: time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC)})
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
