package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/internal/dbtest"
	"github.com/locksmithbot/locksmith/internal/fakepartner"
)

// End to end: `locksmith login` against the fake Entra, then the real bot
// started on the same database redeems the token the sign-in stored.

// clickThrough is the injected browser: it loads the sign-in page and follows
// the redirects back to locksmith's loopback listener.
func clickThrough(t *testing.T) func(string) error {
	return func(u string) error {
		go func() {
			resp, err := (&http.Client{Timeout: 20 * time.Second}).Get(u)
			if err != nil {
				t.Errorf("browser: %v", err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
		return nil
	}
}

// leaked fails when a credential the fake knows, or a JWT, appears in text.
func leaked(t *testing.T, pc *fakepartner.Server, texts ...string) {
	t.Helper()
	all := strings.Join(texts, "\n")
	for _, c := range append(pc.Credentials(), "eyJ") {
		if c != "" && strings.Contains(all, c) {
			t.Errorf("a credential appears in output or logs")
		}
	}
}

// waitStored waits until the store holds token, with the given client type,
// read as the bot reads it.
func (h *harness) waitStored(token string, public bool) {
	h.t.Helper()
	cfg, err := loadConfig(h.getenv)
	if err != nil {
		h.t.Fatal(err)
	}
	store, err := approvals.Open(context.Background(), cfg.DatabaseURL, approvals.Options{})
	if err != nil {
		h.t.Fatal(err)
	}
	defer store.Close()
	sealed, err := newSealedTokenStore(store, cfg.SecretKey, cfg.PartnerRefreshToken, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		h.t.Fatal(err)
	}
	h.waitFor("the rotated token stored", func() bool {
		tok, ok, err := sealed.Load(context.Background())
		return err == nil && ok && tok.Token.Reveal() == token && tok.Public == public
	})
}

// refreshedWith waits until the fake sees a successful refresh of token.
func (h *harness) refreshedWith(token string) fakepartner.TokenCall {
	h.t.Helper()
	var found fakepartner.TokenCall
	h.waitFor("a refresh with the signed-in token", func() bool {
		for _, c := range h.pc.TokenCalls() {
			if c.Form.Get("grant_type") == "refresh_token" && c.Form.Get("refresh_token") == token && c.Status == http.StatusOK {
				found = c
				return true
			}
		}
		return false
	})
	return found
}

func TestLogin_BrowserThenBotUsesTheStoredToken(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		h := newHarness(t, harnessOptions{approval: true, dsn: dsn})
		delete(h.env, "PARTNER_REFRESH_TOKEN") // the sign-in replaces it
		var out, errOut lockedBuffer
		if err := login(context.Background(), nil, h.getenv, &out, &errOut, clickThrough(t)); err != nil {
			t.Fatalf("login: %v\n%s%s", err, out.String(), errOut.String())
		}
		calls := h.pc.TokenCalls()
		signedIn := calls[len(calls)-1].IssuedRefreshToken
		if signedIn == "" || calls[len(calls)-1].Form.Get("grant_type") != "authorization_code" {
			t.Fatalf("the sign-in issued no refresh token")
		}
		if !strings.Contains(out.String(), "saved by `locksmith login`") || !strings.Contains(out.String(), fakepartner.DefaultAccount.UPN) {
			t.Errorf("login output:\n%s", out.String())
		}

		// A bot started afterwards redeems the signed-in token, with the secret.
		h.start()
		first := h.refreshedWith(signedIn)
		if !first.Form.Has("client_secret") {
			t.Errorf("the confidential sign-in token was redeemed without the client secret")
		}
		if !strings.Contains(h.logs.String(), "saved by `locksmith login`") {
			t.Errorf("the bot did not log which refresh token it uses")
		}
		// It stores the token it rotated into, still confidential, and after a
		// restart continues from there.
		h.waitStored(first.IssuedRefreshToken, false)
		if err := h.stop(); err != nil {
			t.Fatal(err)
		}
		h.start()
		h.refreshedWith(first.IssuedRefreshToken)
		leaked(t, h.pc, out.String(), errOut.String(), h.logs.String())
	})
}

func TestLogin_DeviceThenBotRedeemsWithoutTheSecret(t *testing.T) {
	h := newHarness(t, harnessOptions{approval: false})
	h.pc.SetDeviceCodeTiming(15*time.Minute, time.Second)
	var out, errOut lockedBuffer
	done := make(chan error, 1)
	go func() { done <- login(context.Background(), []string{"--device"}, h.getenv, &out, &errOut, nil) }()
	h.waitFor("a device code", func() bool { return len(h.pc.DeviceCodes()) > 0 })
	if err := h.pc.ApproveDevice(h.pc.DeviceCodes()[0].UserCode); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("login --device: %v\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("login --device did not finish")
	}
	// PARTNER_REFRESH_TOKEN is still set: the sign-in is newer and wins.
	if !strings.Contains(out.String(), "PARTNER_REFRESH_TOKEN is set but only tried if the stored token is refused") {
		t.Errorf("login did not say which token is used:\n%s", out.String())
	}
	calls := h.pc.TokenCalls()
	signedIn := calls[len(calls)-1].IssuedRefreshToken

	h.start()
	c := h.refreshedWith(signedIn)
	if c.Form.Has("client_secret") {
		t.Errorf("the public device-code token was redeemed with the client secret")
	}
	// The access token it yields works for a reset.
	h.slash(alice, "contoso.onmicrosoft.com "+plainUPN+" INC-7")
	if n := len(h.pc.Resets()); n != 1 {
		t.Fatalf("resets = %d, want 1 with the signed-in token", n)
	}
	// After a restart the bot continues from the newest token it stored,
	// still without the secret: the stored chain remembers it is public.
	newest := h.pc.TokenCalls()
	h.waitStored(newest[len(newest)-1].IssuedRefreshToken, true)
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	h.start()
	if c := h.refreshedWith(newest[len(newest)-1].IssuedRefreshToken); c.Form.Has("client_secret") {
		t.Errorf("after a restart the public chain was redeemed with the client secret")
	}
	for _, c := range h.pc.TokenCalls() {
		if c.Form.Get("refresh_token") == h.env["PARTNER_REFRESH_TOKEN"] {
			t.Errorf("the bot redeemed PARTNER_REFRESH_TOKEN although a newer signed-in token was stored")
		}
	}
	leaked(t, h.pc, out.String(), errOut.String(), h.logs.String())
}

func TestLogin_ForeignTenantStoresNothing(t *testing.T) {
	h := newHarness(t, harnessOptions{approval: true})
	other := fakepartner.DefaultAccount
	other.TenantID = "9d8c7b6a-0000-4000-8000-000000000099"
	h.pc.SetAccount(other)
	var out, errOut lockedBuffer
	err := login(context.Background(), nil, h.getenv, &out, &errOut, clickThrough(t))
	var f *failure
	if !errors.As(err, &f) || !strings.Contains(err.Error(), "not to PARTNER_TENANT_ID") {
		t.Fatalf("login = %v, want the foreign tenant refused", err)
	}
	store, err := approvals.Open(context.Background(), h.env["LOCKSMITH_DATABASE_URL"], approvals.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, _, err := store.LoadSecret(context.Background(), refreshTokenSecret); !errors.Is(err, approvals.ErrNotFound) {
		t.Errorf("a refused sign-in left a stored token (err=%v)", err)
	}
	leaked(t, h.pc, out.String(), errOut.String())
}

// TestLogin_NeedsTheSecretKey: without LOCKSMITH_SECRET_KEY there is nowhere to
// keep the token; login refuses before signing in, naming the variable.
func TestLogin_NeedsTheSecretKey(t *testing.T) {
	h := newHarness(t, harnessOptions{approval: true})
	delete(h.env, "LOCKSMITH_SECRET_KEY")
	var out, errOut lockedBuffer
	code := run(context.Background(), []string{"login", "--no-browser"}, h.getenv, &out, &errOut)
	if code != exitUsage || !strings.Contains(errOut.String(), "LOCKSMITH_SECRET_KEY: not set. `locksmith login` stores") {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut.String())
	}
	if len(h.pc.AuthorizeRequests()) != 0 || len(h.pc.TokenCalls()) != 0 {
		t.Errorf("login contacted Entra without a place to store the token")
	}
}

// TestConfig_RefreshTokenOptionalWithSecretKey: with LOCKSMITH_SECRET_KEY the
// bot may start from a signed-in token alone; without it the variable is
// still required.
func TestConfig_RefreshTokenOptionalWithSecretKey(t *testing.T) {
	h := newHarness(t, harnessOptions{approval: true})
	delete(h.env, "PARTNER_REFRESH_TOKEN")
	if _, err := loadConfig(h.getenv); err != nil {
		t.Errorf("config without PARTNER_REFRESH_TOKEN but with LOCKSMITH_SECRET_KEY: %v", err)
	}
	delete(h.env, "LOCKSMITH_SECRET_KEY")
	_, err := loadConfig(h.getenv)
	if err == nil || !strings.Contains(err.Error(), "PARTNER_REFRESH_TOKEN: not set, and without LOCKSMITH_SECRET_KEY") {
		t.Errorf("config with neither: %v", err)
	}
}

// TestLogin_NoBrowserOnlyPrints: --no-browser prints the sign-in address and
// opens nothing; nobody signing in ends at --timeout with a sentence.
func TestLogin_NoBrowserOnlyPrints(t *testing.T) {
	h := newHarness(t, harnessOptions{approval: true})
	var out, errOut lockedBuffer
	opened := func(string) error { t.Error("--no-browser opened a browser"); return nil }
	err := login(context.Background(), []string{"--no-browser", "--timeout", "1s"}, h.getenv, &out, &errOut, opened)
	if err == nil || !strings.Contains(err.Error(), "no sign-in came back to locksmith in time") {
		t.Fatalf("login = %v, want the timeout explained", err)
	}
	if !strings.Contains(out.String(), h.pc.AuthorityURL()+fakepartner.TenantID+"/oauth2/v2.0/authorize?") {
		t.Errorf("the sign-in address was not printed:\n%s", out.String())
	}
}
