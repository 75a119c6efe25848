package signin

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/internal/fakepartner"
	"github.com/locksmithbot/locksmith/internal/secret"
)

// The tests drive the real x/oauth2 client and a real loopback listener
// against the fake Entra endpoints; the "browser" is an HTTP client that
// follows the redirects, as a person clicking through would.

type memStore struct {
	mu     sync.Mutex
	tok    secret.Token
	public bool
	saves  int
}

func (m *memStore) SaveSignIn(_ context.Context, tok secret.Token, _ time.Time, public bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tok, m.public = tok, public
	m.saves++
	return nil
}

// browser is the injected opener: it loads the sign-in URL and follows the
// redirects back to locksmith's listener. tamper, if set, rewrites the
// redirect back to localhost before it is followed.
type browser struct {
	t      *testing.T
	tamper func(*url.URL)
	pages  chan string
}

func newBrowser(t *testing.T) *browser { return &browser{t: t, pages: make(chan string, 1)} }

func (b *browser) open(u string) error {
	go func() {
		client := &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if b.tamper != nil && req.URL.Hostname() == "localhost" {
				b.tamper(req.URL)
			}
			return nil
		}}
		resp, err := client.Get(u)
		if err != nil {
			b.pages <- "error: " + err.Error()
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		b.pages <- string(body)
	}()
	return nil
}

func (b *browser) page() string {
	select {
	case p := <-b.pages:
		return p
	case <-time.After(20 * time.Second):
		b.t.Fatal("the browser got no page")
		return ""
	}
}

