// Package fakepartner is an in-process fake of Microsoft Partner Center and of the
// Entra ID sign-in endpoints (authorize, device code, token), for tests.
//
// It imports no locksmith package on purpose: it is an independent witness of the
// wire format described in docs/partner-center.md, so a wrong JSON tag, header
// or path in the client fails a test instead of being echoed back. It is strict where
// the real service is (bearer tokens, filter operators, the password policy) and
// records everything it sees so tests can assert on what was sent.
package fakepartner

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Fixed identities of the fake partner's Entra app registration.
const (
	TenantID     = "6c1f0e2a-8b4d-4f7e-9a3c-2d5b7e9f1a04"
	ClientID     = "3f9d2b71-5c8e-4a06-b1d4-7e2a9c6f8b35"
	ClientSecret = "fake-client-secret-8Q~k2.Vn_x7Rz+4w"
)

const (
	defaultPageSize      = 100
	defaultTokenLifetime = 3599 * time.Second
	// continuationTTL bounds how long a users-paging token stays valid.
	continuationTTL = 10 * time.Minute
	maxBody         = 1 << 20
)

// Server is the fake. All state is guarded by mu; it is safe for parallel use.
type Server struct {
	hs        *httptest.Server
	closing   chan struct{}
	closeOnce sync.Once

	mu      sync.Mutex
	changed chan struct{} // closed and replaced whenever a call is recorded or updated

	customers     map[string]*customerRecord // by lower-case tenant ID
	customerOrder []string
	users         map[string]*tenantUsers // by lower-case tenant ID

	pageSize      int
	tokenLifetime time.Duration
	bomOnGetUser  bool
	mfaRequired   bool
	account       SignedInAccount // whom access tokens are issued for

	initialRefresh string
	refreshTokens  map[string]*refreshState
	accessTokens   map[string]time.Time // token → expiry
	continuations  map[string]continuation
	replays        map[string]replay // MS-RequestId → first PATCH response
	faults         []*faultState

	app             AppRegistration
	signInErr       *signInError
	codes           map[string]*authCode
	devices         []*deviceState
	deviceExpiresIn time.Duration
	deviceInterval  time.Duration
	deviceSlowDowns int
	authorizeCalls  []url.Values

	consents  []Consent
	onConsent func(Consent)

	calls      []Call
	tokenCalls []TokenCall
	resets     []Reset
	unexpected []string
}

// Call is one request to Partner Center (anything that is not the token endpoint).
// Status is 0 while the call is in flight, and stays 0 when the fake answered
// nothing (a dropped connection or a client that gave up during a Delay).
type Call struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
	Status                 int
	At                     time.Time
}

// Reset is one password reset the fake applied (replays are not repeated here).
type Reset struct {
	TenantID, UserID, Password string
	ForceChange                bool
	RequestID, CorrelationID   string
	// Path is the request path, to tell /resetpassword from the legacy /users/{uid}.
	Path string
}

// New starts a fake on a loopback port. The caller must Close it.
func New() *Server {
	s := &Server{
		closing:       make(chan struct{}),
		changed:       make(chan struct{}),
		customers:     map[string]*customerRecord{},
		users:         map[string]*tenantUsers{},
		pageSize:      defaultPageSize,
		tokenLifetime: defaultTokenLifetime,
		account:       DefaultAccount,
		refreshTokens: map[string]*refreshState{},
		accessTokens:  map[string]time.Time{},
		continuations: map[string]continuation{},
		replays:       map[string]replay{},

		app:             AppRegistration{LocalhostPlatform: PlatformWeb, AllowPublicClientFlows: true},
		codes:           map[string]*authCode{},
		deviceExpiresIn: 15 * time.Minute,
		deviceInterval:  5 * time.Second,
	}
	s.initialRefresh = randomToken("rt-")
	s.refreshTokens[s.initialRefresh] = &refreshState{}
	s.hs = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// Close stops the server. Requests sleeping in a fault Delay are released first,
// so Close never waits out a long delay.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.hs.Close()
	})
}

// URL is the Partner Center base URL, without a trailing slash (the client adds
// "/v1/…").
func (s *Server) URL() string { return s.hs.URL }

