package fakeslack

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// responseURL is one response_url handed out with an envelope. Slack lets it be used
// 5 times within 30 minutes (SetResponseURLLimits).
type responseURL struct {
	envelopeID        string
	userID, channelID string
	sourceTS          string // the history message clicked; "" for a slash command
	created           time.Time
	uses              int
}

// newResponseURLLocked issues a response_url on the fake's own host.
func (s *Server) newResponseURLLocked(envelopeID, userID, channelID, sourceTS string) string {
	id := randomHex(12)
	s.responseURLs[id] = &responseURL{
		envelopeID: envelopeID, userID: userID, channelID: channelID, sourceTS: sourceTS, created: time.Now(),
	}
	return s.srv.URL + "/response/" + id
}

// responseMsg is what a client may POST to a response_url. slack-go's own Msg always
// sends replace_original, delete_original, metadata and "blocks":null.
type responseMsg struct {
	Text            string          `json:"text"`
	Blocks          json.RawMessage `json:"blocks"`
	ResponseType    string          `json:"response_type"`
	ReplaceOriginal bool            `json:"replace_original"`
	DeleteOriginal  bool            `json:"delete_original"`
	ThreadTS        string          `json:"thread_ts"`
}

// handleResponseURL serves POST /response/{id}. It answers 200
// application/json {"ok":true}: slack-go decides how to parse the answer by its
// Content-Type, and a missing one is an error there.
func (s *Server) handleResponseURL(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	s.mu.Lock()
	s.trafficLocked(body)
	ru := s.responseURLs[r.PathValue("id")]
	s.mu.Unlock()

	rep := s.answerResponseURL(r, ru, body)

	s.mu.Lock()
	call := Call{Method: "response_url", JSON: body, Status: rep.status, At: at}
	s.calls = append(s.calls, call)
	if ru != nil {
		s.rPosts = append(s.rPosts, ResponseURLPost{EnvelopeID: ru.envelopeID, Body: body, At: time.Now()})
	}
	s.trafficLocked(rep.body)
	s.broadcastLocked()
	s.mu.Unlock()

	rep.write(w)
}

// textReply is how Slack's hooks endpoint reports errors: a status and a bare code
// (which codes and statuses exactly is not documented; these follow observed
// behaviour as far as known).
func textReply(status int, code string) reply {
	return reply{status: status, contentType: "text/plain; charset=utf-8", body: []byte(code)}
}

func (s *Server) answerResponseURL(r *http.Request, ru *responseURL, body []byte) reply {
	if r.Method != http.MethodPost {
		return textReply(http.StatusMethodNotAllowed, "invalid_method")
	}
	channel := ""
	if ru != nil {
		channel = ru.channelID
	}
	if f, ok := s.takeFailure("response_url", channel); ok {
		if !s.delay(r.Context(), f.Delay) {
			return textReply(http.StatusServiceUnavailable, "request_cancelled")
		}
		if rep, ok := faultReply(f); ok {
			return rep
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ru == nil {
		s.unexpectedLocked(fmt.Sprintf("POST to unknown response_url %s", r.URL.Path))
		return textReply(http.StatusNotFound, "no_such_url")
	}
	if time.Since(ru.created) > s.responseURLTTL {
		return textReply(http.StatusNotFound, "expired_url")
	}
	if ru.uses >= s.responseURLUses {
		return textReply(http.StatusNotFound, "used_url")
	}
	ru.uses++

	var msg responseMsg
	if err := json.Unmarshal(body, &msg); err != nil {
		return textReply(http.StatusBadRequest, "invalid_payload")
	}
	if msg.DeleteOriginal {
		if ru.sourceTS != "" {
			s.deleteLocked(ru.channelID, ru.sourceTS)
			s.broadcastLocked()
		}
		return ok(nil)
	}
	c := content{text: msg.Text, blocks: parseBlocks(string(msg.Blocks))}
	if code := checkContent(c, true); code != "" {
		return textReply(http.StatusBadRequest, code)
	}
	switch {
	case msg.ReplaceOriginal && ru.sourceTS != "":
		m := s.findLocked(ru.channelID, ru.sourceTS)
		if m == nil {
			return textReply(http.StatusNotFound, "message_not_found")
		}
		m.Text, m.Blocks = c.text, c.blocks
		m.Updates++
		s.broadcastLocked()
	case msg.ResponseType == "in_channel":
		s.appendHistoryLocked(Message{Channel: ru.channelID, TS: s.nextTSLocked(), User: BotUserID,
			Text: c.text, Blocks: c.blocks, ThreadTS: msg.ThreadTS})
	default:
		// Ephemeral is the default for both slash commands and interactions.
		s.appendEphemeralLocked(Message{Channel: ru.channelID, TS: s.nextTSLocked(), User: ru.userID,
			Text: c.text, Blocks: c.blocks, ThreadTS: msg.ThreadTS})
	}
	return ok(nil)
}