func options(fake *fakepartner.Server, out io.Writer) Options {
	return Options{
		AuthorityHost: fake.AuthorityURL(), TenantID: fakepartner.TenantID, ClientID: fakepartner.ClientID,
		ClientSecret: secret.NewToken(fakepartner.ClientSecret), Out: out,
	}
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// noSecrets fails when a credential the fake knows, or anything shaped like
// a JWT, appears in text.
func noSecrets(t *testing.T, fake *fakepartner.Server, texts ...string) {
	t.Helper()
	for _, text := range texts {
		for _, c := range append(fake.Credentials(), "eyJ") {
			if c != "" && strings.Contains(text, c) {
				t.Errorf("a credential appears in output: %q", text)
			}
		}
	}
}

func TestBrowser_SignsInAndSavesAConfidentialToken(t *testing.T) {
	fake := fakepartner.New()
	t.Cleanup(fake.Close)
	var out bytes.Buffer
	b := newBrowser(t)
	o := options(fake, &out)
	o.OpenBrowser, o.Account = b.open, fakepartner.DefaultAccount.UPN
	store := &memStore{}
	res, err := Run(ctxFor(t, 30*time.Second), o, store)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	page := b.page()

	calls := fake.TokenCalls()
	if len(calls) != 1 || calls[0].Form.Get("grant_type") != "authorization_code" || calls[0].Status != http.StatusOK {
		t.Fatalf("token calls = %+v, want one successful authorization_code grant", calls)
	}
	if !calls[0].Form.Has("client_secret") || calls[0].Form.Get("code_verifier") == "" {
		t.Errorf("the code was not redeemed with the client secret and a PKCE verifier")
	}
	if store.saves != 1 || store.tok.Reveal() != calls[0].IssuedRefreshToken || store.public || res.Public {
		t.Errorf("store: saves=%d public=%v; want the issued token saved once as confidential", store.saves, store.public)
	}
	az := fake.AuthorizeRequests()
	if len(az) != 1 {
		t.Fatalf("authorize requests = %d, want 1", len(az))
	}
	q := az[0]
	redirect, _ := url.Parse(q.Get("redirect_uri"))
	if q.Get("code_challenge_method") != "S256" || q.Get("prompt") != "select_account" || q.Get("login_hint") != fakepartner.DefaultAccount.UPN ||
		redirect.Hostname() != "localhost" || redirect.Port() == "" {
		t.Errorf("authorize request = %v", q)
	}
	for _, want := range []string{fakepartner.DefaultAccount.Name, fakepartner.DefaultAccount.UPN, fakepartner.TenantID, "MFA:          yes", q.Get("redirect_uri")} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(page, "Signed in as") {
		t.Errorf("browser page = %q", page)
	}
	// The listener served its one redirect and closes.
	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, err := http.Get(q.Get("redirect_uri") + "/?code=x&state=y")
		if err != nil {
			break
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusGone || time.Now().After(deadline) {
			t.Fatalf("the loopback listener still answers after the sign-in (status %d)", resp.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
	noSecrets(t, fake, out.String(), page)
}

func TestBrowser_Refusals(t *testing.T) {
	otherTenant := fakepartner.DefaultAccount
	otherTenant.TenantID = "9d8c7b6a-0000-4000-8000-000000000099"
	noMFA := fakepartner.DefaultAccount
	noMFA.NoMFA = true
	tests := []struct {
		name    string
		setup   func(*fakepartner.Server, *browser, *Options)
		code    string
		advice  string
		timeout time.Duration
	}{
		{"token from another tenant", func(f *fakepartner.Server, _ *browser, _ *Options) { f.SetAccount(otherTenant) },
			"tenant_mismatch", "not to PARTNER_TENANT_ID", 0},
		{"no MFA", func(f *fakepartner.Server, _ *browser, _ *Options) { f.SetAccount(noMFA) }, "no_mfa", "complete MFA", 0},
		{"redirect registered as Mobile and desktop", func(f *fakepartner.Server, _ *browser, _ *Options) {
			f.SetAppRegistration(fakepartner.AppRegistration{LocalhostPlatform: fakepartner.PlatformMobile, AllowPublicClientFlows: true})
		}, "AADSTS700025", `under the platform "Web"`, 0},
		{"wrong client secret", func(_ *fakepartner.Server, _ *browser, o *Options) {
			o.ClientSecret = secret.NewToken("wrong-secret-7q2")
		},
			"AADSTS7000215", "PARTNER_CLIENT_SECRET", 0},
		{"consent missing", func(f *fakepartner.Server, _ *browser, _ *Options) { f.FailSignIn("consent_required", 65001) },
			"AADSTS65001", "Grant admin consent", 0},
		{"MFA required", func(f *fakepartner.Server, _ *browser, _ *Options) { f.FailSignIn("interaction_required", 50076) },
			"AADSTS50076", "complete the MFA prompt", 0},
		{"declined", func(f *fakepartner.Server, _ *browser, _ *Options) { f.FailSignIn("access_denied", 65004) },
			"AADSTS65004", "declined", 0},
		{"state mismatch", func(_ *fakepartner.Server, b *browser, _ *Options) {
			b.tamper = func(u *url.URL) { q := u.Query(); q.Set("state", "forged"); u.RawQuery = q.Encode() }
		}, "state_mismatch", "state mismatch", 0},
		{"redirect URI not registered", func(f *fakepartner.Server, _ *browser, _ *Options) {
			f.SetAppRegistration(fakepartner.AppRegistration{})
		}, "timeout", "AADSTS50011", 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := fakepartner.New()
			t.Cleanup(fake.Close)
			var out bytes.Buffer
			b := newBrowser(t)
			o := options(fake, &out)
			o.OpenBrowser = b.open
			tt.setup(fake, b, &o)
			store := &memStore{}
			timeout := 30 * time.Second
			if tt.timeout > 0 {
				timeout = tt.timeout
			}
			_, err := Run(ctxFor(t, timeout), o, store)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Run = %v, want *Error\n%s", err, out.String())
			}
			if e.Code != tt.code || !strings.Contains(e.Error(), tt.advice) {
				t.Errorf("error = %s: %v; want %s mentioning %q", e.Code, e, tt.code, tt.advice)
			}
			if store.saves != 0 {
				t.Errorf("a refused sign-in was saved")
			}
			page := b.page()
			if tt.code != "timeout" && !strings.Contains(page, "not saved") {
				t.Errorf("browser page = %q, want it to say nothing was saved", page)
			}
			noSecrets(t, fake, out.String(), err.Error(), page)
		})
	}
}

func TestBrowser_AllowWithoutMFA(t *testing.T) {
	fake := fakepartner.New()
	t.Cleanup(fake.Close)
	noMFA := fakepartner.DefaultAccount
	noMFA.NoMFA = true
	fake.SetAccount(noMFA)
	var out bytes.Buffer
	b := newBrowser(t)
	o := options(fake, &out)
	o.OpenBrowser, o.AllowWithoutMFA = b.open, true
	store := &memStore{}
	if _, err := Run(ctxFor(t, 30*time.Second), o, store); err != nil {
		t.Fatalf("Run: %v", err)
	}
	b.page()
	if store.saves != 1 || !strings.Contains(out.String(), "MFA:          no (amr: pwd)") {
		t.Errorf("saves = %d, output:\n%s", store.saves, out.String())
	}
}

// runDevice starts a device sign-in and returns the user code once issued.
func runDevice(t *testing.T, fake *fakepartner.Server, o Options, store Store) (userCode string, done chan error) {
	t.Helper()
	done = make(chan error, 1)
	go func() {
		_, err := Run(ctxFor(t, 60*time.Second), o, store)
		done <- err
	}()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if codes := fake.DeviceCodes(); len(codes) > 0 {
			return codes[0].UserCode, done
		}
		select {
		case err := <-done:
			t.Fatalf("Run ended before a device code was issued: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatal("no device code was requested")
	return "", nil
}

func wait(t *testing.T, done chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(60 * time.Second):
		t.Fatal("the device sign-in did not end")
		return nil
	}
}

func TestDevice_SignsInAndSavesAPublicToken(t *testing.T) {
	fake := fakepartner.New()
	t.Cleanup(fake.Close)
	fake.SetDeviceCodeTiming(15*time.Minute, time.Second)
	var out bytes.Buffer
	o := options(fake, &out)
	o.Device = true
	o.OpenBrowser = func(string) error { t.Error("the device flow opened a browser"); return nil }
	store := &memStore{}
	userCode, done := runDevice(t, fake, o, store)
	if err := fake.ApproveDevice(userCode); err != nil {
		t.Fatal(err)
	}
	if err := wait(t, done); err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	calls := fake.TokenCalls()
	last := calls[len(calls)-1]
	if last.Status != http.StatusOK || last.Form.Has("client_secret") {
		t.Errorf("final poll: status %d, client_secret sent = %v; want 200 without a secret", last.Status, last.Form.Has("client_secret"))
	}
	if store.saves != 1 || !store.public || store.tok.Reveal() != last.IssuedRefreshToken {
		t.Errorf("store: saves=%d public=%v; want the issued token saved once as public", store.saves, store.public)
	}
	for _, want := range []string{userCode, "https://microsoft.com/devicelogin", fakepartner.DefaultAccount.UPN, "MFA:          yes", "public"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	noSecrets(t, fake, out.String())
}

// TestDevice_SlowDownIncreasesTheInterval: after slow_down the client waits
// the interval plus 5 s (RFC 8628 §3.5) before polling again.
func TestDevice_SlowDownIncreasesTheInterval(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 6 s for the slowed-down poll")
	}
	fake := fakepartner.New()
	t.Cleanup(fake.Close)
	fake.SetDeviceCodeTiming(15*time.Minute, time.Second)
	fake.SlowDownDevicePolls(1)
	var out bytes.Buffer
	o := options(fake, &out)
	o.Device = true
	store := &memStore{}
	userCode, done := runDevice(t, fake, o, store)
	if err := fake.ApproveDevice(userCode); err != nil {
		t.Fatal(err)
	}
	if err := wait(t, done); err != nil {
		t.Fatalf("Run: %v", err)
	}
	var polls []time.Time
	for _, c := range fake.TokenCalls() {
		polls = append(polls, c.At)
	}
	if len(polls) != 2 {
		t.Fatalf("polls = %d, want 2 (slow_down, then the token)", len(polls))
	}
	if gap := polls[1].Sub(polls[0]); gap < 5500*time.Millisecond {
		t.Errorf("second poll came %v after slow_down, want at least the 1 s interval + 5 s", gap)
	}
}

func TestDevice_Failures(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(*fakepartner.Server)
		act    func(*fakepartner.Server, string)
		code   string
		advice string
	}{
		{"declined", func(*fakepartner.Server) {}, func(f *fakepartner.Server, uc string) { _ = f.DeclineDevice(uc) },
			"authorization_declined", "declined"},
		{"expired", func(*fakepartner.Server) {}, func(f *fakepartner.Server, _ string) { f.ExpireDeviceCodes() },
			"AADSTS70020", "expired"},
		{"public client flows not allowed", func(f *fakepartner.Server) {
			f.SetAppRegistration(fakepartner.AppRegistration{LocalhostPlatform: fakepartner.PlatformWeb})
		}, func(*fakepartner.Server, string) {}, "AADSTS7000218", `"Allow public client flows" to Yes`},
		{"token from another tenant", func(f *fakepartner.Server) {
			id := fakepartner.DefaultAccount
			id.TenantID = "9d8c7b6a-0000-4000-8000-000000000099"
			f.SetAccount(id)
		}, func(f *fakepartner.Server, uc string) { _ = f.ApproveDevice(uc) }, "tenant_mismatch", "not to PARTNER_TENANT_ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := fakepartner.New()
			t.Cleanup(fake.Close)
			fake.SetDeviceCodeTiming(15*time.Minute, time.Second)
			tt.setup(fake)
			var out bytes.Buffer
			o := options(fake, &out)
			o.Device = true
			store := &memStore{}
			userCode, done := runDevice(t, fake, o, store)
			tt.act(fake, userCode)
			err := wait(t, done)
			var e *Error
			if !errors.As(err, &e) || e.Code != tt.code || !strings.Contains(e.Error(), tt.advice) {
				t.Fatalf("Run = %v, want %s mentioning %q", err, tt.code, tt.advice)
			}
			if store.saves != 0 {
				t.Errorf("a failed sign-in was saved")
			}
			noSecrets(t, fake, out.String(), err.Error())
		})
	}
}

// TestDevice_StopsAtExpiry: with nobody signing in, polling ends when the code
// expires rather than running on.
func TestDevice_StopsAtExpiry(t *testing.T) {
	fake := fakepartner.New()
	t.Cleanup(fake.Close)
	fake.SetDeviceCodeTiming(2*time.Second, time.Second)
	o := options(fake, io.Discard)
	o.Device = true
	_, done := runDevice(t, fake, o, &memStore{})
	err := wait(t, done)
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(e.Error(), "expired") {
		t.Fatalf("Run = %v, want the expiry explained", err)
	}
}

// TestBrowser_TokenEndpointRedirectIsNotFollowed: the code redemption carries
// the code, its verifier and the client secret; a redirect from the token
// endpoint must not carry them anywhere else.
func TestBrowser_TokenEndpointRedirectIsNotFollowed(t *testing.T) {
	fake := fakepartner.New()
	t.Cleanup(fake.Close)
	var stolen sync.Mutex
	hits := 0
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stolen.Lock()
		hits++
		stolen.Unlock()
	}))
	t.Cleanup(elsewhere.Close)
	fake.AddFault(fakepartner.Fault{PathContains: "/oauth2/v2.0/token", Status: http.StatusTemporaryRedirect, Location: elsewhere.URL + "/token", Times: 1})
	var out bytes.Buffer
	b := newBrowser(t)
	o := options(fake, &out)
	o.OpenBrowser = b.open
	store := &memStore{}
	_, err := Run(ctxFor(t, 30*time.Second), o, store)
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(e.Error(), "redirect") {
		t.Fatalf("Run = %v, want the redirect refused", err)
	}
	b.page()
	stolen.Lock()
	defer stolen.Unlock()
	if hits != 0 || store.saves != 0 {
		t.Errorf("the redirect was followed (%d requests elsewhere) or something was saved", hits)
	}
	noSecrets(t, fake, out.String(), err.Error())
}
