package signin

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/locksmithbot/locksmith/internal/nofollow"
	"github.com/locksmithbot/locksmith/internal/secret"
	"github.com/locksmithbot/locksmith/partner"
)

// scopes asks for Partner Center (user_impersonation), a refresh token
// (offline_access), and an ID token naming the account (openid profile).
var scopes = append(strings.Fields(partner.Scope), "openid", "profile")

// Store keeps the refresh token a sign-in produced. public says it was issued
// to a public client and must be redeemed without the client secret.
type Store interface {
	SaveSignIn(ctx context.Context, tok secret.Token, issuedAt time.Time, public bool) error
}

// Options configure one sign-in.
type Options struct {
	AuthorityHost string // e.g. https://login.microsoftonline.com/
	TenantID      string // PARTNER_TENANT_ID: the only tenant whose tokens are accepted
	ClientID      string
	ClientSecret  secret.Token // sent in the browser flow only (see the package doc)

	// Device selects the device-code flow instead of the browser.
	Device bool
	// Account, if set, is offered to the browser sign-in as the account to use
	// (login_hint), so the operator does not sign in as themselves by habit.
	Account string
	// OpenBrowser opens the sign-in URL; nil only prints it (--no-browser).
	OpenBrowser func(url string) error
	// AllowWithoutMFA saves a token whose claims do not show MFA. Partner
	// Center refuses such tokens, so this is for tenants whose MFA claim
	// locksmith cannot read, at the operator's own judgement.
	AllowWithoutMFA bool

	HTTPClient *http.Client // nil: a client with a 30 s timeout
	Out        io.Writer    // instructions and the summary; never a token
	Now        func() time.Time
}

// Result describes a saved sign-in.
type Result struct {
	Identity partner.Identity
	Public   bool
	IssuedAt time.Time
}

// Run signs in, shows who signed in, refuses a foreign tenant (and, unless
// allowed, a token without MFA), and saves the refresh token in store. Nothing
// is saved when it returns an error; its errors are *Error.
func Run(ctx context.Context, o Options, store Store) (Result, error) {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	// The token requests carry the code, its verifier and the client secret: a
	// redirect must not re-send them elsewhere.
	o.HTTPClient = nofollow.Client(o.HTTPClient)
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	authority := strings.TrimSuffix(o.AuthorityHost, "/") + "/" + url.PathEscape(o.TenantID) + "/oauth2/v2.0/"
	s := &session{o: o, secrets: []string{o.ClientSecret.Reveal()}, endpoint: oauth2.Endpoint{
		AuthURL:       authority + "authorize",
		TokenURL:      authority + "token",
		DeviceAuthURL: authority + "devicecode",
		// One shape on the wire: x/oauth2's default probes Basic first.
		AuthStyle: oauth2.AuthStyleInParams,
	}}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, o.HTTPClient)

	f, public := flowBrowser, false
	var tok *oauth2.Token
	var err error
	finish := func(bool, string) {}
	if o.Device {
		f, public = flowDevice, true
		tok, err = s.device(ctx)
	} else {
		tok, finish, err = s.browser(ctx)
	}
	if err != nil {
		return Result{}, explain(f, err, s.secretsWith(tok))
	}
	s.secrets = s.secretsWith(tok)
	res, err := s.accept(ctx, tok, public, store)
	if err != nil {
		finish(false, "locksmith did not save this sign-in: "+err.Error())
		return Result{}, err
	}
	finish(true, fmt.Sprintf("Signed in as %s. locksmith saved the sign-in; you can close this tab.", display(res.Identity)))
	return res, nil
}

type session struct {
	o        Options
	endpoint oauth2.Endpoint
	secrets  []string // scrubbed from anything shown
}

// secretsWith adds a token's values to the strings that must never be shown.
func (s *session) secretsWith(tok *oauth2.Token) []string {
	out := append([]string(nil), s.secrets...)
	if tok != nil {
		out = append(out, tok.AccessToken, tok.RefreshToken)
		if id, ok := tok.Extra("id_token").(string); ok {
			out = append(out, id)
		}
	}
	return out
}

// accept checks the tokens' claims, shows them, and saves the refresh token.
func (s *session) accept(ctx context.Context, tok *oauth2.Token, public bool, store Store) (Result, error) {
	out := s.o.Out
	idToken, _ := tok.Extra("id_token").(string)
	id, tenants, err := identityFrom(idToken, tok.AccessToken)
	if err != nil {
		return Result{}, &Error{Code: "unreadable_token", Advice: "the tokens Entra returned have no readable claims, so the account and tenant cannot be checked; nothing was saved"}
	}
	fmt.Fprintf(out, "\nSigned in as: %s\n", display(id))
	foreign := ""
	for _, t := range tenants {
		if !strings.EqualFold(t, s.o.TenantID) {
			foreign = t
		}
	}
	if foreign == "" {
		fmt.Fprintf(out, "Tenant:       %s (PARTNER_TENANT_ID)\n", terminalSafe(id.TenantID))
	} else {
		fmt.Fprintf(out, "Tenant:       %s (NOT PARTNER_TENANT_ID %s)\n", terminalSafe(foreign), s.o.TenantID)
	}
	amr := terminalSafe(strings.Join(id.AMR, ", "))
	switch {
	case id.MFA:
		fmt.Fprintf(out, "MFA:          yes (amr: %s)\n", amr)
	case len(id.AMR) == 0:
		fmt.Fprintln(out, "MFA:          not shown (the access token has no amr claim)")
	default:
		fmt.Fprintf(out, "MFA:          no (amr: %s)\n", amr)
	}
	if len(id.ACRS) > 0 {
		fmt.Fprintf(out, "Auth context: %s\n", terminalSafe(strings.Join(id.ACRS, ", ")))
	}
	if public {
		fmt.Fprintln(out, "Client type:  public (device code): the bot will redeem this token without the client secret")
	}

	switch {
	case foreign != "":
		return Result{}, &Error{Code: "tenant_mismatch", Advice: fmt.Sprintf(
			"the token belongs to tenant %s, not to PARTNER_TENANT_ID %s: sign in as the partner tenant's service account (nothing was saved)", terminalSafe(foreign), s.o.TenantID)}
	case tok.RefreshToken == "":
		return Result{}, &Error{Code: "no_refresh_token", Advice: "Entra returned no refresh token (offline_access was not granted): check the app's API permissions and consent, then run `locksmith login` again (nothing was saved)"}
	case !id.MFA && !s.o.AllowWithoutMFA:
		return Result{}, &Error{Code: "no_mfa", Advice: "the token does not show MFA (Partner Center requires amr to contain \"mfa\" for App+User calls and answers 401 with code 900421 otherwise): sign in again and complete MFA, or require MFA for the service account with Conditional Access; --allow-without-mfa saves such a token anyway (nothing was saved)"}
	}
	now := s.o.Now()
	if err := store.SaveSignIn(ctx, secret.NewToken(tok.RefreshToken), now, public); err != nil {
		return Result{}, &Error{Code: "store", Advice: "saving the refresh token in the database failed: " + scrub(err.Error(), s.secrets)}
	}
	return Result{Identity: id, Public: public, IssuedAt: now}, nil
}

// config is the x/oauth2 view of the app: with the client secret for the
// confidential browser flow, without it for the public device flow.
func (s *session) config(redirect string, clientSecret secret.Token) *oauth2.Config {
	return &oauth2.Config{ClientID: s.o.ClientID, ClientSecret: clientSecret.Reveal(),
		Endpoint: s.endpoint, RedirectURL: redirect, Scopes: scopes}
}

// randomState is the state parameter: 32 random bytes, base64url.
func randomState() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
