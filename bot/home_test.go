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
	"github.com/locksmithbot/locksmith/messages"
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

// typicalHomeJa is typicalHome as a Japanese reader gets it: the lines as
// commands writes them in Japanese.
func typicalHomeJa() commands.Home {
	h := typicalHome()
	h.Lang = messages.Japanese
	h.Mine[0].Text = "*Contoso Ltd* の *jdoe@contoso.com* · 承認済み、<!date^1741948200^{date_short_pretty} {time}|2025-03-14 10:30 UTC> までにリセットしてください"
	h.Mine[1].Text = "*Fabrikam* の *amy@fabrikam.com* · 承認待ち (1/2)"
	h.Waiting[0].Text = "<@U0ALICE>: *Contoso Ltd* の *ceo@contoso.com* · 承認待ち"
	h.Waiting[1].Text = ":rotating_light: 緊急アクセス · <@U0ALICE>: *Contoso Ltd* の *cfo@contoso.com* · パスワードをリセット済み、 *未レビュー*"
	return h
}

// fullHomeJa is fullHome in Japanese with lines of lineLen kana: three bytes
// each in UTF-8, where Slack counts characters.
func fullHomeJa(lineLen int) commands.Home {
	h := fullHome(0)
	h.Lang = messages.Japanese
	long := strings.Repeat("あ", lineLen)
	for _, list := range [][]commands.HomeItem{h.Mine, h.Waiting, h.History} {
		for i := range list {
			list[i].Text = long
		}
	}
	return h
}

func TestRenderHome_Golden(t *testing.T) {
	// The longest lines Slack allows, rendered but not kept as a golden file.
	checkHomeLimits(t, renderHome(fullHome(2990)))
	// Japanese is three bytes a character, and 33 lines of 2,990 kana would
	// pass 250 kB; but a line's kana come only from clipped values (customer
	// 100, detail 200, ticket 60 characters) and the catalogue's few words,
	// so 1,000 kana is above any line commands builds.
	checkHomeLimits(t, renderHome(fullHomeJa(1000)))
	for name, h := range map[string]commands.Home{
		"home_empty": {UserID: "U0NEW"}, "home_typical": typicalHome(), "home_full": fullHome(40),
		"home_empty_ja": {UserID: "U0NEW", Lang: messages.Japanese}, "home_typical_ja": typicalHomeJa(),
	} {
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

// A Japanese reader's Home has Japanese headings, buttons and notes, and the
// same ASCII block IDs as the English one.
func TestRenderHome_Japanese(t *testing.T) {
	ja, en := renderHome(typicalHomeJa()), renderHome(typicalHome())
	raw, _ := json.Marshal(ja)
	for _, want := range []string{"あなたの申請", "あなたの判断待ち", "最近あなたが判断した申請", "今すぐパスワードをリセット",
		"申請を取り下げ", "承認", "却下…", "確認済みにする", "有効期限: ", "locksmith との DM で、あなたにだけ表示されます。", "_まだありません。_"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("Japanese Home lacks %q", want)
		}
	}
	for _, english := range []string{"Your requests", "Waiting for you", "Approve", "Acknowledge", "Valid until"} {
		if strings.Contains(string(raw), english) {
			t.Errorf("Japanese Home still says %q", english)
		}
	}
	if len(ja.Blocks.BlockSet) != len(en.Blocks.BlockSet) {
		t.Fatalf("%d blocks in Japanese, %d in English", len(ja.Blocks.BlockSet), len(en.Blocks.BlockSet))
	}
	for i, b := range ja.Blocks.BlockSet {
		if b.ID() != en.Blocks.BlockSet[i].ID() {
			t.Errorf("block %d: id %q in Japanese, %q in English", i, b.ID(), en.Blocks.BlockSet[i].ID())
		}
	}
}
