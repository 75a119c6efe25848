package partner

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/internal/fakepartner"
	"github.com/locksmithbot/locksmith/internal/secret"
)

func TestAuth_RefreshRequestShape(t *testing.T) {
	h := newHarness(t)
	if err := h.note(h.c.CheckAuth(ctxTimeout(t, 10*time.Second))); err != nil {
		t.Fatal(err)
	}
	calls := h.fake.TokenCalls()
	if len(calls) != 1 {
		t.Fatalf("token calls = %d, want 1", len(calls))
	}
	tc := calls[0]
	if tc.Version != "v2.0" || tc.BasicAuth || tc.Status != http.StatusOK {
		t.Errorf("token call version=%s basic=%v status=%d, want v2.0, form credentials, 200", tc.Version, tc.BasicAuth, tc.Status)
	}
	want := map[string]string{
		"grant_type": "refresh_token",
		"client_id":  fakepartner.ClientID,
		"scope":      "https://api.partnercenter.microsoft.com/user_impersonation offline_access",
	}
	for k, v := range want {
		if got := tc.Form.Get(k); got != v {
			t.Errorf("form %s = %q, want %q", k, got, v)
		}
	}
	if tc.Form.Get("refresh_token") != h.fake.InitialRefreshToken() || tc.Form.Get("client_secret") != fakepartner.ClientSecret {
		t.Errorf("form did not carry the configured refresh token and client secret")
	}
}

func TestAuth_RotationReachesStoreAndNextRefreshUsesNewest(t *testing.T) {
	h := newHarness(t)
	ctx := ctxTimeout(t, 10*time.Second)
	if err := h.note(h.c.CheckAuth(ctx)); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := h.note(h.c.RefreshNow(ctx)); err != nil {
			t.Fatal(err)
		}
	}
	calls := h.fake.TokenCalls()
	if len(calls) != 3 {
		t.Fatalf("token calls = %d, want 3", len(calls))
	}
	for i := 1; i < len(calls); i++ {
		if calls[i].Form.Get("refresh_token") != calls[i-1].IssuedRefreshToken {
			t.Errorf("refresh %d did not redeem the token rotated by refresh %d", i+1, i)
		}
	}
	stored, ok, err := h.store.Load(ctx)
	issuedAt := stored.IssuedAt
	if err != nil || !ok || stored.Token.Reveal() != calls[2].IssuedRefreshToken {
		t.Fatalf("store does not hold the newest refresh token (ok=%v err=%v)", ok, err)
	}
	if got := h.c.RefreshTokenIssuedAt(); !got.Equal(issuedAt) || got.IsZero() {
		t.Errorf("RefreshTokenIssuedAt = %v, want the stored %v", got, issuedAt)
	}

	// A restart with the operator's original token in the environment still
	// starts from the store's newest token.
	c2 := h.newClient(h.cfg)
	if err := h.note(c2.CheckAuth(ctx)); err != nil {
		t.Fatal(err)
	}
	calls = h.fake.TokenCalls()
	if calls[3].Form.Get("refresh_token") != calls[2].IssuedRefreshToken {
		t.Errorf("a new client redeemed an older token than the stored one")
	}
}

// TestAuth_DeadStoredTokenFallsBackToConfigured: after the stored token dies,
// the operator's fix is a new PARTNER_REFRESH_TOKEN; the store must not
// shadow it forever.
func TestAuth_DeadStoredTokenFallsBackToConfigured(t *testing.T) {
	h := newHarness(t)
	ctx := ctxTimeout(t, 10*time.Second)
	if err := h.note(h.c.CheckAuth(ctx)); err != nil {
		t.Fatal(err)
	}
	h.fake.RevokeRefreshTokens(700082)
	fresh := h.fake.IssueRefreshToken()
	h.canary(fresh)
	cfg := h.cfg
	cfg.RefreshToken = secret.NewToken(fresh)
	c2 := h.newClient(cfg)
	if err := h.note(c2.CheckAuth(ctx)); err != nil {
		t.Fatalf("CheckAuth with a fresh configured token: %v", err)
	}
	calls := h.fake.TokenCalls()
	last := calls[len(calls)-1]
	if last.Form.Get("refresh_token") != fresh || last.Status != http.StatusOK {
		t.Errorf("the configured token was not tried after the stored one was refused")
	}
	if stored, _, _ := h.store.Load(ctx); stored.Token.Reveal() != last.IssuedRefreshToken {
		t.Errorf("the token rotated from the configured one was not saved")
	}
}

