package fakeslack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"
)

// upgrader accepts any Origin: slack-go dials with "Origin: https://api.slack.com",
// which gorilla's default same-host check rejects (the client then retries forever).
var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// wsConn is one Socket Mode connection.
type wsConn struct {
	id   int
	conn *websocket.Conn
	wmu  sync.Mutex    // gorilla allows one writer of data frames at a time
	done chan struct{} // closed when the read loop has ended
}

// write sends one text frame.
func (c *wsConn) write(frame []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.conn.WriteMessage(websocket.TextMessage, frame)
}

// envelope is a request sent to the client, tracked until it is acked.
type envelope struct {
	id                     string
	acceptsResponsePayload bool
	userID, channelID      string
	frame                  []byte
	sentAt                 time.Time // zero until written to a socket
	acked                  bool
}

// handleLink is the WebSocket endpoint returned by apps.connections.open. Each ticket
// opens one socket (real Slack tickets are single-use as far as is known).
func (s *Server) handleLink(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	valid := s.tickets[ticket]
	delete(s.tickets, ticket)
	if !valid {
		s.unexpectedLocked("WebSocket dial with an unknown or already used ticket")
	}
	closed := s.closed
	if !closed && valid {
		s.wg.Add(1) // under s.mu, so never concurrent with Close's Wait
	}
	s.mu.Unlock()
	if closed || !valid {
		http.Error(w, "invalid ticket", http.StatusUnauthorized)
		return
	}
	defer s.wg.Done()

	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has answered the client
	}
	s.serveSocket(conn)
}

// serveSocket runs one socket: hello, then pings and the read loop until it ends.
func (s *Server) serveSocket(conn *websocket.Conn) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = conn.Close()
		return
	}
	s.opened++
	c := &wsConn{id: s.opened, conn: conn, done: make(chan struct{})}
	s.conns[c.id] = c
	live := len(s.conns)
	s.broadcastLocked()
	s.mu.Unlock()

	conn.SetPongHandler(func(string) error {
		s.mu.Lock()
		s.pongs++
		s.broadcastLocked()
		s.mu.Unlock()
		return nil
	})

	s.wg.Go(func() { s.pingLoop(c) })

	hello := helloFrame(live, c.id)
	if err := c.write(hello); err == nil {
		s.mu.Lock()
		s.trafficLocked(hello)
		s.cur = c // a newer socket supersedes older ones, as after a reconnect
		s.broadcastLocked()
		s.mu.Unlock()
	}

	for {
		typ, data, err := conn.ReadMessage()
		if err != nil {
			break
		}
		s.onClientFrame(typ, data)
	}

	_ = conn.Close()
	close(c.done)
	s.mu.Lock()
	delete(s.conns, c.id)
	if s.cur == c {
		s.cur = nil
	}
	s.broadcastLocked()
	s.mu.Unlock()
}

// pingLoop sends a PING control frame every ping interval; slack-go's watchdog
// drops the socket when PINGs stop. The interval is re-read each time so
// SetPingInterval applies to live sockets.
func (s *Server) pingLoop(c *wsConn) {
	for n := 1; ; n++ {
		s.mu.Lock()
		d := s.pingInterval
		s.mu.Unlock()
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-c.done:
			t.Stop()
			return
		case <-s.ctx.Done():
			t.Stop()
			return
		}
		// WriteControl may run concurrently with data writes.
		if err := c.conn.WriteControl(websocket.PingMessage, []byte(strconv.Itoa(n)), time.Now().Add(time.Second)); err != nil {
			return
		}
	}
}

// ackFrame is what slack-go writes for Ack: {"envelope_id":…,"payload":…}.
type ackFrame struct {
	EnvelopeID string          `json:"envelope_id"`
	Payload    json.RawMessage `json:"payload"`
}

// onClientFrame handles a data frame from the client; slack-go only ever sends acks.
// Acks are matched by envelope_id whatever socket they arrive on, since slack-go may
// write an ack on the next socket after a reconnect.
func (s *Server) onClientFrame(typ int, data []byte) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trafficLocked(data)
	if typ != websocket.TextMessage {
		s.unexpectedLocked("binary frame from the client")
		return
	}
	if len(data) >= MaxAckFrame {
		// Slack silently ignores such a response; so does the fake.
		s.unexpectedLocked(fmt.Sprintf("ack frame of %d bytes (Slack ignores frames of %d bytes or more)", len(data), MaxAckFrame))
		return
	}
	var a ackFrame
	if err := json.Unmarshal(data, &a); err != nil || a.EnvelopeID == "" {
		s.unexpectedLocked("client frame that is not an ack")
		return
	}
	env, known := s.envelopes[a.EnvelopeID]
	switch {
	case !known || env.sentAt.IsZero():
		s.unexpectedLocked(fmt.Sprintf("ack for unknown envelope %q", a.EnvelopeID))
		return
	case env.acked:
		s.unexpectedLocked(fmt.Sprintf("duplicate ack for envelope %q", a.EnvelopeID))
		return
	}
	env.acked = true
	if len(a.Payload) == 0 || string(a.Payload) == "null" {
		a.Payload = nil
	}
	ack := Ack{EnvelopeID: a.EnvelopeID, Payload: a.Payload, Latency: now.Sub(env.sentAt), At: now}
	s.acks = append(s.acks, ack)
	if ack.Latency > s.ackDeadline {
		s.unexpectedLocked(fmt.Sprintf("late ack for envelope %q after %v", a.EnvelopeID, ack.Latency.Round(time.Millisecond)))
	}
	if env.acceptsResponsePayload && ack.Payload != nil {
		s.renderAckPayloadLocked(env, ack.Payload)
	}
	s.broadcastLocked()
}

