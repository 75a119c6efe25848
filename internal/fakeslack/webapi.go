package fakeslack

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
)

// reply is an HTTP answer, built before it is recorded and written so that the call
// is in Calls() by the time the client sees the response.
type reply struct {
	status      int
	contentType string
	header      http.Header
	body        []byte
}

func jsonReply(status int, v any) reply {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("fakeslack: marshal reply: %v", err))
	}
	return reply{status: status, contentType: "application/json; charset=utf-8", body: b}
}

// ok builds {"ok":true,…fields}.
func ok(fields map[string]any) reply {
	if fields == nil {
		fields = map[string]any{}
	}
	fields["ok"] = true
	return jsonReply(http.StatusOK, fields)
}

// fail builds {"ok":false,"error":code}. The error is never empty: slack-go treats
// ok:false without an error as success.
func fail(code string) reply {
	return jsonReply(http.StatusOK, map[string]any{"ok": false, "error": code})
}

func (r reply) write(w http.ResponseWriter) {
	for k, v := range r.header {
		w.Header()[k] = v
	}
	if r.contentType != "" {
		w.Header().Set("Content-Type", r.contentType)
	}
	w.WriteHeader(r.status)
	_, _ = w.Write(r.body)
}

// apiMethod answers one Web API method once the token has been checked.
type apiMethod func(s *Server, p url.Values) reply

var apiMethods = map[string]apiMethod{
	"apps.connections.open": (*Server).appsConnectionsOpen,
	"auth.test":             (*Server).authTest,
	"users.info":            (*Server).usersInfo,
	"usergroups.users.list": (*Server).usergroupsUsersList,
	"conversations.open":    (*Server).conversationsOpen,
	"chat.postMessage":      (*Server).chatPostMessage,
	"chat.postEphemeral":    (*Server).chatPostEphemeral,
	"chat.update":           (*Server).chatUpdate,
	"chat.getPermalink":     (*Server).chatGetPermalink,
	"chat.delete":           (*Server).chatDelete,
	"conversations.info":    (*Server).conversationsInfo,
	"views.open":            (*Server).viewsOpen,
	"views.publish":         (*Server).viewsPublish,
}

// handleAPI serves /api/{method}. slack-go sends form methods as urlencoded POSTs with
// the token in the body, JSON methods with a Bearer header, and chat.getPermalink as
// a GET with query parameters and a Bearer header; all are accepted.
func (s *Server) handleAPI(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))

	call := Call{Method: method, At: at, Form: url.Values{}}
	for k, v := range r.URL.Query() {
		call.Form[k] = append(call.Form[k], v...)
	}
	ctype, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case ctype == "application/json" && len(body) > 0:
		call.JSON = body
		// Methods take the same arguments either way: top-level JSON fields
		// become form fields (strings as they are, anything else as JSON).
		var fields map[string]json.RawMessage
		if json.Unmarshal(body, &fields) == nil {
			for k, raw := range fields {
				var str string
				if json.Unmarshal(raw, &str) == nil {
					call.Form.Set(k, str)
				} else {
					call.Form.Set(k, string(raw))
				}
			}
		}
	case ctype == "application/x-www-form-urlencoded" || (ctype == "" && len(body) > 0):
		form, _ := url.ParseQuery(string(body))
		for k, v := range form {
			call.Form[k] = append(call.Form[k], v...)
		}
	}
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "Bearer ") {
		call.Token, call.TokenVia = strings.TrimPrefix(auth, "Bearer "), "header"
	} else if t := call.Form.Get("token"); t != "" {
		call.Token, call.TokenVia = t, "form"
	}

	s.mu.Lock()
	s.trafficLocked([]byte(r.URL.RawQuery), body)
	s.mu.Unlock()

	rep := s.answerAPI(r, call)

	s.mu.Lock()
	call.Status = rep.status
	s.calls = append(s.calls, call)
	s.trafficLocked(rep.body)
	s.log.Debug("fakeslack: api call", "method", method, "status", rep.status)
	s.broadcastLocked()
	s.mu.Unlock()

	rep.write(w)
}

func (s *Server) answerAPI(r *http.Request, call Call) reply {
	if f, ok := s.takeFailure(call.Method, call.Form.Get("channel")); ok {
		if !s.delay(r.Context(), f.Delay) {
			return fail("request_cancelled")
		}
		if rep, ok := faultReply(f); ok {
			return rep
		}
	}
	handler, known := apiMethods[call.Method]
	if !known {
		s.mu.Lock()
		s.unexpectedLocked(fmt.Sprintf("call to unknown method %q", call.Method))
		s.mu.Unlock()
		return fail("unknown_method")
	}
	if code := checkToken(call); code != "" {
		return fail(code)
	}
	return handler(s, call.Form)
}

