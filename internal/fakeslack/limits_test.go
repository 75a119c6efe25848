package fakeslack

import (
	"strings"
	"testing"
)

func TestCheckContent(t *testing.T) {
	button := func(text, value string) string {
		return `{"type":"button","action_id":"a","text":{"type":"plain_text","text":"` + text + `"},"value":"` + value + `"}`
	}
	tests := []struct {
		name   string
		text   string
		blocks string
		want   string
	}{
		{name: "text only", text: "hi"},
		{name: "text at the limit", text: strings.Repeat("é", maxTextChars)},
		{name: "text over the limit", text: strings.Repeat("x", maxTextChars+1), want: "msg_too_long"},
		{name: "nothing at all", want: "no_text"},
		{name: "empty blocks and no text", blocks: `[]`, want: "no_text"},
		{name: "null blocks mean none", text: "x", blocks: `null`},
		{name: "blocks only", blocks: `[{"type":"divider"}]`},
		{name: "blocks an object", text: "x", blocks: `{"type":"divider"}`, want: "invalid_blocks_format"},
		{name: "blocks broken JSON", text: "x", blocks: `[{"type"`, want: "invalid_blocks_format"},
		{name: "block not an object", text: "x", blocks: `["divider"]`, want: "invalid_blocks"},
		{name: "block without type", text: "x", blocks: `[{"block_id":"b"}]`, want: "invalid_blocks"},
		{name: "50 blocks", blocks: "[" + strings.Repeat(`{"type":"divider"},`, 49) + `{"type":"divider"}]`},
		{name: "51 blocks", blocks: "[" + strings.Repeat(`{"type":"divider"},`, 50) + `{"type":"divider"}]`, want: "invalid_blocks"},
		{name: "duplicate block_id", blocks: `[{"type":"divider","block_id":"b"},{"type":"divider","block_id":"b"}]`, want: "invalid_blocks"},
		{name: "block_id too long", blocks: `[{"type":"divider","block_id":"` + strings.Repeat("b", 256) + `"}]`, want: "invalid_blocks"},
		{name: "section text at 3000", blocks: `[{"type":"section","text":{"type":"mrkdwn","text":"` + strings.Repeat("s", 3000) + `"}}]`},
		{name: "section text over 3000", blocks: `[{"type":"section","text":{"type":"mrkdwn","text":"` + strings.Repeat("s", 3001) + `"}}]`, want: "invalid_blocks"},
		{name: "button", blocks: `[{"type":"actions","elements":[` + button("Approve", "REQ1") + `]}]`},
		{name: "button text over 75", blocks: `[{"type":"actions","elements":[` + button(strings.Repeat("t", 76), "v") + `]}]`, want: "invalid_blocks"},
		{name: "button value over 2000", blocks: `[{"type":"actions","elements":[` + button("t", strings.Repeat("v", 2001)) + `]}]`, want: "invalid_blocks"},
		{name: "duplicate action_id", blocks: `[{"type":"actions","elements":[` + button("a", "1") + `,` + button("b", "2") + `]}]`, want: "invalid_blocks"},
		{name: "empty actions block", blocks: `[{"type":"actions","elements":[]}]`, want: "invalid_blocks"},
		{name: "unknown block type passes", blocks: `[{"type":"rich_text_future"}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := content{text: tt.text, hasText: tt.text != "", blocks: parseBlocks(tt.blocks), hasBlocks: tt.blocks != ""}
			if got := checkContent(c, true); got != tt.want {
				t.Errorf("checkContent = %q, want %q", got, tt.want)
			}
		})
	}
}
