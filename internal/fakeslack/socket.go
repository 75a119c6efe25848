package fakeslack

import (
	"context"
	"encoding/json"
	"errors"
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

// wsConn is one Socket Mode connection. Its id is its connection number: the nth
// socket opened (reconnects included) is number n, starting at 1, as counted by
// Connections and shown in hello's debug_info.host ("applink-fake-<n>").
type wsConn struct {
	id   int
	conn *websocket.Conn
	wmu  sync.Mutex    // gorilla allows one writer of data frames at a time
	done chan struct{} // closed when the read loop has ended

	// Guarded by Server.mu.
	ready   bool // hello has been written
	dead    bool // being disconnected, failed a write, or its read loop has ended
	stalled bool // half-open (see Stall): nothing is sent on it, what arrives is ignored

	// Set by StallDrained while it waits for the PONG to its marker PING.
	drainMarker string
	drained     chan struct{}
}

// live says whether frames may be sent to c (s.mu held).
func (c *wsConn) live() bool { return c.ready && !c.dead && !c.stalled }

// isStalled reads c.stalled under s.mu.
func (s *Server) isStalled(c *wsConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return c.stalled
}

// errStalled: the socket was stalled after it was chosen; nothing was written.
var errStalled = errors.New("fakeslack: socket stalled")

// write sends one text frame, unless the socket has been stalled: the check is
// under wmu, which Stall holds while it marks the socket, so nothing chosen
// before a Stall leaves after it.
func (s *Server) write(c *wsConn, frame []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if s.isStalled(c) {
		return errStalled
	}
	_ = c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.conn.WriteMessage(websocket.TextMessage, frame)
}

// envelope is a request sent to the client, tracked until it is acked.
type envelope struct {
	id                     string
	acceptsResponsePayload bool
	userID, channelID      string
	viewSubmission         bool // the ack may carry a response_action, not a message
	frame                  []byte
	sentAt                 time.Time // zero until written to a socket
	conn                   int       // connection number it was (last) written to
	acked                  bool
	retryAttempt           int // 0 for a first delivery
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
	refused := valid && s.refuseDials != 0
	if refused && s.refuseDials > 0 {
		s.refuseDials--
	}
	if !closed && valid && !refused {
		s.wg.Add(1) // under s.mu, so never concurrent with Close's Wait
	}
	s.mu.Unlock()
	if closed || !valid {
		http.Error(w, "invalid ticket", http.StatusUnauthorized)
		return
	}
	if refused {
		// As an overloaded or unreachable WebSocket host would answer.
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
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

	conn.SetPongHandler(func(data string) error {
		s.mu.Lock()
		if c.drained != nil && data == c.drainMarker {
			close(c.drained)
			c.drained = nil
		}
		if c.stalled {
			s.mu.Unlock()
			return nil
		}
		s.pongs++
		s.broadcastLocked()
		s.mu.Unlock()
		return nil
	})

	conn.SetCloseHandler(func(code int, _ string) error {
		if s.isStalled(c) {
			return nil // a half-open socket answers nothing
		}
		// gorilla's default: echo the close frame.
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), time.Now().Add(time.Second))
		return nil
	})

	s.wg.Go(func() { s.pingLoop(c) })

	hello := helloFrame(live, c.id)
	if err := s.write(c, hello); err == nil {
		s.mu.Lock()
		s.trafficLocked(hello)
		c.ready = true // from now on it takes its turn for envelopes (unless dead)
		s.broadcastLocked()
		s.mu.Unlock()
	}

	for {
		// Reading goes on while stalled, so the TCP connection stays open and
		// the client's writes do not block; what it sends is dropped.
		typ, data, err := conn.ReadMessage()
		if err != nil {
			break
		}
		if s.isStalled(c) {
			continue
		}
		s.onClientFrame(c, typ, data)
	}

	_ = conn.Close()
	close(c.done)
	s.mu.Lock()
	c.dead = true
	delete(s.conns, c.id)
	s.broadcastLocked()
	s.mu.Unlock()
}

