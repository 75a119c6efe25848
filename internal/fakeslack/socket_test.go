package fakeslack

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

func TestClientConnectsWithAppTokenAndGetsHello(t *testing.T) {
	s := newServer(t)
	ctx := testContext(t)
	c := startClient(t, s, clientOptions{})

	if err := s.WaitConnected(ctx); err != nil {
		t.Fatalf("WaitConnected: %v", err)
	}
	hello := c.waitEvent(ctx, t, socketmode.EventTypeHello, nil)
	if hello.Request.NumConnections != 1 {
		t.Errorf("hello num_connections = %d, want 1", hello.Request.NumConnections)
	}
	if hello.Request.DebugInfo.ApproximateConnectionTime <= 0 || hello.Request.DebugInfo.Host == "" {
		t.Errorf("hello debug_info = %+v, want host and approximate_connection_time", hello.Request.DebugInfo)
	}
	if hello.Request.ConnectionInfo.AppID != AppID {
		t.Errorf("hello connection_info.app_id = %q, want %q", hello.Request.ConnectionInfo.AppID, AppID)
	}

	open, err := s.WaitCall(ctx, "apps.connections.open", nil)
	if err != nil {
		t.Fatal(err)
	}
	if open.Token != AppToken || open.TokenVia != "header" {
		t.Errorf("apps.connections.open: token via %q, app token used = %v; want the app token via header",
			open.TokenVia, open.Token == AppToken)
	}
	if got := s.Connections(); got != 1 {
		t.Errorf("Connections() = %d, want 1", got)
	}
	noUnexpected(t, s)
}

// A client whose watchdog expects a PING every 600 ms stays on its first socket
// because the fake pings every 200 ms and the client answers each with a PONG.
func TestPingsKeepAShortWatchdogConnected(t *testing.T) {
	s := newServer(t)
	ctx := testContext(t)
	startClient(t, s, clientOptions{smOptions: []socketmode.Option{socketmode.OptionPingInterval(600 * time.Millisecond)}})

	if err := s.WaitPongs(ctx, 6); err != nil {
		t.Fatalf("WaitPongs: %v", err)
	}
	if got := s.Connections(); got != 1 {
		t.Errorf("Connections() = %d after 6 pings, want 1 (the watchdog fired)", got)
	}
}

func TestSlashCommandIsParsedBySlackGoAndAcked(t *testing.T) {
	s := newServer(t)
	ctx := testContext(t)
	c := startClient(t, s, clientOptions{})

	envID, err := s.SlashCommand(ctx, alice, approvals, "/reset-password", "contoso.com jdoe@contoso.com INC-1")
	if err != nil {
		t.Fatal(err)
	}
	evt := c.waitEvent(ctx, t, socketmode.EventTypeSlashCommand, byEnvelope(envID))
	cmd, ok := evt.Data.(slack.SlashCommand)
	if !ok {
		t.Fatalf("event data is %T, want slack.SlashCommand", evt.Data)
	}
	checks := []struct {
		field, got, want string
	}{
		{"user_id", cmd.UserID, alice},
		{"user_name", cmd.UserName, "alice"},
		{"channel_id", cmd.ChannelID, approvals},
		{"channel_name", cmd.ChannelName, "approvals"},
		{"team_id", cmd.TeamID, TeamID},
		{"api_app_id", cmd.APIAppID, AppID},
		{"command", cmd.Command, "/reset-password"},
		{"text", cmd.Text, "contoso.com jdoe@contoso.com INC-1"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("slash %s = %q, want %q", ch.field, ch.got, ch.want)
		}
	}
	if !strings.HasPrefix(cmd.ResponseURL, strings.TrimSuffix(s.APIURL(), "api/")+"response/") {
		t.Errorf("response_url = %q, want one on the fake", cmd.ResponseURL)
	}
	if cmd.TriggerID == "" || cmd.IsEnterpriseInstall {
		t.Errorf("trigger_id = %q, is_enterprise_install = %v; want a trigger and false", cmd.TriggerID, cmd.IsEnterpriseInstall)
	}
	if !evt.Request.AcceptsResponsePayload {
		t.Error("accepts_response_payload = false, want true for a slash command")
	}

	ack, err := s.WaitAck(ctx, envID)
	if err != nil {
		t.Fatal(err)
	}
	if ack.Latency <= 0 || ack.Latency > AckDeadline {
		t.Errorf("ack latency = %v, want in (0, %v]", ack.Latency, AckDeadline)
	}
	if ack.Payload != nil {
		t.Errorf("ack payload = %s, want none", ack.Payload)
	}
	if u := s.Unacked(); len(u) != 0 {
		t.Errorf("Unacked() = %q, want none", u)
	}
	// Slack escapes "/" in envelopes; slack-go decoded it back above.
	if !bytes.Contains(s.Traffic(), []byte(`"command":"\/reset-password"`)) {
		t.Error(`traffic lacks the escaped command "\/reset-password"`)
	}
	noUnexpected(t, s)
}

