package bot

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/locksmithbot/locksmith/commands"
)

// manualClock is a clock the test moves.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// pipeDial dials a TCP listener through w's dialer and returns the client end
// (as the WebSocket dialer would get it) and the server end.
func pipeDial(t *testing.T, w *socketWatch) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = w.dialer().NetDialContext(t.Context(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// sendByte writes one byte from server and reads it on client, as a frame or
// PING arriving would.
func sendByte(t *testing.T, client, server net.Conn) {
	t.Helper()
	if _, err := server.Write([]byte{0}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
}

func wantHealth(t *testing.T, err error, suspect bool, contains string) {
	t.Helper()
	var he *HealthError
	if !errors.As(err, &he) {
		t.Fatalf("health = %v, want a *HealthError containing %q", err, contains)
	}
	if he.Suspect != suspect || !strings.Contains(err.Error(), contains) {
		t.Fatalf("health = %q (suspect %v), want suspect %v and %q", err, he.Suspect, suspect, contains)
	}
}

// The suspect logic on its own, with a clock the test moves: silence beyond
// the limit makes a connected socket suspect; bytes arriving on it again, or
// a new socket coming up, clear that; a repeated Hello on the silent socket
// does not.
func TestSocketWatch_SuspectUntilFramesOrANewSocket(t *testing.T) {
	const limit, pingTimeout = time.Second, 4 * time.Second
	clock := &manualClock{t: time.Unix(1_700_000_000, 0)}
	w := newSocketWatch(clock.now)
	health := func() error { return w.health(limit, pingTimeout) }

	wantHealth(t, health(), false, "Slack socket not connected")
	w.connecting(1)
	clock.advance(1500 * time.Millisecond)
	wantHealth(t, health(), false, "not connected: connecting (attempt 1, for 1.5s)")

	c1, s1 := pipeDial(t, w)
	w.connected()
	if err := health(); err != nil {
		t.Fatalf("just connected: %v", err)
	}
	clock.advance(limit)
	if err := health(); err != nil {
		t.Fatalf("silent for exactly the limit: %v", err)
	}
	clock.advance(200 * time.Millisecond)
	wantHealth(t, health(), true, "Slack socket suspect: no frame or ping for 1.2s (limit 1s; slack-go reconnects after 4s without a ping)")
	if !w.connectedNow() {
		t.Fatal("a suspect socket is still connected")
	}

	sendByte(t, c1, s1) // a PING arrives after all
	if err := health(); err != nil {
		t.Fatalf("bytes arrived on the socket again: %v", err)
	}

	clock.advance(12 * time.Second)
	wantHealth(t, health(), true, "no frame or ping for 12s (limit 1s;")
	w.connected() // a late Hello on the same socket proves nothing
	wantHealth(t, health(), true, "no frame or ping for 12s")

	// slack-go gives up on it: not connected, then a new socket.
	w.connecting(1)
	wantHealth(t, health(), false, "connecting (attempt 1, for 0s)")
	w.connecting(2) // a failed attempt and a retry keep counting from the first
	clock.advance(3 * time.Second)
	wantHealth(t, health(), false, "connecting (attempt 2, for 3s)")
	c2, s2 := pipeDial(t, w)
	sendByte(t, c1, s1) // the old socket's bytes no longer count
	w.connected()
	if err := health(); err != nil {
		t.Fatalf("a new socket is up: %v", err)
	}
	clock.advance(2 * time.Second)
	wantHealth(t, health(), true, "no frame or ping for 2s")
	sendByte(t, c2, s2)
	if err := health(); err != nil {
		t.Fatalf("bytes on the new socket: %v", err)
	}

	w.down(phaseRefused)
	wantHealth(t, health(), false, "not connected: Slack refused SLACK_APP_TOKEN")
	w.down(phaseIdle)
	wantHealth(t, health(), false, "Slack socket not connected")
}

// The whole path: slack-go dials through the watched dialer, the fake stalls
// the socket, Health turns suspect while slack-go still holds the old socket
// (the fake has seen no other), and healthy once slack-go has replaced it.
func TestHealth_StalledSocketIsSuspectUntilReplaced(t *testing.T) {
	h := start(t, &fakeWorkflow{slash: func(_ context.Context, in commands.Invocation) commands.Reply {
		return commands.Reply{Text: "reply " + in.Text}
	}}, func(c *Config) {
		// The fake pings every 200 ms: 1 s of silence is five missed PINGs.
		c.SuspectAfter = time.Second
		c.PingTimeout = 4 * time.Second
	})
	waitUntil(t, h.ctx, "Health() nil", func() bool { return h.bot.Health() == nil })

	if id := h.fake.Stall(); id != 1 {
		t.Fatalf("Stall() = %d, want 1", id)
	}
	var suspect error
	waitUntil(t, h.ctx, "Health() suspect", func() bool {
		suspect = h.bot.Health()
		var he *HealthError
		return errors.As(suspect, &he) && he.Suspect
	})
	if n, open := h.fake.Connections(), h.fake.OpenConnections(); n != 1 || open != 1 {
		t.Fatalf("suspect only after slack-go replaced the socket: %d sockets opened, %d open; want 1 and 1", n, open)
	}
	if !strings.Contains(suspect.Error(), "Slack socket suspect: no frame or ping for") {
		t.Fatalf("Health() = %q", suspect)
	}

	waitUntil(t, h.ctx, "Health() nil again", func() bool { return h.bot.Health() == nil })
	if n := h.fake.Connections(); n < 2 {
		t.Fatalf("healthy again on the stalled socket (%d sockets opened)", n)
	}
	if err := h.fake.WaitConnectionClosed(h.ctx, 1); err != nil {
		t.Fatal(err)
	}
	env, err := h.fake.SlashCommand(h.ctx, alice, helpdesk, command, "after the stall")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.fake.WaitAck(h.ctx, env); err != nil {
		t.Fatal(err)
	}
	checkClean(t, h.fake)
}

// Real Slack is wss://: with NetDialContext set, the dialer still does TLS
// itself and verifies the certificate, and the reads it counts are the TLS
// connection's.
func TestSocketDialer_WSSStillVerifiesTLS(t *testing.T) {
	up := websocket.Upgrader{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(rw, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		// Only when asked, so the frame cannot arrive with the handshake.
		if _, _, err := conn.ReadMessage(); err != nil {
			return
		}
		_ = conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"hello"}`))
		_, _, _ = conn.ReadMessage() // until the client closes
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below is expected
	srv.StartTLS()
	defer srv.Close()
	url := "wss" + strings.TrimPrefix(srv.URL, "https")
	clock := &manualClock{t: time.Unix(1_700_000_000, 0)}
	w := newSocketWatch(clock.now)

	// The test server's certificate is not one the system trusts: refused.
	if conn, _, err := w.dialer().DialContext(t.Context(), url, nil); err == nil {
		conn.Close()
		t.Fatal("dialled wss:// with an untrusted certificate")
	} else if !errors.As(err, new(x509.UnknownAuthorityError)) && !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted certificate: err = %v, want a certificate error", err)
	}

	d := w.dialer()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	d.TLSClientConfig = &tls.Config{RootCAs: pool}
	conn, _, err := d.DialContext(t.Context(), url, nil)
	if err != nil {
		t.Fatalf("wss:// dial: %v", err)
	}
	defer conn.Close()
	w.connected()
	clock.advance(5 * time.Second)
	wantHealth(t, w.health(time.Second, 4*time.Second), true, "no frame or ping for 5s")
	if err := conn.WriteMessage(websocket.TextMessage, []byte("go")); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := conn.ReadMessage(); err != nil || string(msg) != `{"type":"hello"}` {
		t.Fatalf("read over wss: %q, %v", msg, err)
	}
	if err := w.health(time.Second, 4*time.Second); err != nil {
		t.Fatalf("a frame arrived over TLS: %v", err)
	}
}
