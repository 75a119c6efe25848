package partner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"

	"github.com/locksmithbot/locksmith/internal/secret"
)

// Scope is what every refresh asks for (§1.2), and what `locksmith login`
// signs in for. x/oauth2's own refresh sends no scope, which Entra answers
// with AADSTS90009 for some clients and which a Microsoft PM says not to rely
// on; offline_access makes Entra rotate the refresh token.
const Scope = "https://api.partnercenter.microsoft.com/user_impersonation offline_access"

// expiryMargin is how long before its expiry a cached access token is
// replaced, so that a token does not die between the check and the request.
const expiryMargin = 2 * time.Minute

// StoredToken is a refresh token as a TokenStore keeps it.
type StoredToken struct {
	Token    secret.Token
	IssuedAt time.Time
	// Public means the token was issued to a public client (the device-code
	// sign-in of `locksmith login --device`). Entra refuses a client secret
	// when such a token is redeemed (AADSTS700025), so it is redeemed without
	// one; tokens it rotates into stay public.
	Public bool
}

// TokenStore keeps the newest refresh token. Entra rotates the refresh token on
// every redemption and its 90-day lifetime is an inactivity window (§1.3): a
// process that restarts with the operator's original token, after months of
// rotations held only in memory, finds it expired.
type TokenStore interface {
	// Load returns the newest saved refresh token; ok is false when none is saved.
	Load(ctx context.Context) (tok StoredToken, ok bool, err error)
	// Save records a newly rotated refresh token. A Save error is logged, never fatal to the call.
	Save(ctx context.Context, tok StoredToken) error
}

// MemoryTokenStore is a TokenStore that forgets on exit: fine for `locksmith
// check` and tests, not for a long-running bot.
type MemoryTokenStore struct {
	mu  sync.Mutex
	tok StoredToken
}

// NewMemoryTokenStore returns an empty MemoryTokenStore.
func NewMemoryTokenStore() *MemoryTokenStore { return &MemoryTokenStore{} }

// Load returns the last saved token.
func (m *MemoryTokenStore) Load(context.Context) (StoredToken, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tok, !m.tok.Token.IsZero(), nil
}

// Save keeps tok unless a newer token is already saved.
func (m *MemoryTokenStore) Save(_ context.Context, tok StoredToken) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.tok.Token.IsZero() && tok.IssuedAt.Before(m.tok.IssuedAt) {
		return nil
	}
	m.tok = tok
	return nil
}

// tokenSource redeems the refresh token for Partner Center access tokens and
// caches them. Concurrent callers that find no valid token share one
// redemption (singleflight); the redemption runs on a context detached from
// the first caller's cancellation, so a caller that gives up does not fail the
// others, and each caller still stops waiting when its own context ends.
type tokenSource struct {
	c *Client

	mu         sync.Mutex // guards the fields below
	access     *oauth2.Token
	validUntil time.Time
	refresh    secret.Token // the newest refresh token this process knows
	issuedAt   time.Time    // zero while refresh is the operator's token, never redeemed
	public     bool         // refresh was issued to a public client: redeem it without the secret

	redeemMu sync.Mutex // one redemption at a time: each rotates the refresh token
	flight   singleflight.Group
}

func newTokenSource(c *Client) *tokenSource {
	return &tokenSource{c: c, refresh: c.cfg.RefreshToken}
}

// flightTimeout bounds one redemption including its retries.
func (ts *tokenSource) flightTimeout() time.Duration {
	n := time.Duration(ts.c.cfg.MaxAttempts)
	return n*ts.c.cfg.AttemptTimeout + n*backoffCap
}

func (ts *tokenSource) cached() *oauth2.Token {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.access == nil || !ts.c.now().Before(ts.validUntil) {
		return nil
	}
	t := *ts.access
	return &t
}

// invalidate drops the cached access token after Partner Center refused it
// with a 401, unless another call has already replaced it.
func (ts *tokenSource) invalidate(refused string) {
	ts.mu.Lock()
	if ts.access != nil && ts.access.AccessToken == refused {
		ts.access = nil
	}
	ts.mu.Unlock()
}