// nextLiveLocked is the live socket whose turn it is: the one with the lowest
// connection number above the last one used, wrapping around. It is nil when no
// socket is live.
func (s *Server) nextLiveLocked() *wsConn {
	var first, next *wsConn
	for _, c := range s.conns {
		if !c.live() {
			continue
		}
		if first == nil || c.id < first.id {
			first = c
		}
		if c.id > s.rr && (next == nil || c.id < next.id) {
			next = c
		}
	}
	if next != nil {
		return next
	}
	return first
}

// newestLiveLocked is the live socket opened last, or nil.
func (s *Server) newestLiveLocked() *wsConn {
	var newest *wsConn
	for _, c := range s.conns {
		if c.live() && (newest == nil || c.id > newest.id) {
			newest = c
		}
	}
	return newest
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
		// Checked and written under wmu, which Stall also takes, so no PING
		// can leave after Stall has returned.
		c.wmu.Lock()
		if s.isStalled(c) {
			c.wmu.Unlock()
			continue // keep waiting: the socket ends when the client closes it
		}
		err := c.conn.WriteControl(websocket.PingMessage, []byte(strconv.Itoa(n)), time.Now().Add(time.Second))
		c.wmu.Unlock()
		if err != nil {
			return
		}
	}
}

// ackFrame is what slack-go writes for Ack: {"envelope_id":…,"payload":…}.
type ackFrame struct {
	EnvelopeID string          `json:"envelope_id"`
	Payload    json.RawMessage `json:"payload"`
}