// checkToken enforces token types: the app-level token opens sockets and nothing
// else, and only from the Authorization header; the bot token does everything else.
func checkToken(c Call) string {
	switch {
	case c.Token == "":
		return "not_authed"
	case c.Method == "apps.connections.open":
		switch {
		case c.Token == BotToken:
			return "not_allowed_token_type"
		case c.Token != AppToken:
			return "invalid_auth"
		case c.TokenVia != "header":
			return "not_authed"
		}
	case c.Token == AppToken:
		return "not_allowed_token_type"
	case c.Token != BotToken:
		return "invalid_auth"
	}
	return ""
}

func (s *Server) appsConnectionsOpen(url.Values) reply {
	ticket := uuid.NewString()
	s.mu.Lock()
	s.tickets[ticket] = true
	s.mu.Unlock()
	wsURL := "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/link/?ticket=" + ticket + "&app_id=" + AppID
	return ok(map[string]any{"url": wsURL})
}

func (s *Server) authTest(url.Values) reply {
	return ok(map[string]any{
		"url":                   "https://" + TeamDomain + ".slack.com/",
		"team":                  "Fake",
		"user":                  BotName,
		"team_id":               TeamID,
		"user_id":               BotUserID,
		"bot_id":                BotID,
		"is_enterprise_install": false,
	})
}

func (s *Server) usersInfo(p url.Values) reply {
	s.mu.Lock()
	u, found := s.users[p.Get("user")]
	var obj map[string]any
	if found {
		obj = userObject(u)
		// Slack includes the locale only when asked (§3.2).
		if p.Get("include_locale") == "true" && u.locale != "" {
			obj["locale"] = u.locale
		}
	}
	s.mu.Unlock()
	if !found {
		return fail("user_not_found")
	}
	return ok(map[string]any{"user": obj})
}

func (s *Server) usergroupsUsersList(p url.Values) reply {
	s.mu.Lock()
	members, found := s.usergroups[p.Get("usergroup")]
	members = append([]string{}, members...)
	s.mu.Unlock()
	if !found {
		return fail("no_such_subteam")
	}
	return ok(map[string]any{"users": members})
}

// conversationsOpen opens (idempotently) the bot's DM with one user.
func (s *Server) conversationsOpen(p url.Values) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	var c *channel
	switch users := p.Get("users"); {
	case users != "":
		if strings.Contains(users, ",") {
			s.unexpectedLocked("conversations.open with several users (a group DM)")
			return fail("not_supported")
		}
		if _, known := s.users[users]; !known {
			return fail("user_not_found")
		}
		c = s.dmLocked(users)
	case p.Get("channel") != "":
		c = s.channels[p.Get("channel")]
		if c == nil || !c.isIM() {
			return fail("channel_not_found")
		}
	default:
		return fail("users_list_not_supplied")
	}
	already := c.imOpened
	c.imOpened = true
	obj := map[string]any{"id": c.id}
	if already || p.Get("return_im") == "true" {
		obj = map[string]any{"id": c.id, "created": 1700000000, "is_im": true, "is_org_shared": false,
			"user": c.imUser, "is_open": true, "priority": 0}
	}
	fields := map[string]any{"channel": obj}
	if already {
		fields["no_op"], fields["already_open"] = true, true
	}
	return ok(fields)
}

// postTarget resolves the channel of a post: a C…/G…/D… id, or a user id, which
// Slack maps to the bot's DM with that user.
func (s *Server) postTargetLocked(id string) (*channel, string) {
	if c, found := s.channels[id]; found {
		if !c.botMember {
			return nil, "not_in_channel"
		}
		return c, ""
	}
	if _, isUser := s.users[id]; isUser && id != BotUserID {
		return s.dmLocked(id), ""
	}
	return nil, "channel_not_found"
}

func contentOf(p url.Values) content {
	_, hasText := p["text"]
	_, hasBlocks := p["blocks"]
	return content{text: p.Get("text"), hasText: hasText, blocks: parseBlocks(p.Get("blocks")), hasBlocks: hasBlocks}
}