// renderAckPayloadLocked shows a slash command's ack payload as Slack does: as the
// command's immediate reply, ephemeral to the invoking user unless response_type is
// "in_channel".
func (s *Server) renderAckPayloadLocked(env *envelope, payload json.RawMessage) {
	var p struct {
		Text         string          `json:"text"`
		Blocks       json.RawMessage `json:"blocks"`
		ResponseType string          `json:"response_type"`
	}
	if json.Unmarshal(payload, &p) != nil {
		s.unexpectedLocked("slash command ack payload that is not a JSON object")
		return
	}
	blocks := parseBlocks(string(p.Blocks))
	if code := checkContent(content{text: p.Text, blocks: blocks}, true); code != "" {
		s.unexpectedLocked(fmt.Sprintf("slash command ack payload rejected: %s", code))
		return
	}
	m := Message{Channel: env.channelID, TS: s.nextTSLocked(), Text: p.Text, Blocks: blocks}
	if p.ResponseType == "in_channel" {
		m.User = BotUserID
		s.appendHistoryLocked(m)
		return
	}
	m.User = env.userID
	s.appendEphemeralLocked(m)
}

// send writes frame to the current socket, waiting (bounded by ctx) while there is
// none. If the socket dies during the write, it waits for the next one. beforeWrite
// runs under s.mu just before each attempt (to stamp the send time).
func (s *Server) send(ctx context.Context, frame []byte, beforeWrite func(time.Time)) error {
	for {
		var c *wsConn
		if err := s.waitFor(ctx, func() bool { c = s.cur; return c != nil }); err != nil {
			return err
		}
		s.mu.Lock()
		if beforeWrite != nil {
			beforeWrite(time.Now())
		}
		s.mu.Unlock()
		if err := c.write(frame); err != nil {
			_ = c.conn.Close() // the read loop notices and clears s.cur
			s.mu.Lock()
			if s.cur == c {
				s.cur = nil
				s.broadcastLocked()
			}
			s.mu.Unlock()
			continue
		}
		s.mu.Lock()
		s.trafficLocked(frame)
		s.broadcastLocked()
		s.mu.Unlock()
		return nil
	}
}

// sendEnvelope registers env and delivers it. The envelope is registered before the
// write so that an ack racing the write is always matched.
func (s *Server) sendEnvelope(ctx context.Context, env *envelope) (string, error) {
	s.mu.Lock()
	s.envelopes[env.id] = env
	s.mu.Unlock()
	err := s.send(ctx, env.frame, func(now time.Time) {
		if env.sentAt.IsZero() {
			s.sent = append(s.sent, env.id)
		}
		env.sentAt = now
	})
	if err != nil {
		s.mu.Lock()
		if env.sentAt.IsZero() {
			delete(s.envelopes, env.id)
		}
		s.mu.Unlock()
		return "", fmt.Errorf("fakeslack: delivering envelope: %w", err)
	}
	return env.id, nil
}

// WaitConnected waits until a socket is connected and has been sent hello.
func (s *Server) WaitConnected(ctx context.Context) error {
	return s.waitFor(ctx, func() bool { return s.cur != nil })
}

// Connections counts the sockets opened so far (reconnects included).
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opened
}

// LiveConnections counts the sockets open right now.
func (s *Server) LiveConnections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Pongs counts the PONG frames received, on all sockets.
func (s *Server) Pongs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pongs
}

// WaitPongs waits until at least n PONGs have been received.
func (s *Server) WaitPongs(ctx context.Context, n int) error {
	return s.waitFor(ctx, func() bool { return s.pongs >= n })
}

// SlashCommand delivers a slash_commands envelope as if userID typed
// "command text" in channelID, and returns its envelope ID. Both must be known to
// the fake (AddUser; AddChannel or DMChannel).
func (s *Server) SlashCommand(ctx context.Context, userID, channelID, command, text string) (string, error) {
	envID := uuid.NewString()
	s.mu.Lock()
	u, c := s.users[userID], s.channels[channelID]
	if u == nil || c == nil {
		s.mu.Unlock()
		return "", fmt.Errorf("fakeslack: slash command from unknown user %q or in unknown channel %q", userID, channelID)
	}
	respURL := s.newResponseURLLocked(envID, userID, channelID, "")
	payload := slashPayload{
		Token: VerificationToken, TeamID: TeamID, TeamDomain: TeamDomain,
		ChannelID: c.id, ChannelName: c.name, UserID: u.id, UserName: u.name,
		Command: command, Text: text, APIAppID: AppID, IsEnterpriseInstall: "false",
		ResponseURL: respURL, TriggerID: triggerID(),
	}
	s.mu.Unlock()
	return s.sendEnvelope(ctx, &envelope{
		id: envID, acceptsResponsePayload: true, userID: userID, channelID: channelID,
		frame: envelopeFrame(envID, "slash_commands", true, payload),
	})
}

