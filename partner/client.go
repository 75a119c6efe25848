package partner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/locksmithbot/locksmith/internal/nofollow"
	"github.com/locksmithbot/locksmith/internal/secret"
)

// Defaults for Config fields left zero.
const (
	DefaultBaseURL       = "https://api.partnercenter.microsoft.com"
	DefaultAuthorityHost = "https://login.microsoftonline.com/"

	defaultMaxAttempts    = 4 // the SDK's 3 retries (§2.1)
	defaultAttemptTimeout = 20 * time.Second
	defaultUserCacheTTL   = 5 * time.Minute
	// A customer's name, domain and tenant ID barely change; two minutes
	// saves the lookup on a second reset in the same customer (and on the
	// workflow's repeated lookups of one request) without outliving, by much,
	// a relationship that ends. Partner Center itself still refuses the reset
	// of a customer whose relationship or GDAP access has gone.
	defaultCustomerCacheTTL = 2 * time.Minute
	// maxCachedCustomers bounds the customer cache; an MSP with more active
	// customers than this in two minutes only loses some hits.
	maxCachedCustomers = 1024

	// appName is sent as MS-PartnerCenter-Application (§2.1).
	appName = "locksmith"
	// maxBody caps what is read from one response. A page of 100 users is a
	// few tens of kilobytes; anything near this is not Partner Center.
	maxBody = 16 << 20
	// maxErrorBody caps what is read from an error response.
	maxErrorBody = 64 << 10
)

// Config configures a Client. Secrets arrive as secret.Token so that a logged
// Config prints "[redacted]" for them.
type Config struct {
	BaseURL        string // PARTNER_CENTER_URL, default DefaultBaseURL
	AuthorityHost  string // AZURE_AUTHORITY_HOST, default DefaultAuthorityHost (a trailing / is added if missing)
	TenantID       string // PARTNER_TENANT_ID: the partner's own tenant
	ClientID       string // PARTNER_CLIENT_ID
	ClientSecret   secret.Token
	RefreshToken   secret.Token  // PARTNER_REFRESH_TOKEN; a token in Tokens (Load) takes precedence
	Tokens         TokenStore    // where rotated refresh tokens are kept; nil → in memory
	HTTPClient     *http.Client  // nil → a client with transport timeouts; redirects are never followed either way
	Logger         *slog.Logger  // nil → discard
	MaxAttempts    int           // attempts per logical call, default 4
	AttemptTimeout time.Duration // per attempt, default 20 s
	UserCacheTTL   time.Duration // how long UserByUPN trusts what paging learned, default 5 min
	// CustomerCacheTTL is how long Customer reuses a customer record it fetched
	// by tenant ID, default 2 min.
	CustomerCacheTTL time.Duration
	// Observe, if set, is called after every HTTP attempt (token endpoint
	// included) with a route template such as "GET /v1/customers/{id}/users",
	// the status (0 for a transport error) and the attempt's latency.
	Observe func(endpoint string, status int, elapsed time.Duration)
}

// Client calls Partner Center. It is safe for concurrent use.
type Client struct {
	cfg       Config
	base      string // BaseURL without a trailing slash
	baseHost  string
	tokenURL  string
	http      *http.Client
	log       *slog.Logger
	tokens    *tokenSource
	users     *userCache
	customers *ttlCache[Customer] // by lower-case tenant ID

	// Seams for tests, set only by tests in this package.
	sleep func(ctx context.Context, d time.Duration) error
	now   func() time.Time
	newID func() string
}

