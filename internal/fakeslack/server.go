// Package fakeslack is an in-process fake of Slack for black-box tests: the Web API
// methods the bot calls, the response_url endpoint, and the Socket Mode WebSocket
// (hello, PINGs, envelopes, acks, disconnects, and a half-open socket: Stall).
//
// It imports nothing from locksmith on purpose: it is an independent witness of the
// wire format, built from the notes in docs/slack.md and the slack-go v0.35.0
// source, so a bug in the bot's understanding of Slack cannot hide in a shared type.
//
// Faults are injected per method with Fail (see Failure): Slack errors, HTTP
// statuses, 429 with Retry-After, redirects, delays. SetChannelRateLimit adds the
// limit real Slack puts on posting: about one chat.postMessage per second per
// channel; a chat.postMessage (or chat.postEphemeral) to a channel, DMs included,
// sooner than the interval after the last accepted one there is refused with HTTP
// 429, a Retry-After header and {"ok":false,"error":"ratelimited"}, and does not
// post; chat.update is not under it. RateLimited and RateLimitedIn count the refusals.
//
// Everything it sees is recorded (calls, acks, frames, raw traffic) so tests can
// assert on what the bot did, and anything a real Slack would reject or a correct bot
// would never do is listed by Unexpected.
package fakeslack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// Identities of the fake workspace. The tokens are fixed, well-known test values:
// they are not secrets.
const (
	AppToken  = "xapp-1-A0FAKE-1-fakeapptoken"
	BotToken  = "xoxb-fake-bot-token"
	BotUserID = "U0LOCKSMITH"
	TeamID    = "T0FAKE"

	// BotID is the bot's B… id (auth.test bot_id, message bot_id).
	BotID = "B0FAKE"
	// AppID is the app's A… id (api_app_id, hello connection_info).
	AppID = "A0FAKE"
	// TeamDomain is the workspace's domain (team_domain, team.domain).
	TeamDomain = "fake"
	// VerificationToken is the deprecated verification token Slack still puts in
	// payloads; Socket Mode apps must not rely on it.
	VerificationToken = "fakeVerificationToken0000"
	// BotName is the bot user's handle.
	BotName = "locksmith"
)

// Defaults that mirror real Slack.
const (
	// DefaultPingInterval is how often the fake sends WebSocket PING frames. slack-go
	// never pings and drops a connection after 30 s without a server PING, so this
	// must stay well inside that.
	DefaultPingInterval = 5 * time.Second
	// AckDeadline is Slack's deadline for acking an envelope; later acks are listed by
	// Unexpected (the user would see "operation_timeout" or a warning icon).
	AckDeadline = 3 * time.Second
	// MaxAckFrame is Slack's limit for a Socket Mode response frame: frames this big
	// or bigger are silently ignored by Slack, so the fake ignores them too.
	MaxAckFrame = 20480
	// DefaultResponseURLUses and DefaultResponseURLTTL are Slack's documented limits
	// for a response_url: 5 uses within 30 minutes.
	DefaultResponseURLUses = 5
	DefaultResponseURLTTL  = 30 * time.Minute

	maxRequestBody = 8 << 20
)

// ErrClosed is returned by waits and sends after Close.
var ErrClosed = errors.New("fakeslack: server closed")

// Server is the fake. New starts it; every method is safe for concurrent use.
type Server struct {
	srv    *httptest.Server
	ctx    context.Context // cancelled by Close; ends pings, delays and waits
	cancel context.CancelFunc
	wg     sync.WaitGroup // socket goroutines, waited for by Close
	log    *slog.Logger

	mu      sync.Mutex
	closed  bool
	changed chan struct{} // closed and replaced on every state change (see waitFor)

	// Configuration.
	pingInterval    time.Duration
	responseURLUses int
	responseURLTTL  time.Duration
	ackDeadline     time.Duration

	// Directory.
	users      map[string]*user
	channels   map[string]*channel
	dms        map[string]string // user ID → D… channel ID
	usergroups map[string][]string

	// Messages.
	history    map[string][]*Message // channel → messages in ts order
	ephemerals map[ephKey][]Message
	lastTS     int64 // unix microseconds of the last ts handed out

	// Web API.
	calls    []Call
	failures map[string][]*pendingFailure

	// Per-channel posting limit (see SetChannelRateLimit).
	postInterval    time.Duration
	postRetryAfter  int
	lastPost        map[string]time.Time // method + " " + channel ID → last accepted post
	limitedByMethod map[string]int
	limitedByChan   map[string]int
	now             func() time.Time // the limit's clock; tests in this package move it

	// Socket Mode.
	tickets     map[string]bool // issued by apps.connections.open, single use
	refuseDials int             // WebSocket dials still to refuse (< 0: all); see RefuseSockets
	conns       map[int]*wsConn // open sockets by connection number (see wsConn.live)
	rr          int             // connection number that got the last frame (round-robin cursor)
	opened      int             // sockets opened so far
	pongs       int
	envelopes   map[string]*envelope
	sent        []string // envelope IDs in the order they were first sent
	acks        []Ack

	// response_url.
	responseURLs map[string]*responseURL // by path id
	rPosts       []ResponseURLPost

	// Views (views.open, views.publish) and the trigger IDs they consume.
	triggers map[string]*trigger
	views    map[string]*View  // by view ID
	homes    map[string]string // user ID → ID of their published Home view

	traffic    bytes.Buffer
	unexpected []string
}