func TestSlashCommandAckPayloadIsTheImmediateReply(t *testing.T) {
	tests := []struct {
		name         string
		responseType string
		wantEph      int
		wantHistory  int
	}{
		{name: "ephemeral by default", responseType: "", wantEph: 1},
		{name: "explicitly ephemeral", responseType: "ephemeral", wantEph: 1},
		{name: "in_channel goes to history", responseType: "in_channel", wantHistory: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			ctx := testContext(t)
			startClient(t, s, clientOptions{ackPayload: func(socketmode.Event) any {
				p := map[string]any{"text": "Looking up…"}
				if tt.responseType != "" {
					p["response_type"] = tt.responseType
				}
				return p
			}})
			envID, err := s.SlashCommand(ctx, alice, approvals, "/reset-password", "x y")
			if err != nil {
				t.Fatal(err)
			}
			ack, err := s.WaitAck(ctx, envID)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(ack.Payload, []byte("Looking up")) {
				t.Errorf("ack payload = %s, want the reply", ack.Payload)
			}
			if got := len(s.Ephemerals(approvals, alice)); got != tt.wantEph {
				t.Errorf("ephemerals for alice = %d, want %d", got, tt.wantEph)
			}
			if got := len(s.Messages(approvals)); got != tt.wantHistory {
				t.Errorf("history messages = %d, want %d", got, tt.wantHistory)
			}
			if got := len(s.Ephemerals(approvals, bob)); got != 0 {
				t.Errorf("ephemerals for bob = %d, want 0", got)
			}
		})
	}
}

// approvalBlocks is a card like the bot's: a section and two buttons.
func approvalBlocks() slack.MsgOption {
	return slack.MsgOptionBlocks(
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*Reset* request <&>", false, false), nil, nil),
		slack.NewActionBlock("approval:REQ1",
			slack.NewButtonBlockElement("approve", "REQ1", slack.NewTextBlockObject(slack.PlainTextType, "Approve", false, false)).WithStyle(slack.StylePrimary),
			slack.NewButtonBlockElement("deny", "REQ1", slack.NewTextBlockObject(slack.PlainTextType, "Deny", false, false)).WithStyle(slack.StyleDanger),
		),
	)
}

func TestClickIsParsedBySlackGoAsBlockAction(t *testing.T) {
	tests := []struct {
		name        string
		channel     func(s *Server) string
		clicker     string
		wantChanNam string
	}{
		{name: "approval channel", channel: func(*Server) string { return approvals }, clicker: bob, wantChanNam: "approvals"},
		{name: "DM with the bot", channel: func(s *Server) string { return s.DMChannel(alice) }, clicker: alice, wantChanNam: "directmessage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			ctx := testContext(t)
			c := startClient(t, s, clientOptions{})
			channel := tt.channel(s)
			_, ts, err := c.api.PostMessageContext(ctx, channel, slack.MsgOptionText("fallback", false), approvalBlocks())
			if err != nil {
				t.Fatalf("PostMessage: %v", err)
			}

			envID, err := s.Click(ctx, tt.clicker, MessageRef{Channel: channel, TS: ts}, "deny", "")
			if err != nil {
				t.Fatal(err)
			}
			evt := c.waitEvent(ctx, t, socketmode.EventTypeInteractive, byEnvelope(envID))
			cb, ok := evt.Data.(slack.InteractionCallback)
			if !ok {
				t.Fatalf("event data is %T, want slack.InteractionCallback", evt.Data)
			}
			if cb.Type != slack.InteractionTypeBlockActions {
				t.Errorf("type = %q, want block_actions", cb.Type)
			}
			if n := len(cb.ActionCallback.BlockActions); n != 1 {
				t.Fatalf("block actions = %d, want 1 (attachment actions: %d)", n, len(cb.ActionCallback.AttachmentActions))
			}
			a := cb.ActionCallback.BlockActions[0]
			if a.ActionID != "deny" || a.BlockID != "approval:REQ1" || a.Value != "REQ1" || a.Type != "button" ||
				a.ActionTs == "" || a.Text.Text != "Deny" {
				t.Errorf("action = %+v, want deny/approval:REQ1/REQ1 button with text and action_ts", *a)
			}
			if cb.User.ID != tt.clicker || cb.Team.ID != TeamID || cb.APIAppID != AppID {
				t.Errorf("user/team/app = %q/%q/%q", cb.User.ID, cb.Team.ID, cb.APIAppID)
			}
			if cb.Channel.ID != channel || cb.Channel.Name != tt.wantChanNam {
				t.Errorf("channel = %q %q, want %q %q", cb.Channel.ID, cb.Channel.Name, channel, tt.wantChanNam)
			}
			if cb.Container.MessageTs != ts || cb.Container.ChannelID != channel || cb.Container.IsEphemeral {
				t.Errorf("container = %+v", cb.Container)
			}
			if cb.Message.Timestamp != ts || len(cb.Message.Blocks.BlockSet) != 2 {
				t.Errorf("message ts %q with %d blocks, want %q with 2", cb.Message.Timestamp, len(cb.Message.Blocks.BlockSet), ts)
			}
			if cb.ResponseURL == "" || cb.TriggerID == "" || evt.Request.AcceptsResponsePayload {
				t.Errorf("response_url %q, trigger_id %q, accepts_response_payload %v", cb.ResponseURL, cb.TriggerID, evt.Request.AcceptsResponsePayload)
			}
			if _, err := s.WaitAck(ctx, envID); err != nil {
				t.Fatal(err)
			}
			noUnexpected(t, s)
		})
	}
}

