package fakeslack

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// connNumber waits until the client has been sent hello on a socket numbered at
// least min and returns the number of its latest socket, read from the host its
// hello named ("applink-fake-<n>").
func (c *client) connNumber(ctx context.Context, t *testing.T, min int) int {
	t.Helper()
	n := 0
	c.waitEvent(ctx, t, socketmode.EventTypeHello, func(e socketmode.Event) bool {
		m, err := strconv.Atoi(strings.TrimPrefix(e.Request.DebugInfo.Host, "applink-fake-"))
		if err != nil {
			t.Fatalf("hello host %q: %v", e.Request.DebugInfo.Host, err)
		}
		n = max(n, m)
		return n >= min
	})
	return n
}

// startReplicas starts two clients, the first on connection 1 and the second on 2,
// and waits until both are live.
func startReplicas(ctx context.Context, t *testing.T, s *Server, opts clientOptions) (a, b *client) {
	t.Helper()
	a = startClient(t, s, opts)
	if err := s.WaitLiveConnections(ctx, 1); err != nil {
		t.Fatal(err)
	}
	b = startClient(t, s, opts)
	if err := s.WaitLiveConnections(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if na, nb := a.connNumber(ctx, t, 1), b.connNumber(ctx, t, 1); na != 1 || nb != 2 {
		t.Fatalf("connection numbers %d and %d, want 1 and 2", na, nb)
	}
	return a, b
}

// deliver sends a slash command and checks that it reached the client on the
// connection the fake reports and was acked; it returns that connection number.
func deliver(ctx context.Context, t *testing.T, s *Server, byConn map[int]*client, text string) int {
	t.Helper()
	id, err := s.SlashCommand(ctx, alice, approvals, "/reset-password", text)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.WaitAck(ctx, id); err != nil {
		t.Fatal(err)
	}
	n, ok := s.EnvelopeConnection(id)
	c := byConn[n]
	if !ok || c == nil {
		t.Fatalf("EnvelopeConnection(%s) = %d, %v; want one of the clients' connections", id, n, ok)
	}
	c.waitEvent(ctx, t, socketmode.EventTypeSlashCommand, byEnvelope(id))
	for other, oc := range byConn {
		if other != n && oc.hasEnvelope(id) {
			t.Errorf("envelope %s for connection %d also reached connection %d", id, n, other)
		}
	}
	return n
}

// Two replicas share the envelopes; when one stops, the other gets them all.
func TestEnvelopesAreSpreadOverLiveConnections(t *testing.T) {
	s := newServer(t)
	ctx := testContext(t)
	a, b := startReplicas(ctx, t, s, clientOptions{})
	byConn := map[int]*client{1: a, 2: b}
	if n := s.LiveConnections(); n != 2 {
		t.Errorf("LiveConnections() = %d, want 2", n)
	}

	got := map[int]int{}
	for i := range 10 {
		got[deliver(ctx, t, s, byConn, "cmd "+strconv.Itoa(i))]++
	}
	if got[1] < 3 || got[2] < 3 {
		t.Errorf("envelopes per connection = %v, want at least 3 on each of 1 and 2", got)
	}

	// Clicks are spread too.
	_, ts, err := a.api.PostMessageContext(ctx, approvals, slack.MsgOptionText("fallback", false), approvalBlocks())
	if err != nil {
		t.Fatal(err)
	}
	clickConns := map[int]bool{}
	for range 2 {
		id, err := s.Click(ctx, bob, MessageRef{approvals, ts}, "approve", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.WaitAck(ctx, id); err != nil {
			t.Fatal(err)
		}
		n, _ := s.EnvelopeConnection(id)
		byConn[n].waitEvent(ctx, t, socketmode.EventTypeInteractive, byEnvelope(id))
		clickConns[n] = true
	}
	if len(clickConns) != 2 {
		t.Errorf("two clicks went to connections %v, want both", clickConns)
	}

	a.stop()
	if err := s.waitFor(ctx, func() bool { return s.liveLocked() == 1 }); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		if n := deliver(ctx, t, s, byConn, "after stop "+strconv.Itoa(i)); n != 2 {
			t.Errorf("envelope after the first replica stopped went to connection %d, want 2", n)
		}
	}
	if u := s.Unacked(); len(u) != 0 {
		t.Errorf("Unacked() = %q, want none", u)
	}
	if _, ok := s.EnvelopeConnection("no-such-envelope"); ok {
		t.Error("EnvelopeConnection of an unknown envelope reports ok")
	}
	noUnexpected(t, s)
}

// Disconnect drops only the newest socket, DisconnectAll drops every one, and the
// clients reconnect and share envelopes again.
func TestDisconnectNewestAndDisconnectAll(t *testing.T) {
	s := newServer(t)
	ctx := testContext(t)
	a, b := startReplicas(ctx, t, s, clientOptions{})

	s.Disconnect("warning")
	// Whether or not b has reconnected yet, connection 1 is next in turn.
	if n := deliver(ctx, t, s, map[int]*client{1: a}, "while b reconnects"); n != 1 {
		t.Errorf("envelope went to connection %d, want 1 (the one left)", n)
	}
	if err := s.WaitLiveConnections(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if nb := b.connNumber(ctx, t, 3); nb != 3 {
		t.Errorf("second client reconnected as connection %d, want 3", nb)
	}

	s.DisconnectAll("refresh_requested")
	if err := s.waitFor(ctx, func() bool { return s.opened == 5 && s.liveLocked() == 2 }); err != nil {
		t.Fatal(err)
	}
	if got := s.Connections(); got != 5 {
		t.Errorf("Connections() = %d, want 5", got)
	}
	byConn := map[int]*client{a.connNumber(ctx, t, 4): a, b.connNumber(ctx, t, 4): b}
	got := map[int]int{}
	for i := range 4 {
		got[deliver(ctx, t, s, byConn, "after DisconnectAll "+strconv.Itoa(i))]++
	}
	if len(got) != 2 {
		t.Errorf("envelopes per connection after DisconnectAll = %v, want both replicas", got)
	}
	if n := strings.Count(string(s.Traffic()), `"reason":"refresh_requested"`); n != 2 {
		t.Errorf("traffic has %d refresh_requested disconnect frames, want 2", n)
	}
	noUnexpected(t, s)
}

// DisconnectAll with no socket does nothing.
func TestDisconnectAllWithoutSockets(t *testing.T) {
	s := newServer(t)
	s.DisconnectAll("warning")
	s.Disconnect("warning")
	noUnexpected(t, s)
}

// An ack written on another replica's live socket is recorded but unexpected.
func TestAckOnAnotherLiveConnectionIsUnexpected(t *testing.T) {
	s := newServer(t)
	ctx := testContext(t)
	a, b := startReplicas(ctx, t, s, clientOptions{noAck: true})
	id, err := s.SlashCommand(ctx, alice, approvals, "/reset-password", "x")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := s.EnvelopeConnection(id); n != 1 {
		t.Fatalf("first envelope went to connection %d, want 1", n)
	}
	a.waitEvent(ctx, t, socketmode.EventTypeSlashCommand, byEnvelope(id))
	if err := b.sm.Ack(socketmode.Request{EnvelopeID: id}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WaitAck(ctx, id); err != nil {
		t.Fatal(err)
	}
	u := s.Unexpected()
	if len(u) != 1 || !strings.Contains(u[0], "on connection 2, but it was delivered on connection 1") {
		t.Errorf("Unexpected() = %q, want one entry about the ack on connection 2", u)
	}
}

// slack-go writes an ack still queued at a reconnect on its next socket; that is
// accepted once the socket that got the envelope is gone.
func TestAckOnTheNextSocketAfterAReconnectIsAccepted(t *testing.T) {
	s := newServer(t)
	ctx := testContext(t)
	c := startClient(t, s, clientOptions{noAck: true})
	id, err := s.SlashCommand(ctx, alice, approvals, "/reset-password", "x")
	if err != nil {
		t.Fatal(err)
	}
	evt := c.waitEvent(ctx, t, socketmode.EventTypeSlashCommand, byEnvelope(id))
	s.Disconnect("refresh_requested")
	if err := s.waitFor(ctx, func() bool { return s.opened == 2 && s.liveLocked() == 1 }); err != nil {
		t.Fatal(err)
	}
	if err := c.sm.Ack(*evt.Request); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WaitAck(ctx, id); err != nil {
		t.Fatal(err)
	}
	noUnexpected(t, s)
}

// When the socket whose turn it is has died (whether or not its read loop has
// noticed yet), the envelope goes to the next live one.
func TestEnvelopeSkipsADeadSocket(t *testing.T) {
	s := newServer(t)
	ctx := testContext(t)
	a, b := startReplicas(ctx, t, s, clientOptions{})
	s.mu.Lock()
	victim := s.nextLiveLocked()
	s.mu.Unlock()
	if victim == nil || victim.id != 1 {
		t.Fatalf("next socket = %v, want connection 1", victim)
	}
	// Shutting down only the sending half keeps the read loop running until the
	// client notices, so the write usually fails first.
	if tc, ok := victim.conn.NetConn().(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	} else {
		_ = victim.conn.Close()
	}
	if n := deliver(ctx, t, s, map[int]*client{1: a, 2: b}, "x"); n != 2 {
		t.Errorf("envelope went to connection %d, want 2", n)
	}
}