// New starts a fake on 127.0.0.1 with an empty workspace that holds only the bot
// user. The caller must Close it.
func New() *Server {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		ctx:             ctx,
		cancel:          cancel,
		log:             slog.New(slog.NewTextHandler(io.Discard, nil)),
		changed:         make(chan struct{}),
		pingInterval:    DefaultPingInterval,
		responseURLUses: DefaultResponseURLUses,
		responseURLTTL:  DefaultResponseURLTTL,
		ackDeadline:     AckDeadline,
		users:           map[string]*user{},
		channels:        map[string]*channel{},
		dms:             map[string]string{},
		usergroups:      map[string][]string{},
		history:         map[string][]*Message{},
		ephemerals:      map[ephKey][]Message{},
		failures:        map[string][]*pendingFailure{},
		lastPost:        map[string]time.Time{},
		limitedByMethod: map[string]int{},
		limitedByChan:   map[string]int{},
		now:             time.Now,
		tickets:         map[string]bool{},
		conns:           map[int]*wsConn{},
		envelopes:       map[string]*envelope{},
		responseURLs:    map[string]*responseURL{},
		triggers:        map[string]*trigger{},
		views:           map[string]*View{},
		homes:           map[string]string{},
	}
	s.users[BotUserID] = &user{id: BotUserID, name: BotName, isBot: true}

	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.handleAPI)
	mux.HandleFunc("/link/", s.handleLink)
	mux.HandleFunc("/response/{id}", s.handleResponseURL)
	mux.HandleFunc("/", s.handleUnknownPath)
	s.srv = httptest.NewServer(mux)
	return s
}

// Close stops the server: it ends every socket (without a close frame, as a network
// failure would) and waits for the fake's goroutines. It is idempotent.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	conns := make([]*wsConn, 0, len(s.conns))
	for _, c := range s.conns {
		conns = append(conns, c)
	}
	s.broadcastLocked()
	s.mu.Unlock()

	s.cancel()
	for _, c := range conns {
		_ = c.conn.Close()
	}
	s.srv.Close()
	s.wg.Wait()
}

// APIURL is the Web API base URL for slack.OptionAPIURL. It ends with "/" because
// slack-go appends method names by plain concatenation.
func (s *Server) APIURL() string { return s.srv.URL + "/api/" }

// SetLogger makes the fake log what it serves and every unexpected event (at Warn).
// The default discards. Tokens and message bodies are never logged.
func (s *Server) SetLogger(l *slog.Logger) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = l
}

// SetPingInterval sets how often PING frames are sent; it applies to live sockets
// from their next ping on. Tests use a short interval (e.g. 200 ms) so a client
// with a short OptionPingInterval stays connected.
func (s *Server) SetPingInterval(d time.Duration) {
	if d <= 0 {
		d = DefaultPingInterval
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pingInterval = d
}

// SetResponseURLLimits changes how often (uses) and how long (ttl) each response_url
// may be used; Slack allows 5 uses within 30 minutes.
func (s *Server) SetResponseURLLimits(uses int, ttl time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.responseURLUses = uses
	s.responseURLTTL = ttl
}

// SetAckDeadline changes the ack deadline (Slack's is AckDeadline, 3 s) beyond which
// an ack is listed by Unexpected as late.
func (s *Server) SetAckDeadline(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ackDeadline = d
}

// Unexpected lists what a correct bot would never cause: unknown methods or paths,
// acks for unknown envelopes, duplicate, late (see SetAckDeadline) or oversized acks,
// acks on another socket than the still open one that got the envelope, frames that
// are not acks, reused WebSocket tickets, unknown response URLs.
func (s *Server) Unexpected() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.unexpected...)
}

// Traffic returns every byte exchanged with the client: HTTP request query strings
// and bodies, HTTP response bodies, and WebSocket text frames in both directions,
// each followed by a newline. Tests scan it for secrets.
func (s *Server) Traffic() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.traffic.Bytes())
}

func (s *Server) handleUnknownPath(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	s.mu.Lock()
	s.trafficLocked([]byte(r.URL.RawQuery), body)
	s.unexpectedLocked(fmt.Sprintf("request to unknown path %s %s", r.Method, r.URL.Path))
	s.mu.Unlock()
	http.NotFound(w, r)
}

// unexpectedLocked records (and logs) something a correct client would not do.
func (s *Server) unexpectedLocked(what string) {
	s.unexpected = append(s.unexpected, what)
	s.log.Warn("fakeslack: unexpected", "what", what)
	s.broadcastLocked()
}

// trafficLocked appends raw bytes seen on the wire (either direction).
func (s *Server) trafficLocked(parts ...[]byte) {
	for _, p := range parts {
		if len(p) == 0 {
			continue
		}
		s.traffic.Write(p)
		s.traffic.WriteByte('\n')
	}
}

// broadcastLocked wakes every waitFor: the cheapest correct condition variable that
// also honours contexts.
func (s *Server) broadcastLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitFor blocks until cond (called with s.mu held) is true, ctx ends, or the
// server closes.
func (s *Server) waitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok := cond()
		ch, closed := s.changed, s.closed
		s.mu.Unlock()
		if ok {
			return nil
		}
		if closed {
			return ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// nextTSLocked hands out a message ts: "<unix>.<6 digits>", strictly increasing
// across the whole fake, so it is unique per channel as Slack guarantees.
func (s *Server) nextTSLocked() string {
	now := time.Now().UnixMicro()
	if now <= s.lastTS {
		now = s.lastTS + 1
	}
	s.lastTS = now
	return fmt.Sprintf("%d.%06d", now/1e6, now%1e6)
}
