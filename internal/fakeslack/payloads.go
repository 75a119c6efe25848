package fakeslack

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
)

// This file holds the JSON shapes the fake sends: Web API objects, Socket Mode
// control frames and envelope payloads. The shapes follow docs/slack.md §1.3,
// §1.4, §1.7 and §3; field order follows real captures where it is known.

// userObject is a users.info "user" (§3.2).
func userObject(u *user) map[string]any {
	realName := u.account.RealName
	if realName == "" {
		realName = u.name
	}
	return map[string]any{
		"id":                  u.id,
		"team_id":             TeamID,
		"name":                u.name,
		"deleted":             u.account.Deleted,
		"real_name":           realName,
		"tz":                  "Europe/Berlin",
		"tz_label":            "Central European Time",
		"tz_offset":           3600,
		"is_admin":            false,
		"is_owner":            false,
		"is_primary_owner":    false,
		"is_restricted":       u.account.Restricted,
		"is_ultra_restricted": u.account.UltraRestricted,
		"is_bot":              u.isBot || u.account.Bot,
		"is_app_user":         false,
		"updated":             1700000000,
		"profile": map[string]any{
			"real_name":    realName,
			"display_name": u.name,
			"email":        u.name + "@" + TeamDomain + ".example",
			"team":         TeamID,
			"fields":       []any{},
		},
	}
}

// messageObject is a stored message as chat.postMessage and chat.update return it,
// and as block_actions payloads carry it: a bot message (no subtype) whose blocks
// are echoed verbatim.
func messageObject(m Message) map[string]any {
	obj := map[string]any{
		"type":   "message",
		"user":   m.User,
		"bot_id": BotID,
		"app_id": AppID,
		"text":   m.Text,
		"ts":     m.TS,
		"team":   TeamID,
	}
	if m.Blocks != nil {
		obj["blocks"] = m.Blocks
	}
	if m.ThreadTS != "" {
		obj["thread_ts"] = m.ThreadTS
	}
	return obj
}

// helloFrame is the first frame on every socket (§1.3). approximate_connection_time
// is in seconds (about 5 h, Slack's usual socket lifetime).
func helloFrame(numConnections, connID int) []byte {
	return mustJSON(map[string]any{
		"type":            "hello",
		"num_connections": numConnections,
		"debug_info": map[string]any{
			"host":                        fmt.Sprintf("applink-fake-%d", connID),
			"build_number":                10,
			"approximate_connection_time": 18060,
		},
		"connection_info": map[string]any{"app_id": AppID},
	})
}

// disconnectFrame asks the client to reconnect (§1.7).
func disconnectFrame(reason string, connID int) []byte {
	return mustJSON(map[string]any{
		"type":       "disconnect",
		"reason":     reason,
		"debug_info": map[string]any{"host": fmt.Sprintf("applink-fake-%d", connID)},
	})
}

// envelopeFrame wraps a payload. Slack escapes "/" as "\/" in these frames (the
// command arrives as "\/reset-password"); the fake does too, so a client that
// string-matches raw JSON instead of decoding it fails here first. "/" only ever
// occurs inside JSON strings, so the replacement is safe.
func envelopeFrame(envelopeID, typ string, acceptsResponsePayload bool, payload any) []byte {
	b := mustJSON(struct {
		EnvelopeID             string `json:"envelope_id"`
		Type                   string `json:"type"`
		AcceptsResponsePayload bool   `json:"accepts_response_payload"`
		Payload                any    `json:"payload"`
	}{envelopeID, typ, acceptsResponsePayload, payload})
	return bytes.ReplaceAll(b, []byte("/"), []byte(`\/`))
}