// token returns a valid access token, redeeming the refresh token if needed.
func (ts *tokenSource) token(ctx context.Context) (*oauth2.Token, error) {
	if t := ts.cached(); t != nil {
		return t, nil
	}
	ch := ts.flight.DoChan("token", func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ts.flightTimeout())
		defer cancel()
		return ts.redeem(fctx, false)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		t := *r.Val.(*oauth2.Token)
		return &t, nil
	case <-ctx.Done():
		return nil, &Error{Kind: KindUnavailable, Op: "get access token", Err: ctx.Err()}
	}
}

// redeem exchanges the newest refresh token for an access token and a rotated
// refresh token, which it hands to the TokenStore. Without force, a token
// cached meanwhile (by a redemption that held redeemMu) is returned instead.
func (ts *tokenSource) redeem(ctx context.Context, force bool) (*oauth2.Token, error) {
	ts.redeemMu.Lock()
	defer ts.redeemMu.Unlock()
	if !force {
		if t := ts.cached(); t != nil {
			return t, nil
		}
	}
	cur, fromStore := ts.newest(ctx)
	rt := cur.Token
	if rt.IsZero() {
		return nil, &Error{Kind: KindUnauthorised, Op: "redeem refresh token", Code: "no_refresh_token",
			Description: "no refresh token is configured or stored: run `locksmith login` (or set PARTNER_REFRESH_TOKEN)"}
	}
	resp, err := ts.post(ctx, rt, cur.Public)
	// The operator's answer to a dead stored token is a new PARTNER_REFRESH_TOKEN;
	// if the store's token is refused, the configured one gets its chance rather
	// than being shadowed by the store forever.
	if initial := ts.c.cfg.RefreshToken; err != nil && fromStore && KindOf(err) == KindUnauthorised &&
		!initial.IsZero() && initial.Reveal() != rt.Reveal() {
		ts.c.log.LogAttrs(ctx, slog.LevelWarn, "stored refresh token refused; trying PARTNER_REFRESH_TOKEN",
			slog.String("error", err.Error()))
		rt, cur.Public = initial, false
		resp, err = ts.post(ctx, rt, false)
	}
	if err != nil {
		return nil, err
	}

	now := ts.c.now()
	if resp.RefreshToken != "" && resp.RefreshToken != rt.Reveal() {
		rotated := StoredToken{Token: secret.NewToken(resp.RefreshToken), IssuedAt: now, Public: cur.Public}
		ts.mu.Lock()
		ts.refresh, ts.issuedAt, ts.public = rotated.Token, now, cur.Public
		ts.mu.Unlock()
		if err := ts.c.cfg.Tokens.Save(ctx, rotated); err != nil {
			ts.c.log.LogAttrs(ctx, slog.LevelError, "saving the rotated refresh token failed; it is kept in memory only",
				slog.String("error", err.Error()))
		}
	} else {
		ts.c.log.LogAttrs(ctx, slog.LevelWarn, "token endpoint returned no new refresh token; the old one stays in use")
	}

	lifetime := time.Duration(resp.ExpiresIn) * time.Second
	tok := &oauth2.Token{AccessToken: resp.AccessToken, TokenType: resp.TokenType,
		Expiry: now.Add(lifetime), ExpiresIn: resp.ExpiresIn}
	ts.mu.Lock()
	ts.access = tok
	ts.validUntil = tok.Expiry.Add(-min(expiryMargin, lifetime/4))
	ts.mu.Unlock()
	ts.c.log.LogAttrs(ctx, slog.LevelInfo, "partner access token obtained",
		slog.Time("expiry", tok.Expiry), slog.Bool("refresh_token_rotated", resp.RefreshToken != ""))
	t := *tok
	return &t, nil
}