func TestAuth_ConcurrentCallersShareOneRefresh(t *testing.T) {
	h := newHarness(t)
	// Hold the token endpoint a moment so that the callers pile up.
	h.fake.AddFault(fakepartner.Fault{PathContains: "/oauth2/", Delay: 200 * time.Millisecond, Times: 1})
	ctx := ctxTimeout(t, 10*time.Second)
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = h.c.Customer(ctx, tenantA)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if h.note(err) != nil {
			t.Fatal(err)
		}
	}
	if n := len(h.fake.TokenCalls()); n != 1 {
		t.Errorf("token calls = %d, want 1 shared by 20 callers", n)
	}
}

func TestAuth_CallerGivingUpDoesNotFailOthers(t *testing.T) {
	h := newHarness(t)
	h.fake.AddFault(fakepartner.Fault{PathContains: "/oauth2/", Delay: 300 * time.Millisecond, Times: 1})
	impatient, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.c.CheckAuth(ctxTimeout(t, 10*time.Second)) }()
	err := h.c.CheckAuth(impatient)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("impatient caller err = %v, want DeadlineExceeded", h.note(err))
	}
	if err := <-done; h.note(err) != nil {
		t.Errorf("patient caller failed: %v", err)
	}
	if n := len(h.fake.TokenCalls()); n != 1 {
		t.Errorf("token calls = %d, want 1", n)
	}
}

func TestAuth_AccessTokenCachedUntilNearExpiry(t *testing.T) {
	h := newHarness(t)
	now := time.Now()
	var mu sync.Mutex
	h.c.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	ctx := ctxTimeout(t, 10*time.Second)
	for range 3 {
		if _, err := h.c.User(ctx, tenantA, userID(1)); h.note(err) != nil {
			t.Fatal(err)
		}
	}
	if n := len(h.fake.TokenCalls()); n != 1 {
		t.Fatalf("token calls = %d, want 1 for three calls", n)
	}
	advance(3599*time.Second - expiryMargin - time.Second)
	if _, err := h.c.User(ctx, tenantA, userID(1)); h.note(err) != nil {
		t.Fatal(err)
	}
	if n := len(h.fake.TokenCalls()); n != 1 {
		t.Fatalf("token calls = %d just before the margin, want 1", n)
	}
	advance(2 * time.Second)
	if _, err := h.c.User(ctx, tenantA, userID(1)); h.note(err) != nil {
		t.Fatal(err)
	}
	if n := len(h.fake.TokenCalls()); n != 2 {
		t.Errorf("token calls = %d inside the expiry margin, want 2", n)
	}
}

func TestAuth_ExpiredAccessTokenRenewedOn401(t *testing.T) {
	h := newHarness(t)
	ctx := ctxTimeout(t, 10*time.Second)
	if _, err := h.c.User(ctx, tenantA, userID(1)); h.note(err) != nil {
		t.Fatal(err)
	}
	h.fake.ExpireAccessTokens()
	if _, err := h.c.User(ctx, tenantA, userID(1)); h.note(err) != nil {
		t.Fatalf("call after the access token died: %v", err)
	}
	if n := len(h.fake.TokenCalls()); n != 2 {
		t.Errorf("token calls = %d, want 2 (one renewal after the 401)", n)
	}
	calls := h.calls("/v1/customers/" + tenantA)
	if len(calls) != 3 || calls[1].Status != http.StatusUnauthorized {
		t.Fatalf("calls = %d (second status %d), want 3 with a 401 in the middle", len(calls), calls[1].Status)
	}
	if calls[1].Header.Get("MS-RequestId") != calls[2].Header.Get("MS-RequestId") {
		t.Errorf("the retry after the 401 used a new MS-RequestId")
	}
}

