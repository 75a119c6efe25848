package partner

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// maxPages bounds one listing: 500 pages of 100 users is a 50,000-user tenant.
// A server that keeps answering with a next page beyond that is not ending.
const maxPages = 500

// headerContinuation carries the seek cursor (§3.3, §4.2).
const headerContinuation = "MS-ContinuationToken"

// collection is Partner Center's list envelope (§3.3). totalCount is the
// length of this page, not a grand total, so it is not read.
type collection[T any] struct {
	Items []T `json:"items"`
	// ContinuationToken is nil when absent, "" on the last page of a seek
	// listing (EMPIRICAL, §4.2).
	ContinuationToken *string `json:"continuationToken"`
	Links             struct {
		Next *link `json:"next"`
	} `json:"links"`
}

// link is a hypermedia link: a relative uri without /v1, and headers to send
// with it (§3.3).
type link struct {
	URI     string `json:"uri"`
	Method  string `json:"method"`
	Headers []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	} `json:"headers"`
}

// list fetches first and each following page, handing every page's items to
// visit until visit returns false or the listing ends. All pages share one
// MS-CorrelationId; each page is its own logical call with its own
// MS-RequestId.
func list[T any](ctx context.Context, c *Client, first call, visit func([]T) bool) error {
	corr := correlationFor(ctx, c.newID)
	next := first
	seen := make(map[string]bool)
	for n := 1; ; n++ {
		if n > maxPages {
			return &Error{Kind: KindUnavailable, Op: first.op, CorrelationID: corr,
				Description: fmt.Sprintf("the listing did not end after %d pages", maxPages)}
		}
		var page collection[T]
		cl := next
		cl.out = &page
		cl.correlationID = corr
		if err := c.do(ctx, &cl); err != nil {
			return err
		}
		if !visit(page.Items) {
			return nil
		}
		var more bool
		var nerr *Error
		next, more, nerr = c.nextPage(first, page.ContinuationToken, page.Links.Next)
		if nerr != nil {
			nerr.RequestID, nerr.CorrelationID = cl.requestID, corr
			return nerr
		}
		if !more {
			return nil
		}
		key := next.path + "?" + next.rawQuery + "#" + next.header.Get(headerContinuation)
		if seen[key] {
			return &Error{Kind: KindUnavailable, Op: first.op, RequestID: cl.requestID, CorrelationID: corr,
				Description: "the listing sent the same next page twice"}
		}
		seen[key] = true
	}
}

// nextPage decides the request for the following page. Both paging styles of
// the SDK are accepted: follow links.next (prefixing /v1, sending its
// headers), or seek with ?seekOperation=Next and MS-ContinuationToken. The
// listing ends on an empty continuationToken, or when neither is present.
func (c *Client) nextPage(first call, token *string, next *link) (call, bool, *Error) {
	if token != nil && *token == "" {
		return call{}, false, nil
	}
	cl := first
	cl.header = make(http.Header)
	switch {
	case next != nil && next.URI != "":
		if m := next.Method; m != "" && !strings.EqualFold(m, http.MethodGet) {
			return call{}, false, &Error{Kind: KindUnavailable, Op: first.op,
				Description: fmt.Sprintf("links.next uses method %q, want GET", m)}
		}
		path, query, err := c.linkTarget(next.URI)
		if err != nil {
			return call{}, false, &Error{Kind: KindUnavailable, Op: first.op, Description: err.Error()}
		}
		cl.path, cl.rawQuery = path, query
		for _, h := range next.Headers {
			if h.Key != "" {
				cl.header.Set(h.Key, h.Value)
			}
		}
		if cl.header.Get(headerContinuation) == "" && token != nil {
			cl.header.Set(headerContinuation, *token)
		}
	case token != nil:
		cl.rawQuery = "seekOperation=Next"
		cl.header.Set(headerContinuation, *token)
	default:
		return call{}, false, nil
	}
	return cl, true, nil
}

// linkTarget turns a links.next uri into a path under the base URL. Links are
// relative and lack /v1 (§3.3). An absolute link is accepted only for the base
// URL's own host: the bearer token goes with the request.
func (c *Client) linkTarget(uri string) (path, query string, err error) {
	u, err := url.Parse(uri)
	if err != nil {
		return "", "", fmt.Errorf("links.next uri does not parse")
	}
	if u.IsAbs() || u.Host != "" {
		if !strings.EqualFold(u.Host, c.baseHost) {
			return "", "", fmt.Errorf("links.next points at another host (%s)", u.Host)
		}
		basePath := strings.TrimPrefix(c.base, "http://")
		basePath = strings.TrimPrefix(basePath, "https://")
		if i := strings.IndexByte(basePath, '/'); i >= 0 {
			u.Path = strings.TrimPrefix(u.Path, basePath[i:])
			u.RawPath = ""
		}
	}
	path = u.EscapedPath()
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	if path != "/v1" && !strings.HasPrefix(path, "/v1/") {
		path = "/v1" + path
	}
	return path, u.RawQuery, nil
}
