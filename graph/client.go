package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/locksmithbot/locksmith/internal/nofollow"
	"github.com/locksmithbot/locksmith/internal/retry"
	"github.com/locksmithbot/locksmith/internal/secret"
)

// Defaults for Config fields left zero.
const (
	DefaultBaseURL       = "https://graph.microsoft.com"
	DefaultAuthorityHost = "https://login.microsoftonline.com/"

	defaultMaxAttempts    = 4
	defaultAttemptTimeout = 20 * time.Second
	// defaultRetryBudget is the longest total Retry-After the client waits out
	// for one logical call. Graph throttles per tenant and app; a technician
	// waiting in Slack should hear "unknown" rather than wait minutes.
	defaultRetryBudget = 30 * time.Second

	backoffBase = 200 * time.Millisecond
	backoffCap  = 5 * time.Second

	maxBody      = 8 << 20
	maxErrorBody = 64 << 10
	// maxPages bounds how far a paged list is followed: a user in thousands of
	// groups is not what these lists are for, and a loop in nextLink must end.
	maxPages = 50
)

// PartnerToken is the partner's newest App+User refresh token. Public is true
// when it was issued to a public client (a device-code sign-in): Entra then
// refuses a client secret with the redemption.
type PartnerToken struct {
	Token  secret.Token
	Public bool
}

// RefreshTokenFunc returns the partner's newest refresh token. It is read,
// never replaced, by this package: partner.Client owns its rotation.
type RefreshTokenFunc func(ctx context.Context) (PartnerToken, error)

// Config configures a Client.
type Config struct {
	BaseURL       string // GRAPH_URL, default DefaultBaseURL
	AuthorityHost string // AZURE_AUTHORITY_HOST, default DefaultAuthorityHost
	ClientID      string // PARTNER_CLIENT_ID: the same app registration as Partner Center's
	ClientSecret  secret.Token
	RefreshToken  RefreshTokenFunc
	HTTPClient    *http.Client // nil → a client with transport timeouts; redirects are never followed either way
	Logger        *slog.Logger // nil → discard
	MaxAttempts   int          // per logical call, default 4
	// AttemptTimeout bounds one HTTP attempt, default 20 s.
	AttemptTimeout time.Duration
	// RetryBudget bounds the total time spent waiting on Retry-After and
	// backoff in one logical call, default 30 s. Past it a throttled call
	// fails with KindThrottled.
	RetryBudget time.Duration
	// Observe, if set, is called after every HTTP attempt with a route template
	// ("GET /users/{id}"), the status (0 for a transport error) and the latency.
	Observe func(endpoint string, status int, elapsed time.Duration)
}

// Client calls Microsoft Graph in customer tenants. Safe for concurrent use.
type Client struct {
	cfg       Config
	base      *url.URL
	authority string // with a trailing slash
	http      *http.Client
	log       *slog.Logger
	tokens    *tokenCache

	// Seams for tests in this package.
	sleep func(ctx context.Context, d time.Duration) error
	now   func() time.Time
	newID func() string
}

// New checks cfg and returns a Client. It does no I/O.
func New(cfg Config) (*Client, error) {
	switch {
	case strings.TrimSpace(cfg.ClientID) == "":
		return nil, errors.New("graph: Config.ClientID (PARTNER_CLIENT_ID) is required")
	case cfg.ClientSecret.IsZero():
		return nil, errors.New("graph: Config.ClientSecret (PARTNER_CLIENT_SECRET) is required")
	case cfg.RefreshToken == nil:
		return nil, errors.New("graph: Config.RefreshToken is required")
	case cfg.MaxAttempts < 0, cfg.AttemptTimeout < 0, cfg.RetryBudget < 0:
		return nil, errors.New("graph: Config.MaxAttempts, AttemptTimeout and RetryBudget must not be negative")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.AuthorityHost == "" {
		cfg.AuthorityHost = DefaultAuthorityHost
	}
	base, err := parseHTTPURL("BaseURL (GRAPH_URL)", cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	auth, err := parseHTTPURL("AuthorityHost (AZURE_AUTHORITY_HOST)", cfg.AuthorityHost)
	if err != nil {
		return nil, err
	}
	base.Path = strings.TrimSuffix(base.Path, "/")
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = defaultMaxAttempts
	}
	if cfg.AttemptTimeout == 0 {
		cfg.AttemptTimeout = defaultAttemptTimeout
	}
	if cfg.RetryBudget == 0 {
		cfg.RetryBudget = defaultRetryBudget
	}
	c := &Client{
		cfg:       cfg,
		base:      base,
		authority: strings.TrimSuffix(auth.String(), "/") + "/",
		http:      newHTTPClient(cfg.HTTPClient),
		log:       cfg.Logger,
		sleep:     retry.Sleep,
		now:       time.Now,
		newID:     uuid.NewString,
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.tokens = newTokenCache(c)
	return c, nil
}

func parseHTTPURL(field, raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("graph: Config.%s must be an absolute http(s) URL without query, got %q", field, raw)
	}
	return u, nil
}

// newHTTPClient returns hc made never to follow a redirect, or the bounded
// default: with a bearer token for a customer tenant in the request, nothing
// but GRAPH_URL and the authority may receive it.
func newHTTPClient(hc *http.Client) *http.Client {
	if hc == nil {
		return nofollow.Default()
	}
	return nofollow.Client(hc)
}

type correlationKey struct{}

// WithCorrelationID returns a context whose Graph calls log id as their
// correlation ID, joining them to the Slack request and the audit trail.
func WithCorrelationID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, correlationKey{}, id)
}