// AuthorityURL is the token authority host with a trailing slash, so that
// AuthorityURL()+TenantID+"/oauth2/v2.0/token" is the token endpoint, as with
// https://login.microsoftonline.com/.
func (s *Server) AuthorityURL() string { return s.hs.URL + "/" }

// InitialRefreshToken is a valid refresh token that starts the rotation chain, the
// one an operator would obtain through the interactive consent.
func (s *Server) InitialRefreshToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.initialRefresh
}

// SetPageSize sets the default users page size (100 unless changed). A request's
// own ?size= wins.
func (s *Server) SetPageSize(n int) {
	if n < 1 {
		panic("fakepartner: page size must be at least 1")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = n
}

// SetBOM makes GET /v1/customers/{cid}/users/{uid} start its JSON with a UTF-8
// byte-order mark, as the docs' example of that response does (§2.2).
func (s *Server) SetBOM(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bomOnGetUser = on
}

// Calls returns a copy of every Partner Center call so far, in arrival order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	for i, c := range s.calls {
		out[i] = c.clone()
	}
	return out
}

// TokenCalls returns a copy of every token-endpoint call so far, in arrival order.
func (s *Server) TokenCalls() []TokenCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]TokenCall, len(s.tokenCalls))
	for i, c := range s.tokenCalls {
		c.Form = cloneValues(c.Form)
		out[i] = c
	}
	return out
}

// Resets returns every reset applied so far, in order.
func (s *Server) Resets() []Reset {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Reset(nil), s.resets...)
}

// Unexpected lists "METHOD path" for every request that matched no route. A client
// test should fail when this is not empty: it means the client called something the
// contract does not contain.
func (s *Server) Unexpected() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.unexpected...)
}

// WaitCall blocks until a recorded Partner Center call satisfies match, or ctx ends.
// Calls recorded before WaitCall count. A call is offered to match when it arrives
// (Status 0) and again when its response is written, so match can wait for either.
func (s *Server) WaitCall(ctx context.Context, match func(Call) bool) (Call, error) {
	for {
		s.mu.Lock()
		for _, c := range s.calls {
			if c := c.clone(); match(c) {
				s.mu.Unlock()
				return c, nil
			}
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return Call{}, ctx.Err()
		case <-changed:
		}
	}
}

// notifyLocked wakes every WaitCall. s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (c Call) clone() Call {
	c.Header = c.Header.Clone()
	c.Body = append([]byte(nil), c.Body...)
	return c
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// serveHTTP splits token-endpoint traffic from Partner Center traffic.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if tenant, version, ok := tokenPath(r.URL.Path); ok {
		s.serveToken(w, r, body, tenant, version)
		return
	}
	if tenant, endpoint, ok := signInPath(r.URL.Path); ok {
		if endpoint == "authorize" {
			s.serveAuthorize(w, r, tenant)
			return
		}
		form, _ := url.ParseQuery(string(body))
		s.serveDeviceCode(w, r, form, tenant)
		return
	}
	s.servePartner(w, r, body)
}

// statusRecorder remembers the status written, and unwraps so that
// http.ResponseController can still hijack the connection.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// recordUnexpected notes a request no route serves.
func (s *Server) recordUnexpected(r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unexpected = append(s.unexpected, r.Method+" "+r.URL.Path)
}

// sleep waits d, or until the client gives up or the server closes; it reports
// whether the full delay elapsed.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.closing:
		return false
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	writeRaw(w, status, "application/json; charset=utf-8", mustMarshal(v))
}

func writeRaw(w http.ResponseWriter, status int, contentType string, b []byte) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// randomToken returns prefix plus 32 random bytes, base64url: opaque, like Entra's.
func randomToken(prefix string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// newGUID returns a random version-4 GUID in the usual lower-case form.
func newGUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// splitPath splits "/a/b/c" into ["a","b","c"]; empty segments are kept so that
// "//x" or a trailing slash never match a route by accident.
func splitPath(p string) []string {
	return strings.Split(strings.TrimPrefix(p, "/"), "/")
}