// Click with an explicit value overrides the button's, and a button posted in a
// block without block_id still yields a block action (Slack assigns an id).
func TestClickValueOverrideAndGeneratedBlockID(t *testing.T) {
	s := newServer(t)
	ctx := testContext(t)
	c := startClient(t, s, clientOptions{})
	_, ts, err := c.api.PostMessageContext(ctx, approvals, slack.MsgOptionBlocks(slack.NewActionBlock("",
		slack.NewButtonBlockElement("go", "v1", slack.NewTextBlockObject(slack.PlainTextType, "Go", false, false)))))
	if err != nil {
		t.Fatal(err)
	}
	envID, err := s.Click(ctx, bob, MessageRef{approvals, ts}, "go", "override")
	if err != nil {
		t.Fatal(err)
	}
	evt := c.waitEvent(ctx, t, socketmode.EventTypeInteractive, byEnvelope(envID))
	a := evt.Data.(slack.InteractionCallback).ActionCallback.BlockActions
	if len(a) != 1 || a[0].Value != "override" || a[0].BlockID == "" {
		t.Fatalf("block actions = %+v, want one with value override and a block_id", a)
	}
}

func TestClickOnUnknownMessageFails(t *testing.T) {
	s := newServer(t)
	_, err := s.Click(testContext(t), bob, MessageRef{approvals, "1700000000.000001"}, "approve", "")
	if err == nil {
		t.Fatal("Click on a message not in history succeeded")
	}
}

func TestDisconnectMakesSlackGoReconnect(t *testing.T) {
	for _, reason := range []string{"refresh_requested", "warning", "link_disabled"} {
		t.Run(reason, func(t *testing.T) {
			s := newServer(t)
			ctx := testContext(t)
			c := startClient(t, s, clientOptions{})
			if err := s.WaitConnected(ctx); err != nil {
				t.Fatal(err)
			}

			s.Disconnect(reason)
			if err := s.WaitConnected(ctx); err != nil {
				t.Fatal(err)
			}
			if got := s.Connections(); got != 2 {
				t.Errorf("Connections() = %d, want 2", got)
			}
			if got := s.CallCount("apps.connections.open"); got != 2 {
				t.Errorf("apps.connections.open calls = %d, want 2", got)
			}
			envID, err := s.SlashCommand(ctx, alice, approvals, "/reset-password", "after reconnect")
			if err != nil {
				t.Fatal(err)
			}
			c.waitEvent(ctx, t, socketmode.EventTypeSlashCommand, byEnvelope(envID))
			if _, err := s.WaitAck(ctx, envID); err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(s.Traffic(), []byte(`"reason":"`+reason+`"`)) {
				t.Error("traffic lacks the disconnect frame")
			}
			noUnexpected(t, s)
		})
	}
}

func TestEnvelopeWaitsForAClient(t *testing.T) {
	s := newServer(t)
	ctx := testContext(t)

	type result struct {
		id  string
		err error
	}
	done := make(chan result, 1)
	go func() {
		id, err := s.SlashCommand(ctx, alice, approvals, "/reset-password", "early")
		done <- result{id, err}
	}()
	c := startClient(t, s, clientOptions{})
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	c.waitEvent(ctx, t, socketmode.EventTypeSlashCommand, byEnvelope(r.id))
	if _, err := s.WaitAck(ctx, r.id); err != nil {
		t.Fatal(err)
	}
}

