package fakeslack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Views: modals opened with views.open and Home tabs published with
// views.publish, with the limits Slack documents (reference: Slack's views.open,
// views.publish and Home tab pages): at most 100 blocks, private_metadata up to
// 3000 characters, callback_id up to 255, a modal title, submit and close up
// to 24 characters, a view payload up to 250 kB. A trigger_id opens one modal,
// within 3 seconds of the interaction that carried it.

// TriggerTTL is how long a trigger_id may be used after its interaction.
const TriggerTTL = 3 * time.Second

type trigger struct {
	userID string
	at     time.Time
	used   bool
}

// View is a modal or Home view as the fake stores it.
type View struct {
	ID, Type, UserID            string
	CallbackID, PrivateMetadata string
	Hash                        string
	Blocks                      json.RawMessage
	Title, Submit, Close        string
	Raw                         json.RawMessage // the view exactly as the client sent it
	Publishes                   int             // Home views: how many times published
}

// viewLimits are the limits views.open and views.publish enforce.
const (
	maxViewBlocks   = 100
	maxViewMetadata = 3000
	maxCallbackID   = 255
	maxModalLabel   = 24
	maxViewBytes    = 250 * 1000
)

func (s *Server) issueTriggerLocked(userID string) string {
	id := triggerID()
	s.triggers[id] = &trigger{userID: userID, at: time.Now()}
	return id
}

// parseView checks a view argument against Slack's limits; code is the Slack
// error for a bad one.
func parseView(raw string, wantType string) (View, string) {
	if len(raw) > maxViewBytes {
		return View{}, "view_too_large"
	}
	var v struct {
		Type            string            `json:"type"`
		CallbackID      string            `json:"callback_id"`
		PrivateMetadata string            `json:"private_metadata"`
		Blocks          []json.RawMessage `json:"blocks"`
		Title, Submit   *struct {
			Text string `json:"text"`
		}
		Close *struct {
			Text string `json:"text"`
		}
	}
	if err := json.Unmarshal([]byte(raw), &v); err != nil || v.Type != wantType {
		return View{}, "invalid_arguments"
	}
	if len(v.Blocks) > maxViewBlocks || utf8.RuneCountInString(v.PrivateMetadata) > maxViewMetadata || len(v.CallbackID) > maxCallbackID {
		return View{}, "invalid_arguments"
	}
	out := View{Type: v.Type, CallbackID: v.CallbackID, PrivateMetadata: v.PrivateMetadata, Raw: json.RawMessage(raw)}
	out.Blocks, _ = json.Marshal(v.Blocks)
	if wantType == "modal" {
		if v.Title == nil || v.Title.Text == "" {
			return View{}, "invalid_arguments"
		}
		out.Title = v.Title.Text
		if v.Submit != nil {
			out.Submit = v.Submit.Text
		}
		if v.Close != nil {
			out.Close = v.Close.Text
		}
		for _, l := range []string{out.Title, out.Submit, out.Close} {
			if utf8.RuneCountInString(l) > maxModalLabel {
				return View{}, "invalid_arguments"
			}
		}
	}
	return out, ""
}

func viewObject(v *View) map[string]any {
	return map[string]any{
		"id": v.ID, "team_id": TeamID, "type": v.Type, "callback_id": v.CallbackID,
		"private_metadata": v.PrivateMetadata, "hash": v.Hash, "blocks": v.Blocks,
		"app_id": AppID, "bot_id": BotID,
	}
}

func (s *Server) viewsOpen(p url.Values) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	tr, known := s.triggers[p.Get("trigger_id")]
	switch {
	case !known:
		return fail("invalid_trigger_id")
	case tr.used:
		return fail("exchanged_trigger_id")
	case time.Since(tr.at) > TriggerTTL:
		return fail("expired_trigger_id")
	}
	v, code := parseView(p.Get("view"), "modal")
	if code != "" {
		return fail(code)
	}
	tr.used = true
	v.ID, v.UserID, v.Hash = "V"+randomHex(5), tr.userID, randomHex(8)
	s.views[v.ID] = &v
	return ok(map[string]any{"view": viewObject(&v)})
}

