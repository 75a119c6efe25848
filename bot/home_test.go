package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/locksmithbot/locksmith/commands"
)

// fullHome is the largest Home the workflow builds: every list at its cap,
// every line long, every item with the most buttons it can have.
func fullHome(lineLen int) commands.Home {
	long := strings.Repeat("x", lineLen)
	h := commands.Home{UserID: "U0ALICE", MoreMine: 1, MoreWaiting: 3}
	for i := 0; i < 10; i++ {
		h.Mine = append(h.Mine, commands.HomeItem{RequestID: fmt.Sprintf("REQ-M%02d", i), Text: long + "<@U0ALICE>",
			Buttons: []commands.ActionKind{commands.ActionReset}, ValidUntil: expires})
	}
	for i := 0; i < 15; i++ {
		h.Waiting = append(h.Waiting, commands.HomeItem{RequestID: fmt.Sprintf("REQ-W%02d", i), Text: long,
			Buttons: []commands.ActionKind{commands.ActionApprove, commands.ActionDeny}})
	}
	for i := 0; i < 8; i++ {
		h.History = append(h.History, commands.HomeItem{RequestID: fmt.Sprintf("REQ-H%02d", i), Text: long})
	}
	return h
}

func typicalHome() commands.Home {
	return commands.Home{
		UserID: "U0BOB",
		Mine: []commands.HomeItem{
			{RequestID: "REQ1", Text: "*jdoe@contoso.com* at *Contoso Ltd* · approved, reset before <!date^1741948200^{date_short_pretty} at {time}|2025-03-14 10:30 UTC>",
				Buttons: []commands.ActionKind{commands.ActionReset}, ValidUntil: expires},
			{RequestID: "REQ2", Text: "*amy@fabrikam.com* at *Fabrikam* · waiting for approval (1 of 2)", Buttons: []commands.ActionKind{commands.ActionCancel}},
		},
		Waiting: []commands.HomeItem{
			{RequestID: "REQ3", Text: "<@U0ALICE>: *ceo@contoso.com* at *Contoso Ltd* · waiting for approval", Buttons: []commands.ActionKind{commands.ActionApprove, commands.ActionDeny}},
			{RequestID: "REQ4", Text: ":rotating_light: break-glass · <@U0ALICE>: *cfo@contoso.com* at *Contoso Ltd* · password reset, *not yet reviewed*", Buttons: []commands.ActionKind{commands.ActionReview}},
		},
	}
}

func TestRenderHome_Golden(t *testing.T) {
	// The longest lines Slack allows, rendered but not kept as a golden file.
	checkHomeLimits(t, renderHome(fullHome(2990)))
	for name, h := range map[string]commands.Home{"home_empty": {UserID: "U0NEW"}, "home_typical": typicalHome(), "home_full": fullHome(40)} {
		t.Run(name, func(t *testing.T) {
			view := renderHome(h)
			checkHomeLimits(t, view)
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(view); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", name+".golden.json")
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./bot -run TestRenderHome_Golden -update)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("rendering differs from %s; got:\n%s", path, buf.Bytes())
			}
		})
	}
}

// checkHomeLimits holds a Home view to Slack's limits: 100 blocks, unique
// block IDs, the Block Kit text limits, and 250 kB in all.
func checkHomeLimits(t *testing.T, v slack.HomeTabViewRequest) {
	t.Helper()
	blocks := v.Blocks.BlockSet
	if len(blocks) > maxHomeBlocks {
		t.Errorf("%d blocks; a Home tab allows %d", len(blocks), maxHomeBlocks)
	}
	ids := map[string]bool{}
	for _, b := range blocks {
		if id := b.ID(); id != "" {
			if ids[id] || len(id) > 255 {
				t.Errorf("block_id %q repeated or too long", id)
			}
			ids[id] = true
		}
	}
	// The per-block limits are the message ones; the 50-block cap is not.
	for i := 0; i < len(blocks); i += maxBlocks {
		checkLimits(t, blocks[i:min(i+maxBlocks, len(blocks))])
	}
	raw, _ := json.Marshal(v)
	if len(raw) > 250*1000 {
		t.Errorf("view is %d bytes; Slack allows 250 kB", len(raw))
	}
}

// Opening the Home tab publishes the person's Home; a click in it reaches the
// workflow without a channel, and the reply arrives in the DM with locksmith.
func TestRun_HomeOpenedAndClicked(t *testing.T) {
	got := make(chan commands.Action, 2)
	wf := &homeWorkflow{fakeWorkflow: fakeWorkflow{action: func(ctx context.Context, in commands.Action) commands.Reply {
		got <- in
		return commands.Reply{Text: ":white_check_mark: Done."}
	}}}
	h := start(t, wf, nil)
	wf.bot = h.bot
	env, err := h.fake.OpenHome(h.ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	if ack, err := h.fake.WaitAck(h.ctx, env); err != nil || ack.Payload != nil {
		t.Fatalf("ack = %+v, %v", ack, err)
	}
	if _, err := h.fake.WaitCall(h.ctx, "views.publish", nil); err != nil {
		t.Fatal(err)
	}
	v, ok := h.fake.HomeView(alice)
	if !ok || !strings.Contains(string(v.Blocks), "Your requests") || !strings.Contains(string(v.Blocks), ActionIDReset) {
		t.Fatalf("home view = %+v", v)
	}
	click, err := h.fake.ClickInView(h.ctx, alice, v.ID, ActionIDReset, "REQ1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.fake.WaitAck(h.ctx, click); err != nil {
		t.Fatal(err)
	}
	var a commands.Action
	select {
	case a = <-got:
	case <-h.ctx.Done():
		t.Fatal("workflow not called")
	}
	if a.Kind != commands.ActionReset || a.RequestID != "REQ1" || a.UserID != alice || a.ChannelID != "" || a.MessageTS != "" {
		t.Fatalf("Action = %+v", a)
	}
	dm := h.fake.DMChannel(alice)
	deadline := time.Now().Add(waitLong)
	for len(h.fake.Ephemerals(dm, alice)) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if e := h.fake.Ephemerals(dm, alice); len(e) != 1 || e[0].Text != ":white_check_mark: Done." {
		t.Fatalf("reply in the DM = %+v", e)
	}
	checkClean(t, h.fake)
}

// homeWorkflow is a fakeWorkflow that also publishes a fixed Home.
type homeWorkflow struct {
	fakeWorkflow
	bot *Bot
}

func (w *homeWorkflow) HomeOpened(ctx context.Context, userID string) error {
	h := typicalHome()
	h.UserID = userID
	return w.bot.PublishHome(ctx, h)
}
