// Package fakegraph is an in-process fake of Microsoft Graph in customer
// tenants, and of the Entra token endpoint those tenants' tokens come from, for
// tests.
//
// It imports no locksmith package: it is an independent witness of the wire
// format (paths, $select, $filter, @odata.nextLink paging, error bodies,
// Retry-After), so a wrong path or a forgotten $select fails a test instead of
// being echoed back. Each tenant's directory is plain data the test builds:
// users, nested groups (some role-assignable), administrative units, active
// role assignments and PIM eligibilities. Recipe calls (session revocation,
// account enabling, Temporary Access Passes) are applied and recorded.
package fakegraph

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// GraphScope is the only scope the token endpoint issues Graph tokens for.
const GraphScope = "https://graph.microsoft.com/.default"

// Options configure a Server.
type Options struct {
	ClientID, ClientSecret string
	// RefreshTokenValid says whether a refresh token is one the partner's
	// chain currently accepts (wire it to fakepartner). nil accepts any
	// non-empty token.
	RefreshTokenValid func(string) bool
	// RefreshTokenPublic says whether a refresh token was issued to a public
	// client: then a client secret is refused (AADSTS700025), as Entra does.
	// nil: none is.
	RefreshTokenPublic func(string) bool
}

// Server is the fake. All state is guarded by mu.
type Server struct {
	hs   *httptest.Server
	opts Options

	mu       sync.Mutex
	changed  chan struct{}
	tenants  map[string]*tenant // by lower-case ID
	tokens   map[string]issued  // access token → tenant and expiry
	pageSize int
	faults   []*faultState

	calls      []Call
	tokenCalls []TokenCall
	revoked    []Recipe
	enabled    []Recipe
	passes     []Pass
	unexpected []string
}

type issued struct {
	tenant string
	expiry time.Time
}

// Call is one Graph request (not the token endpoint).
type Call struct {
	Method, Path, RawQuery string
	Header                 map[string][]string
	Body                   []byte
	Tenant                 string // from the bearer token; "" when it had none valid
	Status                 int
}

// TokenCall is one token-endpoint request.
type TokenCall struct {
	Tenant       string
	Scope        string
	RefreshToken string
	Status       int
	ErrorCodes   []int
}

// Recipe is one applied session revocation or account enabling.
type Recipe struct {
	Tenant, UserID string
	At             time.Time
}

// Pass is one Temporary Access Pass the fake created. Value is the pass itself
// (this is a test double: leak tests search for it everywhere else).
type Pass struct {
	Tenant, UserID    string
	Value             string
	LifetimeInMinutes int
	IsUsableOnce      bool
}

// New starts a fake on a loopback port. The caller must Close it.
func New(o Options) *Server {
	s := &Server{opts: o, changed: make(chan struct{}), tenants: map[string]*tenant{},
		tokens: map[string]issued{}, pageSize: 100}
	s.hs = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// Close stops the server.
func (s *Server) Close() { s.hs.Close() }

// URL is the Graph base URL (GRAPH_URL), without /v1.0.
func (s *Server) URL() string { return s.hs.URL }

// AuthorityURL is the token authority (AZURE_AUTHORITY_HOST), with a trailing slash.
func (s *Server) AuthorityURL() string { return s.hs.URL + "/" }

// SetPageSize sets how many items a collection page holds (default 100).
func (s *Server) SetPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = max(n, 1)
}

// ExpireAccessTokens makes every token issued so far expired.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.tokens {
		v.expiry = time.Now().Add(-time.Second)
		s.tokens[k] = v
	}
}

// Calls returns every Graph call so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// TokenCalls returns every token-endpoint call so far.
func (s *Server) TokenCalls() []TokenCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]TokenCall(nil), s.tokenCalls...)
}

// Revocations returns every revokeSignInSessions applied.
func (s *Server) Revocations() []Recipe {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Recipe(nil), s.revoked...)
}

// Enables returns every PATCH that set accountEnabled to true.
func (s *Server) Enables() []Recipe {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Recipe(nil), s.enabled...)
}

// Passes returns every Temporary Access Pass created.
func (s *Server) Passes() []Pass {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Pass(nil), s.passes...)
}

// Unexpected lists "METHOD path" of every request no route served.
func (s *Server) Unexpected() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.unexpected...)
}

// WaitCall blocks until a recorded call satisfies match, or ctx ends.
func (s *Server) WaitCall(ctx context.Context, match func(Call) bool) (Call, error) {
	for {
		s.mu.Lock()
		for _, c := range s.calls {
			if c.Status != 0 && match(c) {
				s.mu.Unlock()
				return c, nil
			}
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return Call{}, ctx.Err()
		case <-ch:
		}
	}
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

const maxBody = 1 << 20

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if tenant, ok := tokenPath(r.URL.Path); ok {
		s.serveToken(w, r, body, tenant)
		return
	}
	s.serveGraph(w, r, body)
}

func randomToken(prefix string) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

func newGUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func lower(s string) string { return strings.ToLower(s) }