func (s *Server) chatPostMessage(p url.Values) reply {
	ct := contentOf(p)
	if code := checkContent(ct, true); code != "" {
		return fail(code)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, code := s.postTargetLocked(p.Get("channel"))
	if code != "" {
		return fail(code)
	}
	if rep, limited := s.postLimitedLocked("chat.postMessage", c.id); limited {
		return rep
	}
	threadTS := p.Get("thread_ts")
	if threadTS != "" && s.findLocked(c.id, threadTS) == nil {
		return fail("thread_not_found")
	}
	m := Message{Channel: c.id, TS: s.nextTSLocked(), User: BotUserID, Text: ct.text, Blocks: ct.blocks, ThreadTS: threadTS}
	s.appendHistoryLocked(m)
	s.postedLocked("chat.postMessage", c.id)
	return ok(map[string]any{"channel": c.id, "ts": m.TS, "message": messageObject(m)})
}

// chatPostEphemeral stores the message in the (channel, user) log only: ephemeral
// messages never enter history and cannot be updated.
func (s *Server) chatPostEphemeral(p url.Values) reply {
	ct := contentOf(p)
	if code := checkContent(ct, true); code != "" {
		return fail(code)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, code := s.postTargetLocked(p.Get("channel"))
	if code != "" {
		return fail(code)
	}
	if rep, limited := s.postLimitedLocked("chat.postEphemeral", c.id); limited {
		return rep
	}
	userID := p.Get("user")
	if !c.hasMember(userID) {
		return fail("user_not_in_channel")
	}
	m := Message{Channel: c.id, TS: s.nextTSLocked(), User: userID, Text: ct.text, Blocks: ct.blocks, ThreadTS: p.Get("thread_ts")}
	s.appendEphemeralLocked(m)
	s.postedLocked("chat.postEphemeral", c.id)
	return ok(map[string]any{"message_ts": m.TS})
}

// chatUpdate replaces the text and/or blocks of a history message. A field left out
// keeps its old value; blocks "[]" removes the blocks, as in Slack.
func (s *Server) chatUpdate(p url.Values) reply {
	ct := contentOf(p)
	if code := checkContent(ct, false); code != "" {
		return fail(code)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	chID := p.Get("channel")
	if _, found := s.channels[chID]; !found {
		return fail("channel_not_found")
	}
	m := s.findLocked(chID, p.Get("ts"))
	if m == nil {
		return fail("message_not_found")
	}
	if m.User != BotUserID {
		return fail("cant_update_message")
	}
	next := *m
	if ct.hasText {
		next.Text = ct.text
	}
	if ct.hasBlocks {
		next.Blocks = ct.blocks
		if string(ct.blocks) == "[]" {
			next.Blocks = nil
		}
	}
	if next.Text == "" && next.Blocks == nil {
		return fail("no_text")
	}
	next.Updates++
	*m = next
	s.broadcastLocked()
	return ok(map[string]any{"channel": m.Channel, "ts": m.TS, "text": m.Text, "message": messageObject(*m)})
}

func (s *Server) chatGetPermalink(p url.Values) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	chID, ts := p.Get("channel"), p.Get("message_ts")
	if _, found := s.channels[chID]; !found {
		return fail("channel_not_found")
	}
	if s.findLocked(chID, ts) == nil {
		return fail("message_not_found")
	}
	return ok(map[string]any{"channel": chID, "permalink": Permalink(chID, ts)})
}

// Permalink is the link chat.getPermalink returns for a message.
func Permalink(channel, ts string) string {
	return "https://" + TeamDomain + ".slack.com/archives/" + channel + "/p" + strings.ReplaceAll(ts, ".", "")
}

// chatDelete deletes one of the bot's own messages from channel history.
func (s *Server) chatDelete(p url.Values) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	chID, ts := p.Get("channel"), p.Get("ts")
	c, found := s.channels[chID]
	if !found || (c.private && !c.botMember) {
		return fail("channel_not_found")
	}
	m := s.findLocked(chID, ts)
	if m == nil {
		return fail("message_not_found")
	}
	if m.User != BotUserID {
		return fail("cant_delete_message")
	}
	s.deleteLocked(chID, ts)
	s.broadcastLocked()
	return ok(map[string]any{"channel": chID, "ts": ts})
}

// conversationsInfo describes a channel. A private channel the bot is not in
// does not exist as far as the bot can tell.
func (s *Server) conversationsInfo(p url.Values) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, found := s.channels[p.Get("channel")]
	if !found || (c.private && !c.botMember) {
		return fail("channel_not_found")
	}
	obj := map[string]any{
		"id": c.id, "created": 1700000000, "is_archived": false, "is_general": false,
		"is_shared": false, "is_org_shared": false, "is_ext_shared": false, "is_pending_ext_shared": false,
		"context_team_id": TeamID, "updated": 1700000000000,
	}
	if c.isIM() {
		obj["is_im"], obj["user"], obj["is_open"] = true, c.imUser, c.imOpened
		return ok(map[string]any{"channel": obj})
	}
	obj["name"], obj["name_normalized"] = c.name, c.name
	obj["is_channel"], obj["is_group"], obj["is_im"], obj["is_mpim"] = !c.private, false, false, false
	obj["is_private"], obj["is_member"] = c.private, c.botMember
	obj["creator"] = BotUserID
	obj["topic"] = map[string]any{"value": "", "creator": "", "last_set": 0}
	obj["purpose"] = map[string]any{"value": "", "creator": "", "last_set": 0}
	return ok(map[string]any{"channel": obj})
}
