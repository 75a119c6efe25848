package bot

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/locksmithbot/locksmith/commands"
	"github.com/locksmithbot/locksmith/internal/fakeslack"
)

// With a Label every message the bot shows carries it: the slash-command ack,
// the reply through response_url and through its chat.postEphemeral fallback,
// the card (posted and updated), DMs, the password ephemeral and channel lines.
func TestLabel_MarksEveryMessage(t *testing.T) {
	var bot atomic.Pointer[Bot]
	var mu sync.Mutex
	var wfErr error
	wf := &fakeWorkflow{slash: func(ctx context.Context, in commands.Invocation) commands.Reply {
		mu.Lock()
		defer mu.Unlock()
		err := sendEveryKind(ctx, bot.Load(), in.UserID, "Zq8Kv3Wm9Lx2Tr7B")
		wfErr = err
		return commands.Reply{Text: "done"}
	}}
	h := start(t, wf, func(c *Config) { c.Label, c.LabelNote = "DEMO", "sample data <only>" })
	bot.Store(h.bot)
	// The second command's reply falls back to chat.postEphemeral.
	for i := range 2 {
		env, err := h.fake.SlashCommand(h.ctx, alice, helpdesk, command, "contoso.com jdoe@contoso.com")
		if err != nil {
			t.Fatal(err)
		}
		ack, err := h.fake.WaitAck(h.ctx, env)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(jsonField(t, ack.Payload, "text"), "[DEMO] ") {
			t.Errorf("ack payload %s is not labelled", ack.Payload)
		}
		if i == 0 {
			if _, err := h.fake.WaitCall(h.ctx, "response_url", nil); err != nil {
				t.Fatal(err)
			}
			h.fake.Fail("response_url", fakeslack.Failure{Status: 404, Times: -1})
		}
	}
	if _, err := h.fake.WaitCall(h.ctx, "chat.postEphemeral", func(c fakeslack.Call) bool { return c.Form.Get("channel") == helpdesk }); err != nil {
		t.Fatal(err)
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if wfErr != nil {
		t.Fatalf("flow failed: %v", wfErr)
	}

	seen := map[string]int{}
	for _, c := range h.fake.Calls() {
		switch c.Method {
		case "chat.postMessage", "chat.update", "chat.postEphemeral":
		case "response_url":
			if c.Status == 200 && !strings.HasPrefix(jsonField(t, c.JSON, "text"), "[DEMO] ") {
				t.Errorf("response_url reply %s is not labelled", c.JSON)
			}
			seen[c.Method]++
			continue
		default:
			continue
		}
		seen[c.Method]++
		if text := c.Form.Get("text"); !strings.HasPrefix(text, "[DEMO] ") || strings.Count(text, "DEMO") != 1 {
			t.Errorf("%s text %q is not labelled", c.Method, c.Form.Get("text"))
		}
		if blocks := c.Form.Get("blocks"); blocks != "" {
			var bs []struct {
				Type string            `json:"type"`
				Raw  []json.RawMessage `json:"elements"`
			}
			if err := json.Unmarshal([]byte(blocks), &bs); err != nil {
				t.Fatal(err)
			}
			if len(bs) == 0 || bs[0].Type != "context" || len(bs[0].Raw) != 1 || jsonField(t, bs[0].Raw[0], "text") != "*DEMO* · sample data &lt;only&gt;" {
				t.Errorf("%s blocks do not open with the label: %s", c.Method, blocks)
			}
		}
	}
	// postMessage: card ×2, notice ×2, channel line ×2; update ×2; ephemeral:
	// password ×2 and the fallback reply.
	if seen["chat.postMessage"] != 6 || seen["chat.update"] != 2 || seen["chat.postEphemeral"] != 3 || seen["response_url"] != 2 {
		t.Errorf("calls seen = %v", seen)
	}
	checkClean(t, h.fake)
}

func jsonField(t *testing.T, raw []byte, key string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	s, _ := m[key].(string)
	return s
}