// New checks cfg, fills in defaults and returns a Client. It does no I/O: the
// first call (or CheckAuth) redeems the refresh token.
func New(cfg Config) (*Client, error) {
	switch {
	case strings.TrimSpace(cfg.TenantID) == "":
		return nil, errors.New("partner: Config.TenantID (PARTNER_TENANT_ID) is required")
	case strings.TrimSpace(cfg.ClientID) == "":
		return nil, errors.New("partner: Config.ClientID (PARTNER_CLIENT_ID) is required")
	case cfg.ClientSecret.IsZero():
		return nil, errors.New("partner: Config.ClientSecret (PARTNER_CLIENT_SECRET) is required")
	case cfg.RefreshToken.IsZero() && cfg.Tokens == nil:
		return nil, errors.New("partner: Config.RefreshToken (PARTNER_REFRESH_TOKEN) is required when no token store is configured")
	case cfg.MaxAttempts < 0:
		return nil, errors.New("partner: Config.MaxAttempts must not be negative")
	case cfg.AttemptTimeout < 0:
		return nil, errors.New("partner: Config.AttemptTimeout must not be negative")
	case cfg.UserCacheTTL < 0:
		return nil, errors.New("partner: Config.UserCacheTTL must not be negative")
	case cfg.CustomerCacheTTL < 0:
		return nil, errors.New("partner: Config.CustomerCacheTTL must not be negative")
	}
	if strings.ContainsAny(cfg.TenantID, "/?#") {
		return nil, errors.New("partner: Config.TenantID (PARTNER_TENANT_ID) must be a tenant ID or domain, not a URL")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.AuthorityHost == "" {
		cfg.AuthorityHost = DefaultAuthorityHost
	}
	base, err := parseHTTPURL("BaseURL (PARTNER_CENTER_URL)", cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	auth, err := parseHTTPURL("AuthorityHost (AZURE_AUTHORITY_HOST)", cfg.AuthorityHost)
	if err != nil {
		return nil, err
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = defaultMaxAttempts
	}
	if cfg.AttemptTimeout == 0 {
		cfg.AttemptTimeout = defaultAttemptTimeout
	}
	if cfg.UserCacheTTL == 0 {
		cfg.UserCacheTTL = defaultUserCacheTTL
	}
	if cfg.CustomerCacheTTL == 0 {
		cfg.CustomerCacheTTL = defaultCustomerCacheTTL
	}
	if cfg.Tokens == nil {
		cfg.Tokens = NewMemoryTokenStore()
	}
	c := &Client{
		cfg:      cfg,
		base:     strings.TrimSuffix(base.String(), "/"),
		baseHost: base.Host,
		tokenURL: strings.TrimSuffix(auth.String(), "/") + "/" + url.PathEscape(strings.TrimSpace(cfg.TenantID)) + "/oauth2/v2.0/token",
		http:     cfg.HTTPClient,
		log:      cfg.Logger,
		sleep:    sleepCtx,
		now:      time.Now,
		newID:    uuid.NewString,
	}
	// The PATCH body holds the password and the token form the refresh token
	// and client secret: whatever client is used, a redirect is never followed.
	if c.http == nil {
		c.http = nofollow.Default()
	} else {
		c.http = nofollow.Client(c.http)
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.tokens = newTokenSource(c)
	c.users = newUserCache()
	c.customers = newTTLCache[Customer](cfg.CustomerCacheTTL, maxCachedCustomers)
	return c, nil
}

func parseHTTPURL(field, raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("partner: Config.%s must be an absolute http(s) URL without query, got %q", field, raw)
	}
	return u, nil
}

type correlationKey struct{}

// WithCorrelationID returns a context whose Partner Center calls carry id as
// MS-CorrelationId: one per Slack request, so that the bot's logs, the audit
// trail and Microsoft's support can join on it (§2.1: the SDK's practice).
func WithCorrelationID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, correlationKey{}, id)
}

// CorrelationID returns the ID set by WithCorrelationID, or "".
func CorrelationID(ctx context.Context) string {
	id, _ := ctx.Value(correlationKey{}).(string)
	return id
}

// call is one logical Partner Center request: one MS-RequestId, retried as a
// whole.
type call struct {
	op       string // for errors: "get customer"
	endpoint string // route template for metrics: "GET /v1/customers/{id}"
	method   string
	path     string // absolute path under the base URL, with /v1
	rawQuery string
	header   http.Header // extra headers (continuation tokens)
	body     []byte      // JSON, sent again on each attempt
	// secrets are scrubbed from any text that comes back in an error.
	secrets []string
	// out receives the decoded 2xx body; nil drains and discards it (the
	// reset's response echoes the password and must never be read into memory
	// that outlives the call).
	out any

	requestID     string
	correlationID string
}

