package bot

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Socket dialling, as slack-go's own default dialer does it (its values are
// repeated because OptionDialer replaces that dialer as a whole).
const (
	// socketHandshakeTimeout bounds the WebSocket dial: TCP, TLS and upgrade.
	socketHandshakeTimeout = 45 * time.Second
	// socketWriteBuffer keeps every ack in one WebSocket frame: Slack ignores
	// continued frames, and an ack may be up to 20 KB (docs/slack.md §1.5).
	socketWriteBuffer = 32 * 1024
)

// phase is where the Socket Mode connection stands, as slack-go last reported.
type phase int

const (
	phaseIdle       phase = iota // Run has not connected yet, or has stopped
	phaseConnecting              // between Connecting and Connected
	phaseConnected               // Connected or Hello seen on the current socket
	phaseRefused                 // Slack refused SLACK_APP_TOKEN
)

// socketWatch knows what Health reports: the connection phase, and when
// anything last arrived on the live socket. slack-go checks only PINGs, and
// only once per ping timeout, so a half-open socket (TCP up, Slack sending
// nothing) looks connected for 30 to 60 s; the time of the last byte read
// shows it much sooner (docs/slack.md §1.6).
type socketWatch struct {
	now func() time.Time

	mu      sync.Mutex
	phase   phase
	attempt int         // connection attempt in progress (phaseConnecting)
	dialed  *socketConn // the socket dialled last
	live    *socketConn // the socket phaseConnected refers to
	since   time.Time   // when phase was entered
}

func newSocketWatch(now func() time.Time) *socketWatch {
	if now == nil {
		now = time.Now
	}
	return &socketWatch{now: now, since: now()}
}

// socketConn is a dialled socket's net.Conn that notes when a Read last
// returned bytes. Every WebSocket frame (data, PING, close) arrives through
// it, TLS records included, so "nothing read" means "nothing from Slack".
type socketConn struct {
	net.Conn
	now  func() time.Time
	last atomic.Int64 // unix nanoseconds of the last Read with data, or of the dial
}

func (c *socketConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.last.Store(c.now().UnixNano())
	}
	return n, err
}

func (c *socketConn) lastRead() time.Time { return time.Unix(0, c.last.Load()) }

// dialer is the WebSocket dialer for slack-go: its default one, except that the
// TCP connection (to Slack, or to the proxy) is a socketConn. TLS is left to
// the dialer (NetDialTLSContext stays nil), so wss:// is verified as before.
func (w *socketWatch) dialer() *websocket.Dialer {
	var nd net.Dialer
	return &websocket.Dialer{
		Proxy:            http.ProxyFromEnvironment,
		HandshakeTimeout: socketHandshakeTimeout,
		WriteBufferSize:  socketWriteBuffer,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := nd.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			sc := &socketConn{Conn: conn, now: w.now}
			sc.last.Store(w.now().UnixNano())
			w.mu.Lock()
			w.dialed = sc
			w.mu.Unlock()
			return sc, nil
		},
	}
}

// connecting records slack-go's Connecting event: the previous socket, if any,
// is gone.
func (w *socketWatch) connecting(attempt int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.phase != phaseConnecting {
		w.since = w.now()
	}
	w.phase, w.attempt, w.live = phaseConnecting, attempt, nil
}

// connected records Connected or Hello. slack-go dials one socket at a time and
// reports Connected right after the dial, so the socket dialled last is the
// one that is up. (When events lag behind, that may already be the next one;
// the Connecting that follows in the event stream corrects it.)
func (w *socketWatch) connected() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.phase != phaseConnected {
		w.since = w.now()
		w.live = w.dialed
	}
	w.phase = phaseConnected
}

// down records that no socket is up: Run ended, or slack-go's Disconnect.
func (w *socketWatch) down(p phase) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.phase, w.live, w.since = p, nil, w.now()
}

// connectedNow reports whether a socket is up, suspect or not.
func (w *socketWatch) connectedNow() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.phase == phaseConnected
}

// health is Bot.Health for the given threshold and slack-go ping timeout.
func (w *socketWatch) health(suspectAfter, pingTimeout time.Duration) error {
	w.mu.Lock()
	p, attempt, live, since := w.phase, w.attempt, w.live, w.since
	w.mu.Unlock()
	now := w.now()
	switch p {
	case phaseIdle:
		return &HealthError{Reason: "not connected"}
	case phaseRefused:
		return &HealthError{Reason: "not connected: Slack refused SLACK_APP_TOKEN"}
	case phaseConnecting:
		return &HealthError{Reason: fmt.Sprintf("not connected: connecting (attempt %d, for %s)", attempt, seconds(now.Sub(since)))}
	}
	if live == nil {
		return nil // connected through a dialer that is not watched: nothing to judge by
	}
	quiet := now.Sub(live.lastRead())
	if quiet <= suspectAfter {
		return nil
	}
	return &HealthError{Suspect: true, Reason: fmt.Sprintf(
		"suspect: no frame or ping for %s (limit %s; slack-go reconnects after %s without a ping)",
		seconds(quiet), seconds(suspectAfter), seconds(pingTimeout))}
}

// HealthError says why the Slack socket cannot be relied on (see Bot.Health).
type HealthError struct {
	// Suspect is true when a socket is up but has been silent too long, false
	// when none is up.
	Suspect bool
	Reason  string
}

func (e *HealthError) Error() string { return "Slack socket " + e.Reason }

// seconds prints d in whole seconds, or in tenths below ten seconds, so short
// test thresholds still read well.
func seconds(d time.Duration) string {
	if d >= 10*time.Second {
		return d.Round(time.Second).String()
	}
	return d.Round(100 * time.Millisecond).String()
}
