package fakeslack

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack/socketmode"
)

// A stalled socket stays open but goes silent both ways: no PING and no
// envelope reaches it, and what the client sends on it (an ack, a PONG) is
// ignored. It is gone only when the client closes it.
func TestStallSilencesTheSocketButKeepsItOpen(t *testing.T) {
	s := newServer(t)
	ctx := testContext(t)
	_, url, err := newAPI(s).StartSocketModeContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pings := make(chan struct{}, 100)
	conn.SetPingHandler(func(data string) error {
		pings <- struct{}{}
		return conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	if _, _, err := conn.ReadMessage(); err != nil { // hello
		t.Fatal(err)
	}
	if err := s.WaitConnected(ctx); err != nil { // the fake marks it live just after writing hello
		t.Fatal(err)
	}

	if id := s.Stall(); id != 1 {
		t.Fatalf("Stall() = %d, want connection 1", id)
	}
	if s.LiveConnections() != 0 || s.OpenConnections() != 1 {
		t.Fatalf("after Stall: %d live, %d open; want 0 live, 1 open", s.LiveConnections(), s.OpenConnections())
	}
	if id := s.Stall(); id != 0 {
		t.Fatalf("second Stall() = %d, want 0 (no live socket left)", id)
	}
	pongs := s.Pongs()

	// An envelope has no live socket to go to.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := s.SlashCommand(short, alice, approvals, "/reset-password", "into the void"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("SlashCommand while stalled: err = %v, want deadline exceeded", err)
	}
	// What the client sends is ignored: this ack for an unknown envelope would
	// otherwise be listed by Unexpected, and the PONG counted.
	if err := conn.WriteMessage(websocket.TextMessage, []byte(`{"envelope_id":"nope"}`)); err != nil {
		t.Fatal(err)
	}
	if err := conn.WriteControl(websocket.PongMessage, []byte("x"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	// Nothing arrives for ten ping intervals: no frame, and at most the one
	// PING that may have been on its way when Stall was called (the handler runs
	// inside ReadMessage).
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, _, err = conn.ReadMessage()
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read on a stalled socket: %v, want a timeout", err)
	}
	if n := len(pings); n > 1 {
		t.Fatalf("%d PINGs on a stalled socket", n)
	}
	if s.Pongs() != pongs {
		t.Errorf("PONGs counted on a stalled socket: %d, want %d", s.Pongs(), pongs)
	}
	noUnexpected(t, s)
	if s.OpenConnections() != 1 {
		t.Fatal("the fake closed the stalled socket")
	}

	conn.Close()
	if err := s.WaitConnectionClosed(ctx, 1); err != nil {
		t.Fatal(err)
	}
}

// slack-go gives up on a stalled socket once its ping timeout passes, and the
// socket it opens next behaves normally.
func TestStallMakesSlackGoReconnectAfterItsPingTimeout(t *testing.T) {
	s := newServer(t)
	ctx := testContext(t)
	c := startClient(t, s, clientOptions{smOptions: []socketmode.Option{socketmode.OptionPingInterval(500 * time.Millisecond)}})
	if err := s.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	if id := s.Stall(); id != 1 {
		t.Fatalf("Stall() = %d, want 1", id)
	}
	envID, err := s.SlashCommand(ctx, alice, approvals, "/reset-password", "after the stall")
	if err != nil {
		t.Fatal(err)
	}
	if conn, _ := s.EnvelopeConnection(envID); conn != 2 {
		t.Fatalf("envelope delivered on connection %d, want 2 (the stalled one gets none)", conn)
	}
	c.waitEvent(ctx, t, socketmode.EventTypeSlashCommand, byEnvelope(envID))
	if _, err := s.WaitAck(ctx, envID); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitConnectionClosed(ctx, 1); err != nil {
		t.Fatalf("slack-go never closed the stalled socket: %v", err)
	}
	if got := s.Connections(); got != 2 {
		t.Errorf("Connections() = %d, want 2", got)
	}
	noUnexpected(t, s)
}

// StallDrained waits until a slow client has read what was already sent, so
// nothing at all reaches it after the call returns, even frames that were
// sitting unread in its socket buffer.
func TestStallDrainedLeavesNothingUnread(t *testing.T) {
	s := newServer(t)
	s.SetPingInterval(20 * time.Millisecond)
	ctx := testContext(t)
	_, url, err := newAPI(s).StartSocketModeContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var mu sync.Mutex
	var lastRead time.Time
	conn.SetPingHandler(func(data string) error {
		mu.Lock()
		lastRead = time.Now()
		mu.Unlock()
		return conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	if _, _, err := conn.ReadMessage(); err != nil { // hello
		t.Fatal(err)
	}
	if err := s.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	// A reader that falls behind: PINGs pile up unread for half a second.
	readerDone := make(chan error, 1)
	go func() {
		time.Sleep(500 * time.Millisecond)
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				readerDone <- err
				return
			}
		}
	}()
	id, err := s.StallDrained(ctx)
	if err != nil || id != 1 {
		t.Fatalf("StallDrained() = %d, %v; want 1, nil", id, err)
	}
	returned := time.Now()
	mu.Lock()
	read := lastRead
	mu.Unlock()
	if read.IsZero() || read.After(returned) {
		t.Fatalf("last PING read at %v, StallDrained returned at %v", read, returned)
	}
	time.Sleep(300 * time.Millisecond) // fifteen ping intervals
	mu.Lock()
	after := lastRead
	mu.Unlock()
	if after != read {
		t.Fatalf("a PING was read %v after StallDrained returned", after.Sub(returned))
	}
	if s.LiveConnections() != 0 || s.OpenConnections() != 1 {
		t.Fatalf("after StallDrained: %d live, %d open; want 0 live, 1 open", s.LiveConnections(), s.OpenConnections())
	}
	if id, err := s.StallDrained(ctx); id != 0 || err != nil {
		t.Fatalf("second StallDrained() = %d, %v; want 0, nil", id, err)
	}
	conn.Close()
	<-readerDone
}