func (s *Server) viewsPublish(p url.Values) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	userID := p.Get("user_id")
	if s.users[userID] == nil {
		return fail("user_not_found")
	}
	v, code := parseView(p.Get("view"), "home")
	if code != "" {
		return fail(code)
	}
	if id, had := s.homes[userID]; had {
		old := s.views[id]
		if h := p.Get("hash"); h != "" && h != old.Hash {
			return fail("hash_conflict")
		}
		v.ID, v.Publishes = id, old.Publishes
	} else {
		v.ID = "V" + randomHex(5)
	}
	v.UserID, v.Hash = userID, randomHex(8)
	v.Publishes++
	s.views[v.ID] = &v
	s.homes[userID] = v.ID
	return ok(map[string]any{"view": viewObject(&v)})
}

// Views returns the modals opened so far, in no particular order.
func (s *Server) Views() []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []View
	for _, v := range s.views {
		if v.Type == "modal" {
			out = append(out, *v)
		}
	}
	return out
}

// HomeView returns the Home view last published for userID.
func (s *Server) HomeView(userID string) (View, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.homes[userID]
	if !ok {
		return View{}, false
	}
	return *s.views[id], true
}

// SubmitView delivers a view_submission envelope as if userID pressed the
// submit button of the modal viewID, with the input values given per
// block_id and action_id (plain_text_input values). It returns the envelope ID;
// the ack may carry a response_action (see WaitAck).
func (s *Server) SubmitView(ctx context.Context, userID, viewID string, values map[string]map[string]string) (string, error) {
	envID := uuid.NewString()
	s.mu.Lock()
	u, v := s.users[userID], s.views[viewID]
	if u == nil || v == nil || v.Type != "modal" || v.UserID != userID {
		s.mu.Unlock()
		return "", fmt.Errorf("fakeslack: submit of unknown view %q by %q", viewID, userID)
	}
	state := map[string]map[string]any{}
	for block, actions := range values {
		state[block] = map[string]any{}
		for action, val := range actions {
			state[block][action] = map[string]any{"type": "plain_text_input", "value": val}
		}
	}
	view := viewObject(v)
	view["state"] = map[string]any{"values": state}
	view["title"] = map[string]any{"type": "plain_text", "text": v.Title}
	payload := map[string]any{
		"type":                  "view_submission",
		"team":                  actionTeam{ID: TeamID, Domain: TeamDomain},
		"user":                  actionUser{ID: u.id, Username: u.name, Name: u.name, TeamID: TeamID},
		"api_app_id":            AppID,
		"token":                 VerificationToken,
		"trigger_id":            s.issueTriggerLocked(u.id),
		"view":                  view,
		"response_urls":         []any{},
		"is_enterprise_install": false,
	}
	s.mu.Unlock()
	return s.sendEnvelope(ctx, &envelope{
		id: envID, acceptsResponsePayload: true, viewSubmission: true, userID: userID,
		frame: envelopeFrame(envID, "interactive", true, payload),
	})
}

// OpenHome delivers an app_home_opened event (tab "home") as if userID opened
// the app's Home tab, carrying their current Home view when one was published.
func (s *Server) OpenHome(ctx context.Context, userID string) (string, error) {
	envID := uuid.NewString()
	s.mu.Lock()
	if s.users[userID] == nil {
		s.mu.Unlock()
		return "", fmt.Errorf("fakeslack: app_home_opened by unknown user %q", userID)
	}
	event := map[string]any{
		"type": "app_home_opened", "user": userID, "channel": s.dmLocked(userID).id,
		"tab": "home", "event_ts": s.nextTSLocked(),
	}
	if id, ok := s.homes[userID]; ok {
		event["view"] = viewObject(s.views[id])
	}
	payload := map[string]any{
		"token": VerificationToken, "team_id": TeamID, "api_app_id": AppID,
		"event": event, "type": "event_callback", "event_id": "Ev" + randomHex(5),
		"event_time":     time.Now().Unix(),
		"authorizations": []any{map[string]any{"team_id": TeamID, "user_id": BotUserID, "is_bot": true}},
	}
	s.mu.Unlock()
	return s.sendEnvelope(ctx, &envelope{
		id: envID, userID: userID,
		frame: envelopeFrame(envID, "events_api", false, payload),
	})
}

