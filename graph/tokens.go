package graph

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
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/locksmithbot/locksmith/internal/nofollow"
	"github.com/locksmithbot/locksmith/internal/retry"
	"github.com/locksmithbot/locksmith/internal/secret"
)

// graphScope asks for every delegated Graph permission consented for the app
// in the customer tenant. No offline_access: locksmith wants no refresh token
// from a customer tenant (see tokenCache).
const graphScope = "https://graph.microsoft.com/.default"

// expiryMargin: a cached token is replaced this long before it expires.
const expiryMargin = 2 * time.Minute

// tokenCache holds one Graph access token per customer tenant. Concurrent
// callers missing the same tenant share one redemption; the redemption runs on
// a context detached from the first caller's cancellation so one impatient
// caller does not fail the others.
//
// Any refresh_token in a customer-tenant answer is discarded on purpose: the
// partner's refresh token has one owner (partner.Client), which rotates and
// stores it. A second writer here would fork that chain between tenants and
// replicas; reading it is enough because the same token redeems in every
// tenant the service account reaches through GDAP.
type tokenCache struct {
	c     *Client
	mu    sync.Mutex
	byTen map[string]cachedToken
	// lastRT is the partner refresh token last redeemed, kept only so that
	// error text from Graph can be scrubbed of it.
	lastRT secret.Token
	flight singleflight.Group
}

type cachedToken struct {
	tok        secret.Token
	validUntil time.Time
}

func newTokenCache(c *Client) *tokenCache {
	return &tokenCache{c: c, byTen: map[string]cachedToken{}}
}

func (tc *tokenCache) cached(tenant string) (secret.Token, bool) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	ct, ok := tc.byTen[tenant]
	if !ok || !tc.c.now().Before(ct.validUntil) {
		return secret.Token{}, false
	}
	return ct.tok, true
}

// scrubList is what server text must never show: the credentials in play.
func (tc *tokenCache) scrubList() []string {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return []string{tc.lastRT.Reveal(), tc.c.cfg.ClientSecret.Reveal()}
}

func (tc *tokenCache) invalidate(tenant string, refused secret.Token) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if ct, ok := tc.byTen[tenant]; ok && ct.tok.Reveal() == refused.Reveal() {
		delete(tc.byTen, tenant)
	}
}

// flightTimeout bounds one redemption including its retries.
func (tc *tokenCache) flightTimeout() time.Duration {
	n := time.Duration(tc.c.cfg.MaxAttempts)
	return n*tc.c.cfg.AttemptTimeout + tc.c.cfg.RetryBudget
}

func (tc *tokenCache) token(ctx context.Context, tenant string) (secret.Token, error) {
	if t, ok := tc.cached(tenant); ok {
		return t, nil
	}
	ch := tc.flight.DoChan(tenant, func() (any, error) {
		if t, ok := tc.cached(tenant); ok {
			return t, nil
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tc.flightTimeout())
		defer cancel()
		return tc.redeem(fctx, tenant)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return secret.Token{}, r.Err
		}
		return r.Val.(secret.Token), nil
	case <-ctx.Done():
		return secret.Token{}, &Error{Kind: KindUnavailable, Op: "get Graph token", TenantID: tenant, Err: ctx.Err()}
	}
}

type tokenResponse struct {
	AccessToken string      `json:"access_token"`
	ExpiresIn   json.Number `json:"expires_in"`
}

type tokenError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	Codes       []int  `json:"error_codes"`
}

func (tc *tokenCache) redeem(ctx context.Context, tenant string) (secret.Token, error) {
	c := tc.c
	const op = "get Graph token"
	pt, err := c.cfg.RefreshToken(ctx)
	rt := pt.Token
	if err != nil || rt.IsZero() {
		return secret.Token{}, &Error{Kind: KindUnauthorised, Op: op, TenantID: tenant,
			Advice: "no partner refresh token is available: sign in again with MFA and set PARTNER_REFRESH_TOKEN", Err: err}
	}
	tc.mu.Lock()
	tc.lastRT = rt
	tc.mu.Unlock()
	secrets := []string{rt.Reveal(), c.cfg.ClientSecret.Reveal()}
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {rt.Reveal()},
		"client_id":     {c.cfg.ClientID},
		"scope":         {graphScope},
	}
	if !pt.Public {
		form.Set("client_secret", c.cfg.ClientSecret.Reveal())
	}
	tokenURL := c.authority + url.PathEscape(tenant) + "/oauth2/v2.0/token"
	var waited time.Duration
	for attempt := 1; ; attempt++ {
		tok, lifetime, e, again := tc.post(ctx, tokenURL, tenant, form, secrets, attempt)
		if e == nil {
			now := c.now()
			tc.mu.Lock()
			tc.byTen[tenant] = cachedToken{tok: tok, validUntil: now.Add(lifetime - min(expiryMargin, lifetime/4))}
			tc.mu.Unlock()
			c.log.LogAttrs(ctx, slog.LevelInfo, "graph access token obtained", slog.String("tenant", tenant),
				slog.Float64("lifetime_seconds", lifetime.Seconds()), slog.String("correlation_id", correlationID(ctx)))
			return tok, nil
		}
		if !again || attempt >= c.cfg.MaxAttempts {
			return secret.Token{}, e
		}
		wait := backoff(attempt)
		if e.RetryAfter > 0 {
			wait = e.RetryAfter
		}
		if waited+wait > c.cfg.RetryBudget || !retry.FitsDeadline(ctx, wait, c.now()) {
			return secret.Token{}, e
		}
		waited += wait
		if err := c.sleep(ctx, wait); err != nil {
			e.Err = err
			return secret.Token{}, e
		}
	}
}

