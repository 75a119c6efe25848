// Package nofollow makes HTTP clients that never follow a redirect.
//
// locksmith's outgoing requests carry secrets in their bodies and headers: the
// reset PATCH holds the new password, the token request the refresh token and
// the client secret, a Slack chat.postEphemeral the password again. Go's
// http.Client follows 307 and 308 redirects by re-sending the same body (and,
// to the same host, the same headers), so one redirect, from a misconfigured
// proxy or a hostile endpoint, would hand the secret to whatever host the
// Location names, and a 2xx from there would count as success. None of the
// APIs locksmith calls answers with a redirect, so a client from this package
// treats any 3xx as an error and sends nothing further.
package nofollow

import (
	"fmt"
	"net/http"
)

// RedirectError is the error (wrapped in *url.Error by http.Client) for a 3xx
// answer. It names the status and the host the Location points to, never its
// path or query and never the response body.
type RedirectError struct {
	Status int
	// Host is the host the Location header names (the request's own host for a
	// relative one); "" when there is no usable Location.
	Host string
}

func (e *RedirectError) Error() string {
	if e.Host == "" {
		return fmt.Sprintf("refused to follow an HTTP %d redirect", e.Status)
	}
	return fmt.Sprintf("refused to follow an HTTP %d redirect to host %s", e.Status, e.Host)
}

// Client returns a client that behaves like base (timeout, cookie jar,
// transport; http.DefaultTransport when base or its Transport is nil) except
// that any 3xx answer is returned as a *RedirectError and no request follows
// it. base itself is not changed.
func Client(base *http.Client) *http.Client {
	c := &http.Client{}
	if base != nil {
		*c = *base
	}
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	if _, ok := next.(transport); !ok {
		c.Transport = transport{next: next}
	}
	// The transport already turns every 3xx into an error, so this is never
	// reached; it stays so that a later change there cannot start following.
	c.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		return &RedirectError{Status: req.Response.StatusCode, Host: req.URL.Host}
	}
	return c
}

// transport turns 3xx answers into errors before http.Client can act on them.
type transport struct{ next http.RoundTripper }

func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.StatusCode < 300 || resp.StatusCode > 399 {
		return resp, err
	}
	// The body is closed unread: whatever a redirect says is not for us.
	resp.Body.Close()
	e := &RedirectError{Status: resp.StatusCode}
	if loc, err := resp.Location(); err == nil {
		e.Host = loc.Host
	}
	return nil, e
}
