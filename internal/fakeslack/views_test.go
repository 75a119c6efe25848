package fakeslack

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

func denyModal(blocks int) slack.ModalViewRequest {
	v := slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           slack.NewTextBlockObject(slack.PlainTextType, "Deny request", false, false),
		Submit:          slack.NewTextBlockObject(slack.PlainTextType, "Deny", false, false),
		CallbackID:      "deny",
		PrivateMetadata: "REQ1",
	}
	for i := 0; i < blocks; i++ {
		id := "reason"
		if i > 0 {
			id = fmt.Sprintf("reason%d", i)
		}
		v.Blocks.BlockSet = append(v.Blocks.BlockSet, slack.NewInputBlock(id,
			slack.NewTextBlockObject(slack.PlainTextType, "Reason", false, false), nil,
			slack.NewPlainTextInputBlockElement(nil, "reason_input")))
	}
	return v
}

// A click's trigger_id opens one modal, within 3 s; submitting it delivers a
// view_submission whose state slack-go decodes, and whose ack may carry errors.
func TestViewsOpenAndSubmitThroughSlackGo(t *testing.T) {
	s := newServer(t)
	c := startClient(t, s, clientOptions{ackPayload: func(e socketmode.Event) any {
		if cb, ok := e.Data.(slack.InteractionCallback); ok && cb.Type == slack.InteractionTypeViewSubmission {
			return map[string]any{"response_action": "errors", "errors": map[string]string{"reason": "too short"}}
		}
		return nil
	}})
	ctx := testContext(t)
	if err := s.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	_, ts, err := c.api.PostMessageContext(ctx, approvals, slack.MsgOptionText("fallback", false), approvalBlocks())
	if err != nil {
		t.Fatal(err)
	}
	envID, err := s.Click(ctx, bob, MessageRef{approvals, ts}, "deny", "REQ1")
	if err != nil {
		t.Fatal(err)
	}
	cb := c.waitEvent(ctx, t, socketmode.EventTypeInteractive, byEnvelope(envID)).Data.(slack.InteractionCallback)
	if _, err := c.api.OpenViewContext(ctx, cb.TriggerID, denyModal(101)); err == nil || !strings.Contains(err.Error(), "invalid_arguments") {
		t.Errorf("101 blocks: %v; want invalid_arguments", err)
	}
	resp, err := c.api.OpenViewContext(ctx, cb.TriggerID, denyModal(1))
	if err != nil {
		t.Fatalf("views.open: %v", err)
	}
	if _, err := c.api.OpenViewContext(ctx, cb.TriggerID, denyModal(1)); err == nil || !strings.Contains(err.Error(), "exchanged_trigger_id") {
		t.Errorf("second use of a trigger: %v", err)
	}
	if _, err := c.api.OpenViewContext(ctx, "123.456.abc", denyModal(1)); err == nil || !strings.Contains(err.Error(), "invalid_trigger_id") {
		t.Errorf("unknown trigger: %v", err)
	}
	views := s.Views()
	if len(views) != 1 || views[0].ID != resp.ID || views[0].UserID != bob || views[0].PrivateMetadata != "REQ1" || views[0].Title != "Deny request" {
		t.Fatalf("Views() = %+v", views)
	}

	sub, err := s.SubmitView(ctx, bob, resp.ID, map[string]map[string]string{"reason": {"reason_input": "wrong user"}})
	if err != nil {
		t.Fatal(err)
	}
	got := c.waitEvent(ctx, t, socketmode.EventTypeInteractive, byEnvelope(sub)).Data.(slack.InteractionCallback)
	if got.Type != slack.InteractionTypeViewSubmission || got.User.ID != bob || got.View.CallbackID != "deny" || got.View.PrivateMetadata != "REQ1" ||
		got.View.State == nil || got.View.State.Values["reason"]["reason_input"].Value != "wrong user" {
		t.Fatalf("view_submission = %+v", got)
	}
	ack, err := s.WaitAck(ctx, sub)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ack.Payload), `"response_action":"errors"`) {
		t.Errorf("ack payload = %s", ack.Payload)
	}
	noUnexpected(t, s)
}