func TestAuth_TokenErrorsTellTheOperatorWhatToDo(t *testing.T) {
	tests := []struct {
		name  string
		setup func(h *harness)
		code  string
		want  string
	}{
		{"expired from inactivity", func(h *harness) { h.fake.RevokeRefreshTokens(700082) }, "AADSTS700082",
			"expired after 90 days without use: sign in again with `locksmith login`"},
		{"revoked", func(h *harness) { h.fake.RevokeRefreshTokens(50173) }, "AADSTS50173", "revoked"},
		{"MFA required", func(h *harness) { h.fake.RevokeRefreshTokens(50076) }, "AADSTS50076", "MFA"},
		{"MFA registration required", func(h *harness) { h.fake.RevokeRefreshTokens(50079) }, "AADSTS50079", "register for MFA"},
		{"consent required", func(h *harness) { h.fake.RevokeRefreshTokens(65001) }, "AADSTS65001", "consent"},
		{"sign-in frequency", func(h *harness) { h.fake.RevokeRefreshTokens(70043) }, "AADSTS70043", "sign-in frequency"},
		{"unknown refresh token", func(h *harness) {}, "AADSTS9002313", "refresh token was refused"},
		{"wrong client secret", func(h *harness) {}, "AADSTS7000215", "PARTNER_CLIENT_SECRET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) {
				switch tt.name {
				case "unknown refresh token":
					c.RefreshToken = secret.NewToken("rt-canary-unknown-9f8e7d6c5b4a")
				case "wrong client secret":
					c.ClientSecret = secret.NewToken("wrong-secret-canary-1a2b3c4d")
				}
			})
			h.canary("rt-canary-unknown-9f8e7d6c5b4a")
			h.canary("wrong-secret-canary-1a2b3c4d")
			tt.setup(h)
			_, err := h.c.User(ctxTimeout(t, 10*time.Second), tenantA, userID(1))
			e := h.wantKind(err, KindUnauthorised)
			if e.Code != tt.code {
				t.Errorf("Code = %q, want %q", e.Code, tt.code)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Error() = %q, want it to contain %q", err.Error(), tt.want)
			}
			if strings.Contains(err.Error(), "Trace ID") {
				t.Errorf("Error() carries Entra's trace lines")
			}
			if len(h.calls("/v1/")) != 0 {
				t.Errorf("Partner Center was called without a token")
			}
			if n := len(h.fake.TokenCalls()); n != 1 {
				t.Errorf("token calls = %d, want 1: a refused grant is not retried", n)
			}
		})
	}
}

func TestAuth_MFAClaimMissing(t *testing.T) {
	h := newHarness(t)
	h.fake.RequireMFA(true)
	_, err := h.c.Customer(ctxTimeout(t, 10*time.Second), tenantA)
	e := h.wantKind(err, KindUnauthorised)
	if e.Code != "900421" || !strings.Contains(e.Description, "MFA") {
		t.Errorf("err = %v, want code 900421 with MFA advice", err)
	}
	if n := len(h.calls("/v1/")); n != 1 {
		t.Errorf("calls = %d, want 1: a missing MFA claim is not retried", n)
	}
}

func TestAuth_TokenEndpointOutageRetried(t *testing.T) {
	h := newHarness(t)
	h.fake.AddFault(fakepartner.Fault{PathContains: "/oauth2/", Status: 503, Times: 2})
	if err := h.note(h.c.CheckAuth(ctxTimeout(t, 10*time.Second))); err != nil {
		t.Fatalf("CheckAuth after two 503s: %v", err)
	}
	if n := len(h.fake.TokenCalls()); n != 3 {
		t.Errorf("token calls = %d, want 3", n)
	}
	if w := h.sleeps.waits(); len(w) != 2 {
		t.Errorf("waits = %v, want 2 backoffs", w)
	}
}

type failingStore struct{ MemoryTokenStore }

func (*failingStore) Save(context.Context, StoredToken) error {
	return errors.New("disk full")
}