// do runs cl with retries. The same MS-RequestId and MS-CorrelationId go out on
// every attempt: the docs make MS-RequestId the idempotency key, which is what
// makes retrying the reset PATCH safe (§2.1).
func (c *Client) do(ctx context.Context, cl *call) error {
	cl.requestID = c.newID()
	if cl.correlationID == "" {
		cl.correlationID = correlationFor(ctx, c.newID)
	}
	// applied remembers that an attempt of a write may have been carried out;
	// every error returned from here on says so (see Error.MaybeApplied).
	applied := false
	fail := func(err error) error {
		if applied {
			return markApplied(err)
		}
		return err
	}
	reauthorised := false
	for attempt := 1; ; attempt++ {
		tok, err := c.tokens.token(ctx)
		if err != nil {
			// Not retried here: the token source retried what was worth it.
			return fail(c.tokenFailure(cl, err))
		}
		e, retry, reached := c.attempt(ctx, cl, attempt, tok)
		if e == nil {
			return nil
		}
		applied = applied || (reached && cl.writes())
		if err := ctx.Err(); err != nil {
			return fail(withCause(e, err))
		}
		// A 401 may be an access token that died early (revoked, clock skew):
		// mint a new one and try once more. Not for the MFA code: a new token
		// from the same refresh token has the same claims.
		if e.Status == http.StatusUnauthorized && !reauthorised && e.Code != codeMFARequired && attempt < c.cfg.MaxAttempts {
			reauthorised = true
			c.tokens.invalidate(tok.AccessToken)
			c.log.LogAttrs(ctx, slog.LevelWarn, "partner call unauthorised; renewing the access token",
				slog.String("endpoint", cl.endpoint), slog.String("request_id", cl.requestID),
				slog.String("correlation_id", cl.correlationID))
			continue
		}
		if !retry || attempt >= c.cfg.MaxAttempts {
			return fail(e)
		}
		wait := backoff(attempt)
		if e.Status == http.StatusTooManyRequests && e.RetryAfter > 0 {
			if e.RetryAfter > maxRetryAfter {
				return fail(e)
			}
			wait = e.RetryAfter
		}
		if !fitsDeadline(ctx, wait, c.now()) {
			return fail(e)
		}
		c.log.LogAttrs(ctx, slog.LevelWarn, "partner call failed; retrying",
			slog.String("op", cl.op), slog.String("endpoint", cl.endpoint), slog.Int("status", e.Status),
			slog.String("code", e.Code), slog.Int("attempt", attempt), slog.Float64("wait_seconds", wait.Seconds()),
			slog.String("request_id", cl.requestID), slog.String("correlation_id", cl.correlationID))
		if err := c.sleep(ctx, wait); err != nil {
			return fail(withCause(e, err))
		}
	}
}

// writes reports whether the call changes something in Partner Center, so
// that an attempt that reached it may have been carried out.
func (cl *call) writes() bool {
	return cl.method != http.MethodGet && cl.method != http.MethodHead
}

// tokenFailure reports a failure to obtain an access token as the call's error.
func (c *Client) tokenFailure(cl *call, err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return &Error{Kind: KindUnauthorised, Op: cl.op, RequestID: cl.requestID, CorrelationID: cl.correlationID, Err: err}
	}
	e2 := *e
	e2.Op = cl.op + ": " + e.Op
	e2.RequestID, e2.CorrelationID = cl.requestID, cl.correlationID
	return &e2
}

// withCause attaches the context's error to the last failure when the caller's
// context ended, so errors.Is(err, context.DeadlineExceeded) holds while the
// kind still names what Partner Center last said.
func withCause(e *Error, cause error) *Error {
	if e.Err == nil || !errors.Is(e.Err, cause) {
		e2 := *e
		e2.Err = cause
		if e2.Kind == KindUnknown {
			e2.Kind = KindUnavailable
		}
		return &e2
	}
	return e
}

func correlationFor(ctx context.Context, newID func() string) string {
	if id := CorrelationID(ctx); id != "" {
		return id
	}
	return newID()
}

