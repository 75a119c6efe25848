package fakeslack

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"
)

// MessageRef names a message in channel history.
type MessageRef struct{ Channel, TS string }

// Message is a stored message: in channel history (chat.postMessage, with chat.update
// and response_url replacements applied; Updates counts them) or in an ephemeral log.
type Message struct {
	Channel, TS, User, Text string
	Blocks                  json.RawMessage // exactly as the client sent them; nil when none
	Updates                 int
	ThreadTS                string // thread_ts when the message was posted in a thread
}

// Call is one Web API request, or one response_url POST (Method "response_url").
type Call struct {
	Method   string
	Form     url.Values      // form fields, plus query parameters (chat.getPermalink is a GET)
	JSON     json.RawMessage // the body of a JSON request, nil otherwise
	Token    string          // the token the request carried ("" if none); never print it
	TokenVia string          // "form" | "header" | ""
	Status   int             // HTTP status the fake answered
	At       time.Time       // when the request arrived
}

// Ack is one envelope acknowledgement received over the socket.
type Ack struct {
	EnvelopeID string
	Payload    json.RawMessage // nil when the ack carried none
	Latency    time.Duration   // since the envelope was (last) written to the socket
	At         time.Time
}

// ResponseURLPost is one POST to a response_url handed out with an envelope.
type ResponseURLPost struct {
	EnvelopeID string
	Body       json.RawMessage
	At         time.Time // when the POST arrived
}

type user struct {
	id, name string
	isBot    bool
	account  Account
	locale   string // what users.info reports with include_locale=true
}

// Account describes a workspace user beyond its ID and handle, as users.info
// reports it. The zero value is an active full member whose real name is the
// handle.
type Account struct {
	RealName        string // users.info real_name; "" means the handle
	Deleted         bool   // deactivated
	Bot             bool   // a bot user (is_bot)
	Restricted      bool   // a multi-channel guest (is_restricted)
	UltraRestricted bool   // a single-channel guest (is_restricted and is_ultra_restricted)
}

type channel struct {
	id, name  string
	private   bool
	members   map[string]bool // human members; the bot is tracked by botMember
	botMember bool
	imUser    string // for a D… channel: the user the bot talks to
	imOpened  bool   // conversations.open has been called for it
}

func (c *channel) isIM() bool { return c.imUser != "" }

// hasMember says whether userID may see ephemeral messages in c: a user is always a
// member of their own DM with the bot.
func (c *channel) hasMember(userID string) bool {
	if c.isIM() {
		return userID == c.imUser
	}
	return c.members[userID]
}

type ephKey struct{ channel, user string }

// AddUser adds a workspace user; users.info answers for it, conversations.open opens
// a DM with it, and envelopes carry its name.
func (s *Server) AddUser(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[id] = &user{id: id, name: name, locale: "en-US"}
}

// SetLocale sets the locale users.info reports for a user added with AddUser
// when asked with include_locale=true ("ja-JP", "en-GB"; "" for none).
func (s *Server) SetLocale(userID, locale string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.users[userID]; ok {
		u.locale = locale
	}
}

// SetAccount changes how users.info describes a user added with AddUser:
// deactivated, a bot, a guest, or with another real name.
func (s *Server) SetAccount(id string, a Account) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.users[id]; ok {
		u.account = a
		if a.UltraRestricted {
			u.account.Restricted = true // Slack sets both for a single-channel guest
		}
	}
}

// AddChannel adds a public or private channel with the given human members. The bot
// is a member of every channel added (see SetBotMember to remove it).
func (s *Server) AddChannel(id, name string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &channel{id: id, name: name, members: map[string]bool{}, botMember: true}
	for _, m := range members {
		c.members[m] = true
	}
	s.channels[id] = c
}

// SetPrivate marks a channel added with AddChannel as private: conversations.info
// then answers channel_not_found to a bot that is not a member, as Slack does.
func (s *Server) SetPrivate(channelID string, private bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.channels[channelID]; ok && !c.isIM() {
		c.private = private
	}
}

// AddMembers adds human members to a channel added with AddChannel.
func (s *Server) AddMembers(channelID string, userIDs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.channels[channelID]; ok && !c.isIM() {
		for _, u := range userIDs {
			c.members[u] = true
		}
	}
}