func TestEnvelopeWithoutClientEndsWithContext(t *testing.T) {
	s := newServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.SlashCommand(ctx, alice, approvals, "/reset-password", "nobody"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("SlashCommand with no client: err = %v, want deadline exceeded", err)
	}
	if u := s.Unacked(); len(u) != 0 {
		t.Errorf("Unacked() = %q, want none (nothing was sent)", u)
	}
}

func TestMalformedFramesKeepTheConnection(t *testing.T) {
	frames := []struct {
		name    string
		frame   string
		wantEvt socketmode.EventType
	}{
		{name: "unknown type", frame: `{"type":"weird"}`, wantEvt: socketmode.EventTypeErrorBadMessage},
		{name: "not JSON", frame: `{not json`, wantEvt: socketmode.EventTypeIncomingError},
		{name: "interactive with numeric action_ts", frame: `{"envelope_id":"e1","type":"interactive","payload":{"type":"block_actions","actions":[{"action_id":"a","block_id":"b","action_ts":1}]}}`, wantEvt: socketmode.EventTypeErrorBadMessage},
	}
	for _, tt := range frames {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			ctx := testContext(t)
			c := startClient(t, s, clientOptions{})
			if err := s.SendRaw(ctx, []byte(tt.frame)); err != nil {
				t.Fatal(err)
			}
			c.waitEvent(ctx, t, tt.wantEvt, nil)
			envID, err := s.SlashCommand(ctx, alice, approvals, "/reset-password", "still there")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.WaitAck(ctx, envID); err != nil {
				t.Fatal(err)
			}
			if got := s.Connections(); got != 1 {
				t.Errorf("Connections() = %d, want 1", got)
			}
		})
	}
}

func TestMisbehavingAcksAreUnexpected(t *testing.T) {
	tests := []struct {
		name string
		do   func(ctx context.Context, t *testing.T, s *Server, c *client)
		want string
	}{
		{
			name: "ack for an unknown envelope",
			do: func(_ context.Context, t *testing.T, _ *Server, c *client) {
				if err := c.sm.Ack(socketmode.Request{EnvelopeID: "no-such-envelope"}); err != nil {
					t.Fatal(err)
				}
			},
			want: "unknown envelope",
		},
		{
			name: "duplicate ack",
			do: func(ctx context.Context, t *testing.T, s *Server, c *client) {
				id, err := s.SlashCommand(ctx, alice, approvals, "/reset-password", "x")
				if err != nil {
					t.Fatal(err)
				}
				evt := c.waitEvent(ctx, t, socketmode.EventTypeSlashCommand, byEnvelope(id))
				if err := c.sm.Ack(*evt.Request); err != nil {
					t.Fatal(err)
				}
			},
			want: "duplicate ack",
		},
		{
			name: "late ack",
			do: func(ctx context.Context, t *testing.T, s *Server, c *client) {
				s.SetAckDeadline(time.Nanosecond)
				if _, err := s.SlashCommand(ctx, alice, approvals, "/reset-password", "x"); err != nil {
					t.Fatal(err)
				}
			},
			want: "late ack",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			ctx := testContext(t)
			c := startClient(t, s, clientOptions{})
			if err := s.WaitConnected(ctx); err != nil {
				t.Fatal(err)
			}
			tt.do(ctx, t, s, c)
			err := s.waitFor(ctx, func() bool {
				for _, u := range s.unexpected {
					if strings.Contains(u, tt.want) {
						return true
					}
				}
				return false
			})
			if err != nil {
				t.Fatalf("Unexpected() = %q, want an entry containing %q", s.Unexpected(), tt.want)
			}
		})
	}
}

func TestUnackedListsEnvelopesNotAcked(t *testing.T) {
	s := newServer(t)
	ctx := testContext(t)
	c := startClient(t, s, clientOptions{noAck: true})
	id, err := s.SlashCommand(ctx, alice, approvals, "/reset-password", "x")
	if err != nil {
		t.Fatal(err)
	}
	c.waitEvent(ctx, t, socketmode.EventTypeSlashCommand, byEnvelope(id))
	if u := s.Unacked(); len(u) != 1 || u[0] != id {
		t.Errorf("Unacked() = %q, want [%q]", u, id)
	}
	if a := s.Acks(); len(a) != 0 {
		t.Errorf("Acks() = %v, want none", a)
	}
}