func (tc *tokenCache) post(ctx context.Context, tokenURL, tenant string, form url.Values, secrets []string, attempt int) (secret.Token, time.Duration, *Error, bool) {
	c := tc.c
	const op, endpoint = "get Graph token", "POST /{tenant}/oauth2/v2.0/token"
	fail := func(kind Kind, status int) *Error {
		return &Error{Kind: kind, Op: op, TenantID: tenant, Status: status}
	}
	actx, cancel := context.WithTimeout(ctx, c.cfg.AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		e := fail(KindUnavailable, 0)
		e.Message = clean(err.Error(), secrets)
		return secret.Token{}, 0, e, false
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	start := c.now()
	resp, err := c.http.Do(req)
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	if c.cfg.Observe != nil {
		c.cfg.Observe(endpoint, status, c.now().Sub(start))
	}
	if err != nil {
		e := fail(KindUnavailable, 0)
		e.Message = clean(err.Error(), secrets)
		var re *nofollow.RedirectError
		return secret.Token{}, 0, e, retry.Transport(err) && !errors.As(err, &re)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	c.log.LogAttrs(ctx, slog.LevelDebug, "graph token call", slog.String("tenant", tenant), slog.Int("status", status),
		slog.Int("attempt", attempt), slog.String("correlation_id", correlationID(ctx)))
	if status == http.StatusOK {
		var tr tokenResponse
		if json.Unmarshal(data, &tr) != nil || tr.AccessToken == "" {
			e := fail(KindUnavailable, status)
			e.Message = "token response lacks access_token"
			return secret.Token{}, 0, e, false
		}
		secs, err := strconv.ParseInt(tr.ExpiresIn.String(), 10, 64)
		if err != nil || secs <= 0 {
			secs = 300
		}
		return secret.NewToken(tr.AccessToken), time.Duration(secs) * time.Second, nil, false
	}
	if status == http.StatusTooManyRequests || status >= 500 {
		e := fail(kindForStatus(status), status)
		e.RetryAfter, _ = retry.ParseRetryAfter(resp.Header.Get("Retry-After"), c.now())
		return secret.Token{}, 0, e, true
	}
	var te tokenError
	_ = json.Unmarshal(data, &te)
	e := fail(KindUnauthorised, status)
	e.Kind, e.Code, e.Advice = tokenAdvice(te, tenant, c.cfg.ClientID)
	e.Message = clean(te.Description, secrets)
	return secret.Token{}, 0, e, false
}

var aadstsRE = regexp.MustCompile(`AADSTS(\d+)`)

// tokenAdvice turns a customer-tenant token error into a kind, a code and
// the operator's next step. Codes are matched as numbers from error_codes or
// the description; Microsoft warns the text changes, so the text is shown,
// never parsed beyond the code.
func tokenAdvice(te tokenError, tenant, clientID string) (Kind, string, string) {
	codes := append([]int(nil), te.Codes...)
	for _, m := range aadstsRE.FindAllStringSubmatch(te.Description, -1) {
		if n, err := strconv.Atoi(m[1]); err == nil {
			codes = append(codes, n)
		}
	}
	reconsent := "sign in again with MFA and set PARTNER_REFRESH_TOKEN"
	for _, n := range codes {
		code := fmt.Sprintf("AADSTS%d", n)
		switch n {
		case 65001, 700016, 7000112:
			return KindNotConsented, code, fmt.Sprintf("locksmith's app is not consented in customer tenant %s: run `locksmith consent %s`", tenant, tenant)
		case 50020, 50034, 90072, 500011:
			return KindNoRelationship, code, fmt.Sprintf("the partner service account cannot sign in to customer tenant %s: there is no active GDAP relationship with that customer (or it has expired); create or renew it in Partner Center", tenant)
		case 50076, 50079:
			return KindUnauthorised, code, "customer tenant " + tenant + " requires MFA the refresh token does not carry: " + reconsent
		case 700082, 50173, 70043, 50132, 50133, 50055:
			return KindUnauthorised, code, "the partner refresh token is expired or revoked: " + reconsent
		case 53003:
			return KindNoRelationship, code, "a Conditional Access policy in customer tenant " + tenant + " blocks the partner service account; exclude it or sign in from an allowed location"
		}
	}
	code := te.Error
	if len(codes) > 0 {
		code = fmt.Sprintf("AADSTS%d", codes[0])
	}
	switch te.Error {
	case "invalid_client", "unauthorized_client":
		return KindUnauthorised, code, fmt.Sprintf("the client secret of app %s is wrong or expired: create a new one and set PARTNER_CLIENT_SECRET", clientID)
	case "invalid_grant":
		return KindUnauthorised, code, "the partner refresh token was refused in customer tenant " + tenant + ": " + reconsent
	}
	return KindUnauthorised, code, "the token endpoint refused a Graph token for customer tenant " + tenant + ": check AZURE_AUTHORITY_HOST and the app registration"
}