// Click delivers a block_actions envelope as if userID clicked the element with
// actionID in a history message, and returns its envelope ID. The block_id, text,
// style and type come from the element in the message's blocks when it is there;
// value overrides the element's value unless empty.
func (s *Server) Click(ctx context.Context, userID string, msg MessageRef, actionID, value string) (string, error) {
	envID := uuid.NewString()
	s.mu.Lock()
	u, c, m := s.users[userID], s.channels[msg.Channel], s.findLocked(msg.Channel, msg.TS)
	if u == nil || c == nil || m == nil {
		s.mu.Unlock()
		return "", fmt.Errorf("fakeslack: click by unknown user %q or on unknown message %s/%s", userID, msg.Channel, msg.TS)
	}
	action := blockAction{ActionID: actionID, Type: "button", Value: value, ActionTS: s.nextTSLocked()}
	if blockID, elem, found := findAction(m.Blocks, actionID); found {
		action.BlockID = blockID
		action.Text = elem["text"]
		action.Style = jsonString(elem["style"])
		if t := jsonString(elem["type"]); t != "" {
			action.Type = t
		}
		if value == "" {
			action.Value = jsonString(elem["value"])
		}
	}
	if action.BlockID == "" {
		// Without block_id slack-go files the action as an attachment action and
		// HandleInteractionBlockAction never fires; Slack always sets one.
		action.BlockID = generatedBlockID()
	}
	payload := blockActionsPayload{
		Type:      "block_actions",
		User:      actionUser{ID: u.id, Username: u.name, Name: u.name, TeamID: TeamID},
		APIAppID:  AppID,
		Token:     VerificationToken,
		Container: actionContainer{Type: "message", MessageTS: m.TS, ChannelID: c.id},
		TriggerID: triggerID(),
		Team:      actionTeam{ID: TeamID, Domain: TeamDomain},
		Channel:   actionChannel{ID: c.id, Name: c.name},
		Message:   messageObject(*m),
		State:     json.RawMessage(`{"values":{}}`),
		Actions:   []blockAction{action},
	}
	payload.ResponseURL = s.newResponseURLLocked(envID, userID, c.id, m.TS)
	s.mu.Unlock()
	return s.sendEnvelope(ctx, &envelope{
		id: envID, userID: userID, channelID: c.id,
		frame: envelopeFrame(envID, "interactive", false, payload),
	})
}

// Disconnect sends {"type":"disconnect","reason":reason} to the current socket and
// then drops it, as Slack does. From then on envelopes wait for the client's next
// socket. It does nothing when no socket is current.
func (s *Server) Disconnect(reason string) {
	s.mu.Lock()
	c := s.cur
	s.cur = nil
	s.broadcastLocked()
	s.mu.Unlock()
	if c == nil {
		return
	}
	frame := disconnectFrame(reason, c.id)
	if c.write(frame) == nil {
		s.mu.Lock()
		s.trafficLocked(frame)
		s.mu.Unlock()
	}
	_ = c.conn.Close()
}

// SendRaw writes an arbitrary text frame to the current socket (waiting for one),
// for malformed-input tests. It is not tracked as an envelope.
func (s *Server) SendRaw(ctx context.Context, frame []byte) error {
	if err := s.send(ctx, frame, nil); err != nil {
		return fmt.Errorf("fakeslack: sending raw frame: %w", err)
	}
	return nil
}

// WaitAck waits for the ack of an envelope.
func (s *Server) WaitAck(ctx context.Context, envelopeID string) (Ack, error) {
	var found Ack
	err := s.waitFor(ctx, func() bool {
		for _, a := range s.acks {
			if a.EnvelopeID == envelopeID {
				found = a
				return true
			}
		}
		return false
	})
	if err != nil {
		return Ack{}, fmt.Errorf("fakeslack: waiting for the ack of %s: %w", envelopeID, err)
	}
	found.Payload = append(json.RawMessage(nil), found.Payload...)
	return found, nil
}

// Acks returns every ack received, in order.
func (s *Server) Acks() []Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Ack, len(s.acks))
	for i, a := range s.acks {
		a.Payload = append(json.RawMessage(nil), a.Payload...)
		out[i] = a
	}
	return out
}

// Unacked returns the IDs of envelopes sent but not (yet) acked, in send order.
func (s *Server) Unacked() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, id := range s.sent {
		if !s.envelopes[id].acked {
			out = append(out, id)
		}
	}
	return out
}