func TestViewsOpen_TriggerExpires(t *testing.T) {
	s := newServer(t)
	ctx := testContext(t)
	s.mu.Lock()
	id := s.issueTriggerLocked(bob)
	s.triggers[id].at = time.Now().Add(-TriggerTTL - time.Millisecond)
	s.mu.Unlock()
	if _, err := newAPI(s).OpenViewContext(ctx, id, denyModal(1)); err == nil || !strings.Contains(err.Error(), "expired_trigger_id") {
		t.Errorf("expired trigger: %v", err)
	}
}

// views.publish stores one Home view per user; app_home_opened carries it.
func TestViewsPublishAndAppHomeOpened(t *testing.T) {
	s := newServer(t)
	c := startClient(t, s, clientOptions{})
	ctx := testContext(t)
	if err := s.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	home := slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*Your requests*", false, false), nil, nil),
	}}}
	if _, err := c.api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: alice, View: home}); err != nil {
		t.Fatalf("views.publish: %v", err)
	}
	if _, err := c.api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: alice, View: home}); err != nil {
		t.Fatalf("views.publish again: %v", err)
	}
	v, ok := s.HomeView(alice)
	if !ok || v.Publishes != 2 || !strings.Contains(string(v.Blocks), "Your requests") {
		t.Fatalf("HomeView = %+v, %v", v, ok)
	}
	big := home
	for len(big.Blocks.BlockSet) <= 100 {
		big.Blocks.BlockSet = append(big.Blocks.BlockSet, slack.NewDividerBlock())
	}
	if _, err := c.api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: alice, View: big}); err == nil {
		t.Error("a Home view of 101 blocks was accepted")
	}

	envID, err := s.OpenHome(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	e := c.waitEvent(ctx, t, socketmode.EventTypeEventsAPI, byEnvelope(envID))
	ev, ok := e.Data.(slackevents.EventsAPIEvent)
	if !ok {
		t.Fatalf("events_api data = %T", e.Data)
	}
	opened, ok := ev.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent)
	if !ok || opened.User != alice || opened.Tab != "home" || opened.View.ID != v.ID {
		t.Fatalf("app_home_opened = %+v", ev.InnerEvent.Data)
	}
	noUnexpected(t, s)
}

// A click in a Home tab carries the view, and no channel or response_url.
func TestClickInView(t *testing.T) {
	s := newServer(t)
	c := startClient(t, s, clientOptions{})
	ctx := testContext(t)
	if err := s.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	home := slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: []slack.Block{
		slack.NewActionBlock("b1", slack.NewButtonBlockElement("reset", "REQ1", slack.NewTextBlockObject(slack.PlainTextType, "Reset", false, false))),
		slack.NewActionBlock("b2", slack.NewButtonBlockElement("reset", "REQ2", slack.NewTextBlockObject(slack.PlainTextType, "Reset", false, false))),
	}}}
	if _, err := c.api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: alice, View: home}); err != nil {
		t.Fatal(err)
	}
	v, _ := s.HomeView(alice)
	env, err := s.ClickInView(ctx, alice, v.ID, "reset", "REQ2")
	if err != nil {
		t.Fatal(err)
	}
	cb := c.waitEvent(ctx, t, socketmode.EventTypeInteractive, byEnvelope(env)).Data.(slack.InteractionCallback)
	if cb.Type != slack.InteractionTypeBlockActions || cb.Container.Type != "view" || cb.Container.ViewID != v.ID || cb.ResponseURL != "" || cb.Channel.ID != "" ||
		len(cb.ActionCallback.BlockActions) != 1 || cb.ActionCallback.BlockActions[0].Value != "REQ2" || cb.ActionCallback.BlockActions[0].BlockID != "b2" {
		t.Fatalf("callback = %+v", cb)
	}
	if _, err := s.ClickInView(ctx, bob, v.ID, "reset", ""); err == nil {
		t.Error("a click in someone else's Home was delivered")
	}
	noUnexpected(t, s)
}