// checkViewAckLocked checks the payload of a view_submission ack: a
// response_action Slack knows ("errors" with an errors object, "clear",
// "update" or "push" with a view).
func (s *Server) checkViewAckLocked(payload json.RawMessage) {
	var p struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
		View           json.RawMessage   `json:"view"`
	}
	if json.Unmarshal(payload, &p) != nil {
		s.unexpectedLocked("view_submission ack payload that is not a JSON object")
		return
	}
	switch p.ResponseAction {
	case "errors":
		if len(p.Errors) == 0 {
			s.unexpectedLocked("view_submission ack with response_action errors but no errors")
		}
	case "clear":
	case "update", "push":
		if len(p.View) == 0 {
			s.unexpectedLocked("view_submission ack with response_action " + p.ResponseAction + " but no view")
		}
	default:
		s.unexpectedLocked(fmt.Sprintf("view_submission ack with unknown response_action %q", p.ResponseAction))
	}
}

// ClickInView delivers a block_actions envelope as if userID clicked the
// element with actionID in a view (their Home tab, or an open modal): the
// container is the view, and there is no channel, message or response_url.
func (s *Server) ClickInView(ctx context.Context, userID, viewID, actionID, value string) (string, error) {
	envID := uuid.NewString()
	s.mu.Lock()
	u, v := s.users[userID], s.views[viewID]
	if u == nil || v == nil || v.UserID != userID {
		s.mu.Unlock()
		return "", fmt.Errorf("fakeslack: click by %q in unknown view %q", userID, viewID)
	}
	action := blockAction{ActionID: actionID, Type: "button", Value: value, ActionTS: s.nextTSLocked()}
	blockID, elem, found := findActionValue(v.Blocks, actionID, value)
	if !found {
		s.mu.Unlock()
		return "", fmt.Errorf("fakeslack: view %q has no element %q", viewID, actionID)
	}
	action.BlockID, action.Text, action.Style = blockID, elem["text"], jsonString(elem["style"])
	if value == "" {
		action.Value = jsonString(elem["value"])
	}
	payload := map[string]any{
		"type":                  "block_actions",
		"user":                  actionUser{ID: u.id, Username: u.name, Name: u.name, TeamID: TeamID},
		"api_app_id":            AppID,
		"token":                 VerificationToken,
		"container":             map[string]any{"type": "view", "view_id": v.ID},
		"trigger_id":            s.issueTriggerLocked(u.id),
		"team":                  actionTeam{ID: TeamID, Domain: TeamDomain},
		"is_enterprise_install": false,
		"view":                  viewObject(v),
		"actions":               []blockAction{action},
	}
	s.mu.Unlock()
	return s.sendEnvelope(ctx, &envelope{
		id: envID, userID: userID,
		frame: envelopeFrame(envID, "interactive", false, payload),
	})
}

// findActionValue is findAction for views, where the same button (Reset, say)
// appears once per request: it matches the value too, when one is given.
func findActionValue(blocks json.RawMessage, actionID, value string) (string, map[string]json.RawMessage, bool) {
	var list []json.RawMessage
	if json.Unmarshal(blocks, &list) != nil {
		return "", nil, false
	}
	for _, b := range list {
		one, _ := json.Marshal([]json.RawMessage{b})
		blockID, elem, found := findAction(one, actionID)
		if found && (value == "" || jsonString(elem["value"]) == value) {
			return blockID, elem, true
		}
	}
	return "", nil, false
}