// onClientFrame handles a data frame from the client on socket c; slack-go only ever
// sends acks.
//
// Acks are matched by envelope_id and recorded whatever socket they arrive on. Slack
// expects an ack on the socket that got the envelope, with one tolerated exception:
// slack-go queues acks per client and, after a reconnect, writes the ones still
// queued on its next socket. So an ack arriving on another socket is listed by
// Unexpected only while the socket that got the envelope is still live (e.g. replica
// B acking an envelope sent to replica A); once that socket is disconnected or
// closed, the ack is accepted silently.
func (s *Server) onClientFrame(c *wsConn, typ int, data []byte) {
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
	if env.conn != c.id {
		if d := s.conns[env.conn]; d != nil && !d.dead && !d.stalled {
			s.unexpectedLocked(fmt.Sprintf("ack for envelope %q on connection %d, but it was delivered on connection %d, which is still open",
				a.EnvelopeID, c.id, env.conn))
		}
	}
	if len(a.Payload) == 0 || string(a.Payload) == "null" {
		a.Payload = nil
	}
	ack := Ack{EnvelopeID: a.EnvelopeID, Payload: a.Payload, Latency: now.Sub(env.sentAt), At: now}
	s.acks = append(s.acks, ack)
	if ack.Latency > s.ackDeadline {
		s.unexpectedLocked(fmt.Sprintf("late ack for envelope %q after %v", a.EnvelopeID, ack.Latency.Round(time.Millisecond)))
	}
	switch {
	case env.viewSubmission && ack.Payload != nil:
		s.checkViewAckLocked(ack.Payload)
	case env.acceptsResponsePayload && ack.Payload != nil:
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

// send writes frame to one live socket, taking them in turn (round-robin by
// connection number, as Slack spreads envelopes over an app's open connections),
// and waits (bounded by ctx) while none is live. If the socket dies during the
// write, it tries the next live one. beforeWrite runs under s.mu just before each
// attempt, with the socket chosen (to stamp the send time and connection).
func (s *Server) send(ctx context.Context, frame []byte, beforeWrite func(now time.Time, connID int)) error {
	for {
		var c *wsConn
		err := s.waitFor(ctx, func() bool {
			if c = s.nextLiveLocked(); c == nil {
				return false
			}
			s.rr = c.id
			if beforeWrite != nil {
				beforeWrite(time.Now(), c.id)
			}
			return true
		})
		if err != nil {
			return err
		}
		if err := s.write(c, frame); errors.Is(err, errStalled) {
			continue // another live socket takes it
		} else if err != nil {
			_ = c.conn.Close() // the read loop notices and drops it
			s.mu.Lock()
			c.dead = true
			s.broadcastLocked()
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
	err := s.send(ctx, env.frame, func(now time.Time, connID int) {
		if env.sentAt.IsZero() {
			s.sent = append(s.sent, env.id)
		}
		env.sentAt = now
		env.conn = connID
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

// WaitConnected waits until a socket is live: connected, sent hello, and not being
// disconnected.
func (s *Server) WaitConnected(ctx context.Context) error {
	return s.WaitLiveConnections(ctx, 1)
}

// WaitLiveConnections waits until at least n sockets are live (see LiveConnections),
// e.g. until every replica of a bot is connected.
func (s *Server) WaitLiveConnections(ctx context.Context, n int) error {
	return s.waitFor(ctx, func() bool { return s.liveLocked() >= n })
}

func (s *Server) liveLocked() int {
	n := 0
	for _, c := range s.conns {
		if c.live() {
			n++
		}
	}
	return n
}

// EnvelopeConnection reports the connection number (see Connections) of the socket
// an envelope was delivered to: the last one written to, if it was delivered more
// than once. ok is false for an unknown or not yet delivered envelope.
func (s *Server) EnvelopeConnection(envelopeID string) (connID int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	env := s.envelopes[envelopeID]
	if env == nil || env.sentAt.IsZero() {
		return 0, false
	}
	return env.conn, true
}

// Connections counts the sockets opened so far (reconnects included); the nth
// socket has connection number n.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opened
}

// LiveConnections counts the live sockets: open, sent hello, and not being
// disconnected. Envelopes are spread over exactly these.
func (s *Server) LiveConnections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.liveLocked()
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
// the fake (AddUser; AddChannel or DMChannel). Like every envelope it goes to the
// live socket whose turn it is (see EnvelopeConnection).
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
		ResponseURL: respURL, TriggerID: s.issueTriggerLocked(u.id),
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
		TriggerID: s.issueTriggerLocked(u.id),
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

// Redeliver sends an envelope again, as Slack does when an ack was late or a
// socket dropped: the same payload (so the same trigger_id), with retry_attempt
// one more than the delivery it repeats and retry_reason set to reason. With
// newID the redelivery gets a new envelope_id (whether Slack reuses the ID is not
// documented; a client must cope with both), otherwise it reuses envelopeID. Like
// every envelope it goes to the live socket whose turn it is, which may be
// another connection or another replica. It returns the envelope ID sent.
func (s *Server) Redeliver(ctx context.Context, envelopeID, reason string, newID bool) (string, error) {
	s.mu.Lock()
	orig := s.envelopes[envelopeID]
	s.mu.Unlock()
	if orig == nil {
		return "", fmt.Errorf("fakeslack: redeliver: unknown envelope %q", envelopeID)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(orig.frame, &fields); err != nil {
		return "", fmt.Errorf("fakeslack: redeliver: %w", err)
	}
	id := envelopeID
	if newID {
		id = uuid.NewString()
	}
	attempt := orig.retryAttempt + 1
	fields["envelope_id"] = mustJSON(id)
	fields["retry_attempt"] = mustJSON(attempt)
	fields["retry_reason"] = mustJSON(reason)
	frame := mustJSON(fields)
	env := &envelope{
		id: id, acceptsResponsePayload: orig.acceptsResponsePayload, userID: orig.userID, channelID: orig.channelID,
		frame: frame, retryAttempt: attempt,
	}
	return s.sendEnvelope(ctx, env)
}

// Disconnect sends {"type":"disconnect","reason":reason} to the newest live socket
// and then drops it, as Slack does. From then on envelopes go to the other live
// sockets, or wait for the client's next socket when there is none. It does nothing
// when no socket is live.
func (s *Server) Disconnect(reason string) {
	s.mu.Lock()
	c := s.newestLiveLocked()
	if c != nil {
		c.dead = true
		s.broadcastLocked()
	}
	s.mu.Unlock()
	if c != nil {
		s.disconnect(c, reason)
	}
}

// Stall makes the newest live socket half-open, as a network path that silently
// drops everything would: its TCP connection stays up, but from now on the fake
// sends nothing on it (no PINGs, no envelopes: those wait for another live
// socket) and ignores whatever the client sends on it (acks, PONGs, a close
// frame). slack-go notices only when its ping timeout passes without a PING; it
// then closes the socket and opens a new one, which behaves normally. Stall
// returns the stalled socket's connection number (see Connections), or 0 when no
// socket was live. A stalled socket does not count as live.
func (s *Server) Stall() int {
	s.mu.Lock()
	c := s.newestLiveLocked()
	s.mu.Unlock()
	if c == nil {
		return 0
	}
	// wmu first: a PING being written finishes before the socket goes quiet.
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return s.stallLocked(c)
}

// stallLocked marks c stalled (c.wmu held, s.mu not). It returns 0 if c died
// meanwhile.
func (s *Server) stallLocked(c *wsConn) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !c.live() {
		return 0
	}
	c.stalled = true
	s.broadcastLocked()
	return c.id
}

// StallDrained is Stall once the client has read every frame already sent on
// the socket: it sends a marker PING, waits for its PONG (frames are read in
// order, so everything before the marker has been read), and stalls the socket
// before anything else can be written. A client measuring silence on the socket
// then sees it start when StallDrained returns, however late its reader runs
// on a loaded machine. It returns 0 and no error when no socket is live, and
// ctx's error if the PONG does not come.
func (s *Server) StallDrained(ctx context.Context) (int, error) {
	s.mu.Lock()
	c := s.newestLiveLocked()
	s.mu.Unlock()
	if c == nil {
		return 0, nil
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	marker := "drain-" + strconv.Itoa(c.id)
	drained := make(chan struct{})
	s.mu.Lock()
	c.drainMarker, c.drained = marker, drained
	s.mu.Unlock()
	if err := c.conn.WriteControl(websocket.PingMessage, []byte(marker), time.Now().Add(time.Second)); err != nil {
		return 0, fmt.Errorf("fakeslack: marker PING on socket %d: %w", c.id, err)
	}
	select {
	case <-drained:
	case <-c.done:
		return 0, fmt.Errorf("fakeslack: socket %d closed before it answered the marker PING", c.id)
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return s.stallLocked(c), nil
}

// OpenConnections counts the sockets whose TCP connection is still open, live,
// stalled or being disconnected: a stalled socket stays here until the client
// closes it.
func (s *Server) OpenConnections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// WaitConnectionClosed waits until socket id (a connection number) has been
// closed, by the client or the fake: e.g. until a client has given up on a
// stalled socket.
func (s *Server) WaitConnectionClosed(ctx context.Context, id int) error {
	return s.waitFor(ctx, func() bool { return id <= s.opened && s.conns[id] == nil })
}

// DisconnectAll does what Disconnect does to every open socket (including one
// still being sent hello), so every client reconnects.
func (s *Server) DisconnectAll(reason string) {
	s.mu.Lock()
	var conns []*wsConn
	for _, c := range s.conns {
		if !c.dead {
			c.dead = true
			conns = append(conns, c)
		}
	}
	s.broadcastLocked()
	s.mu.Unlock()
	for _, c := range conns {
		s.disconnect(c, reason)
	}
}

// disconnect writes the disconnect frame to c, already marked dead, and drops it.
func (s *Server) disconnect(c *wsConn, reason string) {
	frame := disconnectFrame(reason, c.id)
	if s.write(c, frame) == nil {
		s.mu.Lock()
		s.trafficLocked(frame)
		s.mu.Unlock()
	}
	_ = c.conn.Close()
}

// SendRaw writes an arbitrary text frame to the live socket whose turn it is
// (waiting for one), for malformed-input tests. It is not tracked as an envelope.
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

// RefuseSockets makes the next n WebSocket dials (after a successful
// apps.connections.open) fail with HTTP 503; n < 0 refuses every dial until
// RefuseSockets(0).
func (s *Server) RefuseSockets(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuseDials = n
}