func correlationID(ctx context.Context) string {
	id, _ := ctx.Value(correlationKey{}).(string)
	return id
}

// call is one logical Graph request: one client-request-id, retried as a whole.
type call struct {
	op       string // "read user"
	endpoint string // "GET /users/{id}", for metrics and logs
	tenant   string
	method   string
	url      string // absolute; for paging, the nextLink verbatim
	body     []byte
	// idempotent calls are retried after 5xx and transport failures; others
	// (creating a Temporary Access Pass) only after 429, which Graph documents
	// as "not processed".
	idempotent bool
	// forbidden is the advice for a 403: which GDAP role or permission is missing.
	forbidden string
	// advanced marks an OData cast on a directory-object collection, which
	// Graph serves only as an advanced query (ConsistencyLevel: eventual and $count).
	advanced bool
	out      any // decoded 2xx body; nil drains it
	secrets  []string

	clientRequestID string
}

// do runs cl with bounded retries honouring Retry-After.
func (c *Client) do(ctx context.Context, cl *call) error {
	cl.clientRequestID = c.newID()
	var waited time.Duration
	reauthorised := false
	for attempt := 1; ; attempt++ {
		tok, err := c.tokens.token(ctx, cl.tenant)
		if err != nil {
			return c.tokenFailure(cl, err)
		}
		e, again := c.attempt(ctx, cl, attempt, tok)
		if e == nil {
			return nil
		}
		if err := ctx.Err(); err != nil {
			e.Err = err
			return e
		}
		// An access token can die before its expiry (revocation, clock skew):
		// get a new one once.
		if e.Status == http.StatusUnauthorized && !reauthorised && attempt < c.cfg.MaxAttempts {
			reauthorised = true
			c.tokens.invalidate(cl.tenant, tok)
			continue
		}
		if !again || attempt >= c.cfg.MaxAttempts {
			return e
		}
		wait := backoff(attempt)
		if e.RetryAfter > 0 {
			wait = e.RetryAfter
		}
		if waited+wait > c.cfg.RetryBudget || !retry.FitsDeadline(ctx, wait, c.now()) {
			return e
		}
		waited += wait
		c.log.LogAttrs(ctx, slog.LevelWarn, "graph call failed; retrying",
			slog.String("op", cl.op), slog.String("endpoint", cl.endpoint), slog.String("tenant", cl.tenant),
			slog.Int("status", e.Status), slog.String("code", e.Code), slog.Int("attempt", attempt),
			slog.Float64("wait_seconds", wait.Seconds()), slog.String("client_request_id", cl.clientRequestID),
			slog.String("correlation_id", correlationID(ctx)))
		if err := c.sleep(ctx, wait); err != nil {
			e.Err = err
			return e
		}
	}
}

func (c *Client) tokenFailure(cl *call, err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return &Error{Kind: KindUnavailable, Op: cl.op, TenantID: cl.tenant, ClientRequestID: cl.clientRequestID, Err: err}
	}
	e2 := *e
	e2.Op = cl.op + ": " + e.Op
	e2.ClientRequestID = cl.clientRequestID
	return &e2
}