// slashPayload is a slash_commands payload (§1.4). is_enterprise_install is the
// string "false", as Slack sends it in Socket Mode.
type slashPayload struct {
	Token               string `json:"token"`
	TeamID              string `json:"team_id"`
	TeamDomain          string `json:"team_domain"`
	ChannelID           string `json:"channel_id"`
	ChannelName         string `json:"channel_name"`
	UserID              string `json:"user_id"`
	UserName            string `json:"user_name"`
	Command             string `json:"command"`
	Text                string `json:"text"`
	APIAppID            string `json:"api_app_id"`
	IsEnterpriseInstall string `json:"is_enterprise_install"`
	ResponseURL         string `json:"response_url"`
	TriggerID           string `json:"trigger_id"`
}

// blockActionsPayload is an interactive block_actions payload for a button in a
// history message (§1.4). Every detail that makes slack-go drop the envelope is
// avoided: block_id always set, action_ts a string, channel an object,
// is_enterprise_install a bool, no empty attachment_id.
type blockActionsPayload struct {
	Type                string          `json:"type"`
	User                actionUser      `json:"user"`
	APIAppID            string          `json:"api_app_id"`
	Token               string          `json:"token"`
	Container           actionContainer `json:"container"`
	TriggerID           string          `json:"trigger_id"`
	Team                actionTeam      `json:"team"`
	Enterprise          *struct{}       `json:"enterprise"`
	IsEnterpriseInstall bool            `json:"is_enterprise_install"`
	Channel             actionChannel   `json:"channel"`
	Message             map[string]any  `json:"message"`
	State               json.RawMessage `json:"state"`
	ResponseURL         string          `json:"response_url"`
	Actions             []blockAction   `json:"actions"`
}

type actionUser struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Name     string `json:"name"`
	TeamID   string `json:"team_id"`
}

type actionContainer struct {
	Type        string `json:"type"`
	MessageTS   string `json:"message_ts"`
	ChannelID   string `json:"channel_id"`
	IsEphemeral bool   `json:"is_ephemeral"`
}

type actionTeam struct {
	ID     string `json:"id"`
	Domain string `json:"domain"`
}

type actionChannel struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type blockAction struct {
	ActionID string          `json:"action_id"`
	BlockID  string          `json:"block_id"`
	Text     json.RawMessage `json:"text,omitempty"`
	Value    string          `json:"value,omitempty"`
	Style    string          `json:"style,omitempty"`
	Type     string          `json:"type"`
	ActionTS string          `json:"action_ts"`
}

// findAction looks for the interactive element with actionID in a message's blocks
// and returns the block's block_id ("" if the block has none) and the element.
func findAction(blocks json.RawMessage, actionID string) (blockID string, elem map[string]json.RawMessage, found bool) {
	var list []map[string]json.RawMessage
	if json.Unmarshal(blocks, &list) != nil {
		return "", nil, false
	}
	for _, b := range list {
		var candidates []json.RawMessage
		var elems []json.RawMessage
		if json.Unmarshal(b["elements"], &elems) == nil {
			candidates = append(candidates, elems...)
		}
		candidates = append(candidates, b["accessory"], b["element"])
		for _, c := range candidates {
			var e map[string]json.RawMessage
			if len(c) == 0 || json.Unmarshal(c, &e) != nil {
				continue
			}
			var id string
			if json.Unmarshal(e["action_id"], &id) == nil && id == actionID {
				_ = json.Unmarshal(b["block_id"], &blockID)
				return blockID, e, true
			}
		}
	}
	return "", nil, false
}

// jsonString decodes a JSON string field, "" if absent or not a string.
func jsonString(raw json.RawMessage) string {
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

// triggerID looks like Slack's "<digits>.<digits>.<hex>".
func triggerID() string {
	return fmt.Sprintf("%d.%d.%s", 1000000000000+mrand.Int64N(9000000000000), 1000000000+mrand.Int64N(9000000000), randomHex(16))
}

// generatedBlockID stands in for the id Slack assigns to a block posted without one.
func generatedBlockID() string { return randomHex(3) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("fakeslack: marshal: %v", err))
	}
	return b
}