// newest picks the refresh token to redeem: the store's, when it is at least
// as new as the one in memory (another replica, or `locksmith login`, may
// have replaced it), else the one in memory. A Load error is logged and the
// memory copy used.
func (ts *tokenSource) newest(ctx context.Context) (StoredToken, bool) {
	ts.mu.Lock()
	mem := StoredToken{Token: ts.refresh, IssuedAt: ts.issuedAt, Public: ts.public}
	ts.mu.Unlock()
	stored, ok, err := ts.c.cfg.Tokens.Load(ctx)
	if err != nil {
		ts.c.log.LogAttrs(ctx, slog.LevelWarn, "loading the stored refresh token failed; using the one in memory",
			slog.String("error", err.Error()))
		return mem, false
	}
	if ok && !stored.Token.IsZero() && (mem.Token.IsZero() || !stored.IssuedAt.Before(mem.IssuedAt)) {
		ts.mu.Lock()
		if ts.issuedAt.IsZero() || stored.IssuedAt.After(ts.issuedAt) {
			ts.refresh, ts.issuedAt, ts.public = stored.Token, stored.IssuedAt, stored.Public
		}
		ts.mu.Unlock()
		return stored, true
	}
	return mem, false
}

// tokenResponse is the v2 token endpoint's answer. expires_in is an integer
// on v2 and a string on v1 (§1.2); json.Number reads both.
type tokenResponse struct {
	AccessToken  string      `json:"access_token"`
	TokenType    string      `json:"token_type"`
	ExpiresIn    int64       `json:"-"`
	RawExpiresIn json.Number `json:"expires_in"`
	RefreshToken string      `json:"refresh_token"`
}

// tokenError is the token endpoint's error body (§1.2).
type tokenError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	Codes       []int  `json:"error_codes"`
}

// post redeems rt, retrying 429, 5xx and transport failures like do does.
// public leaves the client secret out (see StoredToken.Public).
func (ts *tokenSource) post(ctx context.Context, rt secret.Token, public bool) (*tokenResponse, error) {
	c := ts.c
	for attempt := 1; ; attempt++ {
		resp, e, retry := ts.postOnce(ctx, rt, public, attempt)
		if e == nil {
			return resp, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, withCause(e, err)
		}
		if !retry || attempt >= c.cfg.MaxAttempts {
			return nil, e
		}
		wait := backoff(attempt)
		if e.RetryAfter > 0 {
			if e.RetryAfter > maxRetryAfter {
				return nil, e
			}
			wait = e.RetryAfter
		}
		if !fitsDeadline(ctx, wait, c.now()) {
			return nil, e
		}
		c.log.LogAttrs(ctx, slog.LevelWarn, "token endpoint failed; retrying",
			slog.Int("status", e.Status), slog.Int("attempt", attempt), slog.Float64("wait_seconds", wait.Seconds()))
		if err := c.sleep(ctx, wait); err != nil {
			return nil, withCause(e, err)
		}
	}
}

