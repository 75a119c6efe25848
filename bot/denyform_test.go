package bot

import (
	"context"
	"strings"
	"testing"

	"github.com/locksmithbot/locksmith/commands"
	"github.com/locksmithbot/locksmith/internal/fakeslack"
	"github.com/locksmithbot/locksmith/messages"
)

// Deny opens a form (views.open with the click's trigger_id) and denies
// nothing by itself; an empty reason keeps the form open with a field error;
// a reason closes it and reaches the workflow with the request.
func TestRun_DenyAsksForAReason(t *testing.T) {
	got := make(chan commands.Action, 4)
	wf := &fakeWorkflow{action: func(ctx context.Context, in commands.Action) commands.Reply {
		got <- in
		return commands.Reply{Text: "Denied."}
	}}
	h := start(t, wf, func(c *Config) { c.Workers = 1 })
	card := pendingCard()
	card.RequestID = "REQ9"
	ref, err := h.bot.PostApproval(h.ctx, approvalsCh, card)
	if err != nil {
		t.Fatal(err)
	}
	env, err := h.fake.Click(h.ctx, bob, fakeslack.MessageRef{Channel: ref.Channel, TS: ref.TS}, ActionIDDeny, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.fake.WaitAck(h.ctx, env); err != nil {
		t.Fatal(err)
	}
	if _, err := h.fake.WaitCall(h.ctx, "views.open", nil); err != nil {
		t.Fatal(err)
	}
	views := h.fake.Views()
	if len(views) != 1 || views[0].UserID != bob || views[0].CallbackID != denyCallbackID || !strings.Contains(views[0].PrivateMetadata, `"r":"REQ9"`) {
		t.Fatalf("views = %+v", views)
	}
	select {
	case a := <-got:
		t.Fatalf("the click alone reached the workflow: %+v", a)
	default:
	}

	// Blank reason: the ack keeps the form open with an error under the field.
	blank, err := h.fake.SubmitView(h.ctx, bob, views[0].ID, map[string]map[string]string{denyReasonBlock: {denyReasonInput: "  \n "}})
	if err != nil {
		t.Fatal(err)
	}
	ack, err := h.fake.WaitAck(h.ctx, blank)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ack.Payload), `"response_action":"errors"`) || !strings.Contains(string(ack.Payload), denyReasonBlock) {
		t.Fatalf("blank reason ack = %s", ack.Payload)
	}

	sub, err := h.fake.SubmitView(h.ctx, bob, views[0].ID, map[string]map[string]string{denyReasonBlock: {denyReasonInput: "Not the user on the ticket <@U0ALL>"}})
	if err != nil {
		t.Fatal(err)
	}
	if ack, err := h.fake.WaitAck(h.ctx, sub); err != nil || ack.Payload != nil {
		t.Fatalf("submit ack = %+v, %v; want a bare ack that closes the form", ack, err)
	}
	var a commands.Action
	select {
	case a = <-got:
	case <-h.ctx.Done():
		t.Fatal("workflow not called")
	}
	if a.Kind != commands.ActionDeny || a.RequestID != "REQ9" || a.UserID != bob || a.Reason != "Not the user on the ticket <@U0ALL>" ||
		a.ChannelID != ref.Channel || a.MessageTS != ref.TS || a.CorrelationID == "" {
		t.Fatalf("Action = %+v", a)
	}
	// The workflow's reply reaches the denier ephemerally, where the card is.
	if _, err := h.fake.WaitCall(h.ctx, "chat.postEphemeral", nil); err != nil {
		t.Fatal(err)
	}
	if e := h.fake.Ephemerals(approvalsCh, bob); len(e) != 1 || e[0].Text != "Denied." {
		t.Errorf("ephemerals = %+v", e)
	}
	checkClean(t, h.fake)
}

// A trigger that cannot open the form (expired, say) denies nothing and
// tells the clicker to try again.
func TestRun_DenyFormFailureDeniesNothing(t *testing.T) {
	wf := &fakeWorkflow{action: func(ctx context.Context, in commands.Action) commands.Reply {
		t.Errorf("workflow called: %+v", in)
		return commands.Reply{}
	}}
	h := start(t, wf, nil)
	ref, err := h.bot.PostApproval(h.ctx, approvalsCh, pendingCard())
	if err != nil {
		t.Fatal(err)
	}
	h.fake.Fail("views.open", fakeslack.Failure{Error: "expired_trigger_id"})
	env, err := h.fake.Click(h.ctx, bob, fakeslack.MessageRef{Channel: ref.Channel, TS: ref.TS}, ActionIDDeny, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.fake.WaitCall(h.ctx, "response_url", nil); err != nil {
		t.Fatal(err)
	}
	posts := h.fake.ResponseURLPosts()
	if len(posts) != 1 || posts[0].EnvelopeID != env || !strings.Contains(string(posts[0].Body), "nothing was denied") {
		t.Fatalf("response_url posts = %+v", posts)
	}
}

// A Japanese denier gets the form, and its field error, in Japanese.
func TestRun_DenyFormJapanese(t *testing.T) {
	wf := &fakeWorkflow{action: func(ctx context.Context, in commands.Action) commands.Reply { return commands.Reply{} }}
	h := start(t, wf, func(c *Config) {
		c.AckLanguage = func(userID string) messages.Lang {
			if userID == bob {
				return messages.Japanese
			}
			return messages.English
		}
	})
	ref, err := h.bot.PostApproval(h.ctx, approvalsCh, pendingCard())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.fake.Click(h.ctx, bob, fakeslack.MessageRef{Channel: ref.Channel, TS: ref.TS}, ActionIDDeny, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.fake.WaitCall(h.ctx, "views.open", nil); err != nil {
		t.Fatal(err)
	}
	views := h.fake.Views()
	if len(views) != 1 || views[0].Title != "パスワード リセットの却下" || views[0].Submit != "却下" || views[0].Close != "キャンセル" ||
		!strings.Contains(string(views[0].Blocks), "このリセットを却下する理由を入力してください") {
		t.Fatalf("views = %+v", views)
	}
	blank, err := h.fake.SubmitView(h.ctx, bob, views[0].ID, map[string]map[string]string{denyReasonBlock: {denyReasonInput: " "}})
	if err != nil {
		t.Fatal(err)
	}
	ack, err := h.fake.WaitAck(h.ctx, blank)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ack.Payload), "理由を入力してください。申請者に表示されます。") {
		t.Fatalf("blank reason ack = %s", ack.Payload)
	}
}