func TestAuth_SaveErrorIsLoggedNotFatal(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Tokens = &failingStore{} })
	if err := h.note(h.c.CheckAuth(ctxTimeout(t, 10*time.Second))); err != nil {
		t.Fatalf("CheckAuth: %v", err)
	}
	if !strings.Contains(h.logs.String(), "saving the rotated refresh token failed") {
		t.Errorf("the Save error was not logged")
	}
	// The rotated token is still used from memory.
	if err := h.note(h.c.RefreshNow(ctxTimeout(t, 10*time.Second))); err != nil {
		t.Fatal(err)
	}
	calls := h.fake.TokenCalls()
	if calls[1].Form.Get("refresh_token") != calls[0].IssuedRefreshToken {
		t.Errorf("second refresh did not use the rotated token kept in memory")
	}
}

func TestAuth_TokenSourceAdapter(t *testing.T) {
	h := newHarness(t)
	tok, err := h.c.TokenSource().Token()
	if h.note(err) != nil {
		t.Fatal(err)
	}
	if !tok.Valid() || tok.RefreshToken != "" {
		t.Errorf("token valid=%v, refresh token exposed=%v; want valid and not exposed", tok.Valid(), tok.RefreshToken != "")
	}
	h.canary(tok.AccessToken)
}

func TestAuth_NoRefreshTokenAnywhere(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.RefreshToken = secret.Token{} })
	e := h.wantKind(h.c.CheckAuth(ctxTimeout(t, 10*time.Second)), KindUnauthorised)
	if e.Code != "no_refresh_token" || !strings.Contains(e.Description, "PARTNER_REFRESH_TOKEN") {
		t.Errorf("err = %v, want advice to set PARTNER_REFRESH_TOKEN", e)
	}
	if n := len(h.fake.TokenCalls()); n != 0 {
		t.Errorf("token calls = %d, want 0", n)
	}
}

// TestAuth_PublicTokenIsRedeemedWithoutSecret: a refresh token from the
// device-code sign-in belongs to a public client; Entra refuses it with the
// client secret (AADSTS700025), so it and every token rotated from it are
// redeemed without one, while other tokens still send the secret.
func TestAuth_PublicTokenIsRedeemedWithoutSecret(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.RefreshToken = secret.Token{} })
	ctx := ctxTimeout(t, 10*time.Second)
	public := h.fake.IssueRefreshTokenFor(fakepartner.DefaultAccount, true)
	h.canary(public)
	if err := h.store.Save(ctx, StoredToken{Token: secret.NewToken(public), IssuedAt: time.Now(), Public: true}); err != nil {
		t.Fatal(err)
	}
	if err := h.note(h.c.CheckAuth(ctx)); err != nil {
		t.Fatalf("CheckAuth with a public stored token: %v", err)
	}
	if err := h.note(h.c.RefreshNow(ctx)); err != nil {
		t.Fatalf("RefreshNow after rotating a public token: %v", err)
	}
	calls := h.fake.TokenCalls()
	if len(calls) != 2 {
		t.Fatalf("token calls = %d, want 2", len(calls))
	}
	for i, c := range calls {
		if c.Form.Has("client_secret") || c.Status != http.StatusOK {
			t.Errorf("call %d: status %d, client_secret sent = %v; want 200 without a secret", i+1, c.Status, c.Form.Has("client_secret"))
		}
	}
	if stored, _, _ := h.store.Load(ctx); !stored.Public || stored.Token.Reveal() != calls[1].IssuedRefreshToken {
		t.Errorf("the rotated token was not saved as public")
	}

	// A confidential token in the same store goes back to sending the secret.
	conf := h.fake.IssueRefreshTokenFor(fakepartner.DefaultAccount, false)
	h.canary(conf)
	if err := h.store.Save(ctx, StoredToken{Token: secret.NewToken(conf), IssuedAt: time.Now().Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := h.note(h.c.RefreshNow(ctx)); err != nil {
		t.Fatalf("RefreshNow with a confidential token: %v", err)
	}
	if last := h.fake.TokenCalls()[2]; !last.Form.Has("client_secret") || last.Status != http.StatusOK {
		t.Errorf("a confidential token was redeemed without the client secret (status %d)", last.Status)
	}
}