func (ts *tokenSource) postOnce(ctx context.Context, rt secret.Token, public bool, attempt int) (_ *tokenResponse, _ *Error, retry bool) {
	c := ts.c
	const op = "redeem refresh token"
	endpoint := "POST /{tenant}/oauth2/v2.0/token"
	secrets := []string{rt.Reveal(), c.cfg.ClientSecret.Reveal()}
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {rt.Reveal()},
		"client_id":     {c.cfg.ClientID},
		"scope":         {Scope},
	}
	if !public {
		// AuthStyleInParams: Entra accepts Basic too, but one shape is simpler
		// to reason about and to fake (§1.6).
		form.Set("client_secret", c.cfg.ClientSecret.Reveal())
	}
	actx, cancel := context.WithTimeout(ctx, c.cfg.AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, c.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, &Error{Kind: KindUnauthorised, Op: op, Err: err}, false
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")

	start := c.now()
	observe := func(status int) {
		elapsed := c.now().Sub(start)
		if c.cfg.Observe != nil {
			c.cfg.Observe(endpoint, status, elapsed)
		}
		c.log.LogAttrs(ctx, slog.LevelDebug, "token call", slog.String("endpoint", endpoint), slog.Int("status", status),
			slog.Int("attempt", attempt), slog.Float64("elapsed_seconds", elapsed.Seconds()), slog.String("correlation_id", CorrelationID(ctx)))
	}
	resp, err := c.http.Do(req)
	if re := redirectOf(err); re != nil {
		observe(re.Status)
		return nil, &Error{Kind: KindUnauthorised, Op: op, Status: re.Status, Code: "redirect", Err: re,
			Description: "the token endpoint answered with a redirect, which locksmith never follows: check AZURE_AUTHORITY_HOST and PARTNER_TENANT_ID"}, false
	}
	if err != nil {
		observe(0)
		return nil, &Error{Kind: KindUnavailable, Op: op, Err: scrubError(err, secrets)}, retryableTransport(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	observe(resp.StatusCode)
	if err != nil {
		return nil, &Error{Kind: KindUnavailable, Op: op, Status: resp.StatusCode, Err: scrubError(err, secrets)}, true
	}
	data = trimBOM(data)

	if resp.StatusCode == http.StatusOK {
		var tr tokenResponse
		if err := json.Unmarshal(data, &tr); err != nil {
			return nil, &Error{Kind: KindUnavailable, Op: op, Status: resp.StatusCode,
				Description: "token response is not the expected JSON: " + jsonErrorText(err)}, false
		}
		n, err := strconv.ParseInt(tr.RawExpiresIn.String(), 10, 64)
		if tr.AccessToken == "" || err != nil || n <= 0 {
			return nil, &Error{Kind: KindUnavailable, Op: op, Status: resp.StatusCode,
				Description: "token response lacks access_token or expires_in"}, false
		}
		tr.ExpiresIn = n
		return &tr, nil, false
	}

	e := &Error{Kind: KindUnauthorised, Op: op, Status: resp.StatusCode}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		e.Kind = kindForStatus(resp.StatusCode)
		e.Description = http.StatusText(resp.StatusCode)
		if resp.StatusCode == http.StatusTooManyRequests {
			e.RetryAfter, _ = parseRetryAfter(resp.Header.Get("Retry-After"), c.now())
		}
		return nil, e, retryableStatus(resp.StatusCode)
	}
	var te tokenError
	_ = json.Unmarshal(data, &te)
	e.Code, e.Description = operatorAdvice(te, c.cfg.ClientID, secrets)
	return nil, e, false
}

func trimBOM(b []byte) []byte {
	if len(b) >= 3 && string(b[:3]) == string(bom) {
		return b[3:]
	}
	return b
}

// scrubError replaces an error whose text contains a secret. Transport errors
// name the URL, which for the token endpoint holds only the tenant ID; this is
// a guard against that changing.
func scrubError(err error, secrets []string) error {
	msg := err.Error()
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			return errors.New(clean(msg, secrets))
		}
	}
	return err
}

var aadstsRE = regexp.MustCompile(`AADSTS(\d+)`)

// advice maps AADSTS codes to what the operator must do (§1.2, [ENTRA-ERR]).
var advice = map[int]string{
	700082:  "the refresh token expired after 90 days without use: sign in again with `locksmith login`",
	50173:   "the refresh token was revoked (the service account's password was reset or its sessions revoked): sign in again with `locksmith login`",
	50076:   "the sign-in now requires MFA: sign in again with `locksmith login`",
	50079:   "the service account must register for MFA: complete MFA registration, sign in again with `locksmith login`",
	65001:   "the app lacks consent for Partner Center (user_impersonation): grant consent for the app, sign in again with `locksmith login`",
	70043:   "a Conditional Access sign-in frequency policy expired the refresh token: exclude the service account from sign-in frequency, sign in again with `locksmith login`",
	50132:   "the service account's password changed or expired: sign in again with `locksmith login`",
	50133:   "the service account's password changed or expired: sign in again with `locksmith login`",
	50055:   "the service account's password expired: change it, sign in again with `locksmith login`",
	90009:   "the token request named no scope: this is a locksmith bug, please report it",
	700025:  "the stored refresh token was issued through a public-client redirect (http://localhost under \"Mobile and desktop applications\"), so Entra refuses the client secret: register http://localhost under the platform Web instead and sign in again with `locksmith login`",
	7000218: "Entra wants the client secret for this refresh token but the token was saved as public (device code): set \"Allow public client flows\" back to Yes in the app registration, or sign in again with `locksmith login` (browser)",
}