// SetBotMember adds or removes the bot from a channel added with AddChannel; posting
// to a channel without the bot fails with not_in_channel, as chat:write alone does.
func (s *Server) SetBotMember(channelID string, member bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.channels[channelID]; ok && !c.isIM() {
		c.botMember = member
	}
}

// AddUsergroup adds a user group (S…) for usergroups.users.list.
func (s *Server) AddUsergroup(id string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.usergroups[id] = slices.Clone(members)
}

// DMChannel returns the D… id of the bot's DM with userID, the same id that
// conversations.open returns for that user (stable for the life of the fake).
func (s *Server) DMChannel(userID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dmLocked(userID).id
}

func (s *Server) dmLocked(userID string) *channel {
	if id, ok := s.dms[userID]; ok {
		return s.channels[id]
	}
	// Derive a readable id (U0ALICE → D0ALICE) unless it is taken.
	id := "D" + strings.TrimLeft(userID, "UW")
	if _, taken := s.channels[id]; taken || len(userID) < 2 {
		id = fmt.Sprintf("D%07d", len(s.channels)+1)
	}
	c := &channel{id: id, name: "directmessage", botMember: true, imUser: userID}
	s.channels[id] = c
	s.dms[userID] = id
	return c
}

// Messages returns a channel's history, oldest first.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.history[channel]))
	for _, m := range s.history[channel] {
		out = append(out, cloneMessage(*m))
	}
	return out
}

// Message returns one history message.
func (s *Server) Message(channel, ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.findLocked(channel, ts); m != nil {
		return cloneMessage(*m), true
	}
	return Message{}, false
}

// Ephemerals returns the ephemeral messages shown to userID in channel, oldest
// first: chat.postEphemeral, ephemeral response_url posts, and slash-command ack
// payloads.
func (s *Server) Ephemerals(channel, userID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.ephemerals[ephKey{channel, userID}]))
	for _, m := range s.ephemerals[ephKey{channel, userID}] {
		out = append(out, cloneMessage(m))
	}
	return out
}

func (s *Server) findLocked(channel, ts string) *Message {
	for _, m := range s.history[channel] {
		if m.TS == ts {
			return m
		}
	}
	return nil
}

func (s *Server) deleteLocked(channel, ts string) bool {
	h := s.history[channel]
	for i, m := range h {
		if m.TS == ts {
			s.history[channel] = slices.Delete(h, i, i+1)
			return true
		}
	}
	return false
}

func (s *Server) appendHistoryLocked(m Message) {
	s.history[m.Channel] = append(s.history[m.Channel], &m)
	s.broadcastLocked()
}

func (s *Server) appendEphemeralLocked(m Message) {
	k := ephKey{m.Channel, m.User}
	s.ephemerals[k] = append(s.ephemerals[k], m)
	s.broadcastLocked()
}

func cloneMessage(m Message) Message {
	m.Blocks = slices.Clone(m.Blocks)
	return m
}

// Calls returns every Web API call and response_url POST, in the order the fake
// answered them.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	for i, c := range s.calls {
		out[i] = cloneCall(c)
	}
	return out
}

// CallCount counts the calls to one method (faults and errors included).
func (s *Server) CallCount(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.Method == method {
			n++
		}
	}
	return n
}

// WaitCall returns the first call to method that satisfies match (nil matches
// any), waiting for it if none has been recorded yet.
func (s *Server) WaitCall(ctx context.Context, method string, match func(Call) bool) (Call, error) {
	var found Call
	err := s.waitFor(ctx, func() bool {
		for _, c := range s.calls {
			if c.Method == method && (match == nil || match(cloneCall(c))) {
				found = cloneCall(c)
				return true
			}
		}
		return false
	})
	if err != nil {
		return Call{}, fmt.Errorf("fakeslack: waiting for a %s call: %w", method, err)
	}
	return found, nil
}

func cloneCall(c Call) Call {
	c.Form = url.Values(maps.Clone(map[string][]string(c.Form)))
	for k, v := range c.Form {
		c.Form[k] = slices.Clone(v)
	}
	c.JSON = slices.Clone(c.JSON)
	return c
}

// ResponseURLPosts returns every POST to a response_url, in order.
func (s *Server) ResponseURLPosts() []ResponseURLPost {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ResponseURLPost, len(s.rPosts))
	for i, p := range s.rPosts {
		out[i] = ResponseURLPost{EnvelopeID: p.EnvelopeID, Body: slices.Clone(p.Body), At: p.At}
	}
	return out
}
