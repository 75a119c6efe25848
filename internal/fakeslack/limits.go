package fakeslack

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// Slack's message limits. Real Slack rejects a message that breaks them, so a bot
// that only ever meets this fake still learns about them.
const (
	maxTextChars     = 40000 // text: msg_too_long
	maxBlocks        = 50    // blocks per message: invalid_blocks
	maxBlockIDLen    = 255
	maxActionIDLen   = 255
	maxSectionText   = 3000
	maxHeaderText    = 150
	maxButtonText    = 75
	maxButtonValue   = 2000
	maxActionsInBlck = 25
	maxContextElems  = 10
)

// content is the text and blocks of a message as a client sent them.
type content struct {
	text      string
	hasText   bool
	blocks    json.RawMessage // trimmed JSON array, nil when absent or null
	hasBlocks bool            // the field was present (chat.update: "[]" clears)
}

// checkContent validates text and blocks, returning a Slack error code or "".
// needContent requires text or at least one block (no_text otherwise).
func checkContent(c content, needContent bool) string {
	if utf8.RuneCountInString(c.text) > maxTextChars {
		return "msg_too_long"
	}
	n := 0
	if c.blocks != nil {
		var err string
		if n, err = checkBlocks(c.blocks); err != "" {
			return err
		}
	}
	if needContent && c.text == "" && n == 0 {
		return "no_text"
	}
	return ""
}

// parseBlocks turns the "blocks" form field (a JSON string inside the form) into raw
// JSON; "null" and "" mean no blocks.
func parseBlocks(raw string) json.RawMessage {
	b := bytes.TrimSpace([]byte(raw))
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		return nil
	}
	return b
}

type blockJSON struct {
	Type      string            `json:"type"`
	BlockID   *string           `json:"block_id"`
	Text      *textJSON         `json:"text"`
	Accessory *elementJSON      `json:"accessory"`
	Element   *elementJSON      `json:"element"`
	Elements  []json.RawMessage `json:"elements"`
}

type textJSON struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type elementJSON struct {
	Type     string    `json:"type"`
	ActionID string    `json:"action_id"`
	Text     *textJSON `json:"text"`
	Value    string    `json:"value"`
}

// checkBlocks enforces the block-kit limits that a bot posting approval cards can
// plausibly break. It returns the number of blocks, or invalid_blocks_format when
// blocks is not a JSON array of objects, invalid_blocks for a broken limit.
func checkBlocks(raw json.RawMessage) (int, string) {
	var list []json.RawMessage
	if !json.Valid(raw) || raw[0] != '[' || json.Unmarshal(raw, &list) != nil {
		return 0, "invalid_blocks_format"
	}
	if len(list) > maxBlocks {
		return 0, "invalid_blocks"
	}
	blockIDs := map[string]bool{}
	actionIDs := map[string]bool{}
	checkElement := func(e *elementJSON) bool {
		if e == nil || e.Type == "" {
			return e == nil
		}
		if len(e.ActionID) > maxActionIDLen || (e.ActionID != "" && actionIDs[e.ActionID]) {
			return false
		}
		if e.ActionID != "" {
			actionIDs[e.ActionID] = true
		}
		if e.Type == "button" {
			if e.Text == nil || e.Text.Type != "plain_text" || utf8.RuneCountInString(e.Text.Text) > maxButtonText ||
				len(e.Value) > maxButtonValue {
				return false
			}
		}
		return true
	}
	for _, item := range list {
		var b blockJSON
		if len(item) == 0 || item[0] != '{' || json.Unmarshal(item, &b) != nil || b.Type == "" {
			return 0, "invalid_blocks"
		}
		if b.BlockID != nil {
			if *b.BlockID == "" || len(*b.BlockID) > maxBlockIDLen || blockIDs[*b.BlockID] {
				return 0, "invalid_blocks"
			}
			blockIDs[*b.BlockID] = true
		}
		switch b.Type {
		case "section":
			if b.Text != nil && utf8.RuneCountInString(b.Text.Text) > maxSectionText {
				return 0, "invalid_blocks"
			}
			if !checkElement(b.Accessory) {
				return 0, "invalid_blocks"
			}
		case "header":
			if b.Text == nil || b.Text.Type != "plain_text" || utf8.RuneCountInString(b.Text.Text) > maxHeaderText {
				return 0, "invalid_blocks"
			}
		case "actions":
			if len(b.Elements) == 0 || len(b.Elements) > maxActionsInBlck {
				return 0, "invalid_blocks"
			}
			for _, raw := range b.Elements {
				var e elementJSON
				if json.Unmarshal(raw, &e) != nil || !checkElement(&e) {
					return 0, "invalid_blocks"
				}
			}
		case "context":
			if len(b.Elements) == 0 || len(b.Elements) > maxContextElems {
				return 0, "invalid_blocks"
			}
		case "input":
			if !checkElement(b.Element) {
				return 0, "invalid_blocks"
			}
		}
	}
	return len(list), ""
}