// operatorAdvice turns a token endpoint error into a code ("AADSTS700082",
// or the OAuth error) and a sentence saying what the operator must do, with
// Entra's own first line appended (scrubbed of the call's secrets).
func operatorAdvice(te tokenError, clientID string, secrets []string) (code, desc string) {
	codes := slices.Clone(te.Codes)
	for _, m := range aadstsRE.FindAllStringSubmatch(te.Description, -1) {
		if n, err := strconv.Atoi(m[1]); err == nil {
			codes = append(codes, n)
		}
	}
	entra := clean(te.Description, secrets)
	code = clean(te.Error, secrets)
	for _, n := range codes {
		if msg, ok := advice[n]; ok {
			return fmt.Sprintf("AADSTS%d", n), withEntra(msg, entra)
		}
	}
	if len(codes) > 0 {
		code = fmt.Sprintf("AADSTS%d", codes[0])
	}
	switch te.Error {
	case "invalid_client", "unauthorized_client":
		return code, withEntra(fmt.Sprintf("the client secret of app %s is wrong or expired: create a new secret and set PARTNER_CLIENT_SECRET", clientID), entra)
	case "invalid_grant":
		return code, withEntra("the refresh token was refused: sign in again with `locksmith login`", entra)
	case "":
		return "token_endpoint_error", "the token endpoint refused the request without an OAuth error: check AZURE_AUTHORITY_HOST and PARTNER_TENANT_ID"
	default:
		return code, withEntra("the token endpoint refused the request: check PARTNER_TENANT_ID, PARTNER_CLIENT_ID and the app registration", entra)
	}
}

func withEntra(msg, entra string) string {
	if entra == "" {
		return msg
	}
	return msg + " (Entra: " + entra + ")"
}

// TokenSource returns the client's access tokens as an oauth2.TokenSource
// (for other Partner Center-scoped HTTP clients). Token uses a background
// context bounded by the redemption's own timeout.
func (c *Client) TokenSource() oauth2.TokenSource { return tokenSourceFunc{c.tokens} }

type tokenSourceFunc struct{ ts *tokenSource }

func (f tokenSourceFunc) Token() (*oauth2.Token, error) {
	ctx, cancel := context.WithTimeout(context.Background(), f.ts.flightTimeout())
	defer cancel()
	return f.ts.token(ctx)
}

// CheckAuth obtains an access token (a cached one if still valid), for
// `locksmith check` and /readyz.
func (c *Client) CheckAuth(ctx context.Context) error {
	_, err := c.tokens.token(ctx)
	return err
}

// RefreshNow redeems the refresh token even if the access token is still
// valid: a scheduled keep-alive that keeps the 90-day inactivity window open
// (§1.3; CIPP does the same weekly).
func (c *Client) RefreshNow(ctx context.Context) error {
	type result struct{ err error }
	ch := make(chan result, 1)
	go func() {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.tokens.flightTimeout())
		defer cancel()
		_, err := c.tokens.redeem(fctx, true)
		ch <- result{err}
	}()
	select {
	case r := <-ch:
		return r.err
	case <-ctx.Done():
		return &Error{Kind: KindUnavailable, Op: "refresh token", Err: ctx.Err()}
	}
}

// RefreshTokenIssuedAt returns when the refresh token in use was issued: by
// this process's last redemption, or as recorded by the TokenStore. It is zero
// while only the operator's initial token is known.
func (c *Client) RefreshTokenIssuedAt() time.Time {
	c.tokens.mu.Lock()
	defer c.tokens.mu.Unlock()
	return c.tokens.issuedAt
}