// attempt makes one HTTP request; retry reports whether another may succeed.
func (c *Client) attempt(ctx context.Context, cl *call, n int, tok secret.Token) (_ *Error, again bool) {
	fail := func(kind Kind, status int, err error) *Error {
		return &Error{Kind: kind, Op: cl.op, TenantID: cl.tenant, Status: status, ClientRequestID: cl.clientRequestID, Err: err}
	}
	actx, cancel := context.WithTimeout(ctx, c.cfg.AttemptTimeout)
	defer cancel()
	var body io.Reader
	if cl.body != nil {
		body = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(actx, cl.method, cl.url, body)
	if err != nil {
		return fail(KindRejected, 0, err), false
	}
	req.Header.Set("Authorization", "Bearer "+tok.Reveal())
	req.Header.Set("Accept", "application/json")
	req.Header.Set("client-request-id", cl.clientRequestID)
	req.Header.Set("return-client-request-id", "true")
	if cl.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if cl.advanced {
		req.Header.Set("ConsistencyLevel", "eventual")
	}
	start := c.now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.observe(ctx, cl, n, 0, "", start)
		var re *nofollow.RedirectError
		if errors.As(err, &re) {
			e := fail(KindUnavailable, re.Status, err)
			e.Advice = "Microsoft Graph answered with a redirect, which locksmith never follows: check GRAPH_URL"
			return e, false
		}
		// The URL in a transport error holds only the path and query, never the
		// token; the pass is never in a URL.
		return fail(KindUnavailable, 0, err), cl.idempotent && retry.Transport(err)
	}
	defer resp.Body.Close()
	reqID := resp.Header.Get("request-id")
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		if cl.out == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
			c.observe(ctx, cl, n, resp.StatusCode, reqID, start)
			return nil, false
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		c.observe(ctx, cl, n, resp.StatusCode, reqID, start)
		if err != nil {
			return fail(KindUnavailable, resp.StatusCode, err), cl.idempotent
		}
		err = json.Unmarshal(data, cl.out)
		// The body may hold a Temporary Access Pass: keep no copy of it here.
		clear(data)
		if err != nil {
			e := fail(KindUnavailable, resp.StatusCode, nil)
			e.Message = "response is not the expected JSON"
			return e, false
		}
		return nil, false
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	c.observe(ctx, cl, n, resp.StatusCode, reqID, start)
	e := fail(kindForStatus(resp.StatusCode), resp.StatusCode, nil)
	var bodyReqID string
	// Graph is not known to echo credentials; scrub them anyway.
	e.Code, e.Message, bodyReqID = decodeGraphError(data, append(append(cl.secrets, tok.Reveal()), c.tokens.scrubList()...))
	e.RequestID = firstNonEmpty(reqID, bodyReqID)
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		e.RetryAfter, _ = retry.ParseRetryAfter(resp.Header.Get("Retry-After"), c.now())
		e.Advice = "Microsoft Graph is throttling locksmith in this tenant; try again in a few minutes"
		return e, true
	case http.StatusForbidden:
		if looksLikeLicence(e.Code, e.Message) {
			e.Kind = KindNoLicence
			e.Advice = "the customer tenant has no Microsoft Entra ID P2 (or ID Governance) licence, so PIM data cannot be read"
		} else {
			e.Advice = cl.forbidden
		}
	case http.StatusNotFound:
		e.Advice = ""
	}
	if resp.StatusCode < 500 {
		return e, false
	}
	e.RetryAfter, _ = retry.ParseRetryAfter(resp.Header.Get("Retry-After"), c.now())
	// 503 means the request was not processed, so even a create may be retried.
	return e, resp.StatusCode == http.StatusServiceUnavailable ||
		(cl.idempotent && resp.StatusCode != http.StatusNotImplemented)
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (c *Client) observe(ctx context.Context, cl *call, attempt, status int, requestID string, start time.Time) {
	elapsed := c.now().Sub(start)
	if c.cfg.Observe != nil {
		c.cfg.Observe(cl.endpoint, status, elapsed)
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "graph call",
		slog.String("op", cl.op), slog.String("endpoint", cl.endpoint), slog.String("tenant", cl.tenant),
		slog.Int("status", status), slog.Int("attempt", attempt), slog.Float64("elapsed_seconds", elapsed.Seconds()),
		slog.String("client_request_id", cl.clientRequestID), slog.String("request_id", requestID),
		slog.String("correlation_id", correlationID(ctx)))
}

// endpointURL builds base + /v1.0 + path with the query. Path segments that
// come from input (object IDs) are escaped by the caller with url.PathEscape.
func (c *Client) endpointURL(path string, q url.Values) string {
	u := *c.base
	u.Path += "/v1.0" + path
	u.RawPath = ""
	u.RawQuery = encodeQuery(q)
	return u.String()
}

// encodeQuery encodes OData options keeping "$" literal: Graph accepts %24
// too, but the documented form is the readable one.
func encodeQuery(q url.Values) string {
	return strings.ReplaceAll(q.Encode(), "%24", "$")
}

// sameOrigin reports whether a nextLink points at the configured Graph host:
// the bearer token must never go anywhere else.
func (c *Client) sameOrigin(link string) bool {
	u, err := url.Parse(link)
	return err == nil && u.Scheme == c.base.Scheme && u.Host == c.base.Host
}

// page is one page of a Graph collection.
type page[T any] struct {
	Value    []T    `json:"value"`
	NextLink string `json:"@odata.nextLink"`
}

// list follows @odata.nextLink verbatim until it is absent.
func list[T any](ctx context.Context, c *Client, first *call) ([]T, error) {
	var all []T
	cl := first
	for i := 0; ; i++ {
		var p page[T]
		cl.out = &p
		if err := c.do(ctx, cl); err != nil {
			return nil, err
		}
		all = append(all, p.Value...)
		if p.NextLink == "" {
			return all, nil
		}
		if i+1 >= maxPages || !c.sameOrigin(p.NextLink) {
			return nil, &Error{Kind: KindUnavailable, Op: first.op, TenantID: first.tenant,
				Message: "the collection's next page is too far or on another host; not followed"}
		}
		next := *first
		next.url = p.NextLink
		cl = &next
	}
}

// backoff is the wait after attempt n failed.
func backoff(n int) time.Duration { return retry.Backoff(n, backoffBase, backoffCap) }
