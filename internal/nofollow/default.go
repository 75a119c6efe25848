package nofollow

import (
	"net"
	"net/http"
	"time"
)

// Default returns the client locksmith's API clients (Partner Center, Entra,
// Microsoft Graph) use when none is configured: each phase of a connection is
// bounded (dial, TLS handshake, waiting for response headers), so a silent
// peer cannot hold a request past its attempt's deadline by itself, and no
// redirect is followed. The whole attempt is bounded by the caller's context.
func Default() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = 30 * time.Second
	t.IdleConnTimeout = 90 * time.Second
	t.MaxIdleConnsPerHost = 16
	return Client(&http.Client{Transport: t})
}