// attempt makes one HTTP request. retry reports whether another attempt may
// succeed; reached, for a failed attempt, whether Partner Center may have
// received the whole request and acted on it: it answered with a 5xx (other
// than 501 and 505, which say the request was not understood), or the
// connection failed after the request was written. A request that never left
// (no connection, refused, a certificate that did not verify) did not.
func (c *Client) attempt(ctx context.Context, cl *call, n int, tok *oauth2.Token) (_ *Error, retry, reached bool) {
	fail := func(kind Kind, status int, err error) *Error {
		return &Error{Kind: kind, Status: status, Op: cl.op, RequestID: cl.requestID, CorrelationID: cl.correlationID, Err: err}
	}
	actx, cancel := context.WithTimeout(ctx, c.cfg.AttemptTimeout)
	defer cancel()
	var body io.Reader
	if cl.body != nil {
		body = bytes.NewReader(cl.body)
	}
	// wrote is set once the request line and headers are on the wire: from
	// then on a lost connection may have lost the answer, not the request.
	var wrote atomic.Bool
	actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{
		WroteHeaders: func() { wrote.Store(true) },
	})
	req, err := http.NewRequestWithContext(actx, cl.method, c.base+cl.path, body)
	if err != nil {
		return fail(KindRejected, 0, err), false, false
	}
	req.URL.RawQuery = cl.rawQuery
	for k, vs := range cl.header {
		req.Header[k] = vs
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("MS-RequestId", cl.requestID)
	req.Header.Set("MS-CorrelationId", cl.correlationID)
	req.Header.Set("X-Locale", "en-US")
	req.Header.Set("MS-PartnerCenter-Application", appName)
	if cl.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	start := c.now()
	resp, err := c.http.Do(req)
	if re := redirectOf(err); re != nil {
		c.observe(ctx, cl, n, re.Status, start)
		e := fail(KindRejected, re.Status, re)
		e.Description = "Partner Center answered with a redirect, which locksmith never follows: check PARTNER_CENTER_URL"
		return e, false, false
	}
	if err != nil {
		c.observe(ctx, cl, n, 0, start)
		return fail(KindUnavailable, 0, err), retryableTransport(err), wrote.Load()
	}
	defer resp.Body.Close()

	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if cl.out == nil {
			// Drain so the connection can be reused; keep nothing.
			_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
			c.observe(ctx, cl, n, resp.StatusCode, start)
			if err != nil {
				// The write happened; losing its echo does not matter.
				c.log.LogAttrs(ctx, slog.LevelDebug, "partner response not drained",
					slog.String("endpoint", cl.endpoint), slog.String("request_id", cl.requestID))
			}
			return nil, false, true
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		c.observe(ctx, cl, n, resp.StatusCode, start)
		if err != nil {
			return fail(KindUnavailable, resp.StatusCode, err), true, true
		}
		if err := json.Unmarshal(bytes.TrimPrefix(data, bom), cl.out); err != nil {
			e := fail(KindUnavailable, resp.StatusCode, nil)
			e.Description = "response is not the expected JSON: " + jsonErrorText(err)
			return e, false, true
		}
		return nil, false, true
	}

	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	c.observe(ctx, cl, n, resp.StatusCode, start)
	e := fail(kindForStatus(resp.StatusCode), resp.StatusCode, nil)
	e.Code, e.Description = decodeFault(data, cl.secrets)
	if e.Description == "" {
		e.Description = http.StatusText(resp.StatusCode)
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		e.RetryAfter, _ = parseRetryAfter(resp.Header.Get("Retry-After"), c.now())
	}
	if resp.StatusCode == http.StatusUnauthorized && e.Code == codeMFARequired {
		e.Description = "the Partner Center token carries no MFA claim: sign in again interactively with MFA and set PARTNER_REFRESH_TOKEN"
	}
	reached = resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented &&
		resp.StatusCode != http.StatusHTTPVersionNotSupported
	return e, retryableStatus(resp.StatusCode), reached
}

// redirectOf returns the redirect an HTTP client from nofollow refused, or nil.
func redirectOf(err error) *nofollow.RedirectError {
	var re *nofollow.RedirectError
	if errors.As(err, &re) {
		return re
	}
	return nil
}

// jsonErrorText describes a decode failure without quoting the body.
func jsonErrorText(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at offset %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q has type %s, want %s", te.Field, te.Value, te.Type)
	default:
		return "unreadable"
	}
}

func (c *Client) observe(ctx context.Context, cl *call, attempt, status int, start time.Time) {
	elapsed := c.now().Sub(start)
	if c.cfg.Observe != nil {
		c.cfg.Observe(cl.endpoint, status, elapsed)
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "partner call",
		slog.String("op", cl.op), slog.String("endpoint", cl.endpoint), slog.Int("status", status),
		slog.Int("attempt", attempt), slog.Float64("elapsed_seconds", elapsed.Seconds()),
		slog.String("request_id", cl.requestID), slog.String("correlation_id", cl.correlationID))
}

// codeMFARequired is the ApiFault code for an App+User token without the mfa
// amr claim (§1.4).
const codeMFARequired = "900421"
