package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/locksmithbot/locksmith/commands"
	"github.com/locksmithbot/locksmith/internal/fakeslack"
	"github.com/locksmithbot/locksmith/internal/secret"
)

func TestNew(t *testing.T) {
	app, bot := secret.NewToken(fakeslack.AppToken), secret.NewToken(fakeslack.BotToken)
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
		wantURL string
	}{
		{"defaults", Config{AppToken: app, BotToken: bot}, false, DefaultAPIURL},
		{"url without slash is normalised", Config{AppToken: app, BotToken: bot, APIURL: "http://127.0.0.1:1/api"}, false, "http://127.0.0.1:1/api/"},
		{"missing app token", Config{BotToken: bot}, true, ""},
		{"missing bot token", Config{AppToken: app}, true, ""},
		{"tokens swapped", Config{AppToken: bot, BotToken: app}, true, ""},
		{"url without scheme", Config{AppToken: app, BotToken: bot, APIURL: "slack.com/api/"}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := New(tt.cfg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("New error = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				if strings.Contains(err.Error(), fakeslack.AppToken) || strings.Contains(err.Error(), fakeslack.BotToken) {
					t.Error("the error text carries a token")
				}
				return
			}
			if b.cfg.APIURL != tt.wantURL {
				t.Errorf("APIURL = %q, want %q", b.cfg.APIURL, tt.wantURL)
			}
			if b.cfg.Workers != DefaultWorkers || b.cfg.QueueSize != DefaultQueueSize || b.cfg.CallTimeout != DefaultCallTimeout ||
				b.cfg.DrainTimeout != DefaultDrainTimeout || b.cfg.GroupCacheTTL != DefaultGroupCacheTTL || b.cfg.HTTPClient == nil {
				t.Errorf("defaults not applied: %+v", b.cfg)
			}
		})
	}
}

func TestRun_ConnectedTracksTheSocket(t *testing.T) {
	fake := newFake(t)
	b := newBot(t, fake, &syncBuffer{}, nil)
	if b.Connected() {
		t.Fatal("Connected() before Run")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx, &fakeWorkflow{}) }()
	wctx, wcancel := context.WithTimeout(context.Background(), waitLong)
	defer wcancel()
	if err := fake.WaitConnected(wctx); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, wctx, "Connected() true", b.Connected)
	if err := b.Run(ctx, &fakeWorkflow{}); err == nil {
		t.Error("a second concurrent Run was accepted")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if b.Connected() {
		t.Error("Connected() after Run returned")
	}
}

// The loop acks every envelope at once even when every worker is stuck in the
// workflow, and never runs more than Workers at a time.
func TestRun_AcksEveryEnvelopeWhileWorkflowBlocks(t *testing.T) {
	const workers, commandsSent = 3, 20
	release := make(chan struct{})
	var running, peak, calls atomic.Int32
	wf := &fakeWorkflow{slash: func(ctx context.Context, in commands.Invocation) commands.Reply {
		calls.Add(1)
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		defer running.Add(-1)
		<-release
		return commands.Reply{Text: "done " + in.Text}
	}}
	h := start(t, wf, func(c *Config) { c.Workers = workers })

	ids := make([]string, commandsSent)
	for i := range ids {
		id, err := h.fake.SlashCommand(h.ctx, alice, helpdesk, command, fmt.Sprintf("contoso.com u%d@contoso.com", i))
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	for _, id := range ids {
		ack, err := h.fake.WaitAck(h.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var p ackPayload
		if err := json.Unmarshal(ack.Payload, &p); err != nil {
			t.Fatalf("ack payload %s: %v", ack.Payload, err)
		}
		if p.ResponseType != "ephemeral" || !strings.Contains(p.Text, "Looking up") {
			t.Errorf("ack payload = %s, want an ephemeral Looking up…", ack.Payload)
		}
		// Every worker is blocked until release is closed below, so these acks
		// arriving at all shows they do not wait for a worker.
	}
	waitUntil(t, h.ctx, "all workers busy", func() bool { return running.Load() == workers })
	if got := calls.Load(); got != workers {
		t.Errorf("%d workflow calls in flight with %d workers", got, workers)
	}
	close(release)
	waitUntil(t, h.ctx, "every reply posted", func() bool { return len(h.fake.ResponseURLPosts()) == commandsSent })
	if p := peak.Load(); p > workers {
		t.Errorf("peak concurrency %d > %d workers", p, workers)
	}
	checkClean(t, h.fake)
}

// With the queue full the envelope is still acked, and the ack itself says busy.
func TestRun_BusyWhenQueueFull(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 10)
	wf := &fakeWorkflow{
		slash: func(ctx context.Context, in commands.Invocation) commands.Reply {
			started <- struct{}{}
			<-release
			return commands.Reply{}
		},
		action: func(ctx context.Context, in commands.Action) commands.Reply { return commands.Reply{} },
	}
	h := start(t, wf, func(c *Config) { c.Workers = 1; c.QueueSize = 1 })
	defer close(release)

	first, err := h.fake.SlashCommand(h.ctx, alice, helpdesk, command, "a")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-started: // the only worker is now busy
	case <-h.ctx.Done():
		t.Fatal("workflow never called")
	}
	queued, err := h.fake.SlashCommand(h.ctx, alice, helpdesk, command, "b")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.fake.WaitAck(h.ctx, queued); err != nil {
		t.Fatal(err)
	}
	rejected, err := h.fake.SlashCommand(h.ctx, alice, helpdesk, command, "c")
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{first: "Looking up", queued: "Looking up", rejected: "busy"} {
		ack, err := h.fake.WaitAck(h.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(ack.Payload), want) {
			t.Errorf("ack payload %s, want it to say %q", ack.Payload, want)
		}
	}

	// A click while the queue is full is acked and answered by response_url.
	if err := h.bot.Notify(h.ctx, alice, commands.Notice{Text: "approved", ResetButton: "REQ1"}); err != nil {
		t.Fatal(err)
	}
	dm := h.fake.DMChannel(alice)
	msgs := h.fake.Messages(dm)
	click, err := h.fake.Click(h.ctx, alice, fakeslack.MessageRef{Channel: dm, TS: msgs[0].TS}, ActionIDReset, "REQ1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.fake.WaitAck(h.ctx, click); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, h.ctx, "busy reply to the click", func() bool {
		for _, p := range h.fake.ResponseURLPosts() {
			if p.EnvelopeID == click && strings.Contains(string(p.Body), "busy") {
				return true
			}
		}
		return false
	})
	checkClean(t, h.fake)
}

// The workflow sees a transport-free Invocation, and its Reply reaches the user
// through the response_url as an ephemeral message that replaces nothing.
func TestRun_SlashCommandReplyViaResponseURL(t *testing.T) {
	got := make(chan commands.Invocation, 1)
	wf := &fakeWorkflow{slash: func(ctx context.Context, in commands.Invocation) commands.Reply {
		got <- in
		return commands.Reply{Text: "Customer *Contoso* not found."}
	}}
	h := start(t, wf, nil)
	env, err := h.fake.SlashCommand(h.ctx, alice, helpdesk, command, "contoso.com jdoe@contoso.com INC-1")
	if err != nil {
		t.Fatal(err)
	}
	var in commands.Invocation
	select {
	case in = <-got:
	case <-h.ctx.Done():
		t.Fatal("workflow not called")
	}
	want := commands.Invocation{UserID: alice, UserName: "alice", TeamID: fakeslack.TeamID, ChannelID: helpdesk,
		Text: "contoso.com jdoe@contoso.com INC-1", CorrelationID: in.CorrelationID, TriggerID: in.TriggerID, EnvelopeID: env}
	if in != want || in.TriggerID == "" {
		t.Errorf("Invocation = %+v, want %+v", in, want)
	}
	if _, err := uuid.Parse(in.CorrelationID); err != nil {
		t.Errorf("CorrelationID %q is not a UUID", in.CorrelationID)
	}
	call, err := h.fake.WaitCall(h.ctx, "response_url", nil)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Text            string `json:"text"`
		ResponseType    string `json:"response_type"`
		ReplaceOriginal *bool  `json:"replace_original"`
	}
	if err := json.Unmarshal(call.JSON, &body); err != nil {
		t.Fatalf("response_url body: %v", err)
	}
	if body.Text != "Customer *Contoso* not found." || body.ResponseType != "ephemeral" || body.ReplaceOriginal == nil || *body.ReplaceOriginal {
		t.Errorf("response_url body = %s", call.JSON)
	}
	posts := h.fake.ResponseURLPosts()
	if len(posts) != 1 || posts[0].EnvelopeID != env {
		t.Errorf("response_url posts = %+v, want one for envelope %s", posts, env)
	}
	if !strings.Contains(h.logs.String(), `"correlation_id":"`+in.CorrelationID+`"`) {
		t.Error("no log line carries the correlation ID")
	}
	if strings.Contains(h.logs.String(), "INC-1") {
		t.Error("the command text reached the log")
	}
	checkClean(t, h.fake)
}

func TestRun_ReplyFallsBackToPostEphemeral(t *testing.T) {
	wf := &fakeWorkflow{slash: func(ctx context.Context, in commands.Invocation) commands.Reply {
		return commands.Reply{Text: "usage: /reset-password <customer> <user>"}
	}}
	h := start(t, wf, nil)
	h.fake.Fail("response_url", fakeslack.Failure{Status: 404, Times: -1})
	if _, err := h.fake.SlashCommand(h.ctx, alice, helpdesk, command, "help"); err != nil {
		t.Fatal(err)
	}
	call, err := h.fake.WaitCall(h.ctx, "chat.postEphemeral", nil)
	if err != nil {
		t.Fatal(err)
	}
	if call.Form.Get("channel") != helpdesk || call.Form.Get("user") != alice || !strings.HasPrefix(call.Form.Get("text"), "usage:") {
		t.Errorf("fallback chat.postEphemeral = %v", call.Form)
	}
}

// Each button maps to its ActionKind, with the request ID from the value and the
// clicker, channel and message from the envelope.
func TestRun_ClickMapsToAction(t *testing.T) {
	got := make(chan commands.Action, 8)
	wf := &fakeWorkflow{action: func(ctx context.Context, in commands.Action) commands.Reply {
		got <- in
		return commands.Reply{Text: "ok"}
	}}
	h := start(t, wf, func(c *Config) { c.Workers = 1 })

	card := pendingCard()
	card.RequestID = "REQ7"
	ref, err := h.bot.PostApproval(h.ctx, approvalsCh, card)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.bot.Notify(h.ctx, alice, commands.Notice{Text: "approved", ResetButton: "REQ7", CancelButton: "REQ7"}); err != nil {
		t.Fatal(err)
	}
	dm := h.fake.DMChannel(alice)
	notice := h.fake.Messages(dm)[0]

	tests := []struct {
		name     string
		user     string
		msg      fakeslack.MessageRef
		actionID string
		want     commands.ActionKind
	}{
		{"approve", bob, fakeslack.MessageRef{Channel: ref.Channel, TS: ref.TS}, ActionIDApprove, commands.ActionApprove},
		{"reset", alice, fakeslack.MessageRef{Channel: dm, TS: notice.TS}, ActionIDReset, commands.ActionReset},
		{"withdraw", alice, fakeslack.MessageRef{Channel: dm, TS: notice.TS}, ActionIDCancel, commands.ActionCancel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := h.fake.Click(h.ctx, tt.user, tt.msg, tt.actionID, "")
			if err != nil {
				t.Fatal(err)
			}
			ack, err := h.fake.WaitAck(h.ctx, env)
			if err != nil {
				t.Fatal(err)
			}
			if ack.Payload != nil {
				t.Errorf("block_actions ack carries a payload: %s", ack.Payload)
			}
			var a commands.Action
			select {
			case a = <-got:
			case <-h.ctx.Done():
				t.Fatal("workflow not called")
			}
			want := commands.Action{Kind: tt.want, RequestID: "REQ7", UserID: tt.user, UserName: map[string]string{alice: "alice", bob: "bob"}[tt.user],
				ChannelID: tt.msg.Channel, MessageTS: tt.msg.TS, CorrelationID: a.CorrelationID}
			if a != want {
				t.Errorf("Action = %+v, want %+v", a, want)
			}
			if _, err := uuid.Parse(a.CorrelationID); err != nil {
				t.Errorf("CorrelationID %q is not a UUID", a.CorrelationID)
			}
		})
	}

	// An unknown action ID is acked and never reaches the workflow: with one worker
	// and a FIFO queue, the next known click is the next Action the workflow sees.
	unknown, err := h.fake.Click(h.ctx, bob, fakeslack.MessageRef{Channel: ref.Channel, TS: ref.TS}, "someone_elses_button", "REQ7")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.fake.WaitAck(h.ctx, unknown); err != nil {
		t.Fatal(err)
	}
	if _, err := h.fake.Click(h.ctx, bob, fakeslack.MessageRef{Channel: ref.Channel, TS: ref.TS}, ActionIDApprove, "REQ8"); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-got:
		if a.RequestID != "REQ8" {
			t.Errorf("workflow saw %+v; the unknown action should have been ignored", a)
		}
	case <-h.ctx.Done():
		t.Fatal("workflow not called")
	}
	checkClean(t, h.fake)
}

// slack-go reconnects after a disconnect; the bot keeps serving on the new socket.
func TestRun_SurvivesDisconnect(t *testing.T) {
	wf := &fakeWorkflow{slash: func(ctx context.Context, in commands.Invocation) commands.Reply {
		return commands.Reply{Text: "reply " + in.Text}
	}}
	h := start(t, wf, nil)
	for i, reason := range []string{"refresh_requested", "warning"} {
		h.fake.Disconnect(reason)
		waitUntil(t, h.ctx, "a new socket", func() bool { return h.fake.Connections() >= i+2 })
		if err := h.fake.WaitConnected(h.ctx); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, h.ctx, "Connected() true again", h.bot.Connected)
		text := "after " + reason
		env, err := h.fake.SlashCommand(h.ctx, alice, helpdesk, command, text)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.fake.WaitAck(h.ctx, env); err != nil {
			t.Fatal(err)
		}
		if _, err := h.fake.WaitCall(h.ctx, "response_url", func(c fakeslack.Call) bool {
			return strings.Contains(string(c.JSON), "reply "+text)
		}); err != nil {
			t.Fatal(err)
		}
	}
	checkClean(t, h.fake)
}

// An envelope slack-go cannot decode is still acked (slack-go itself would drop
// it, and the user would see operation_timeout); its body is not logged.
func TestRun_AcksUndecodableEnvelope(t *testing.T) {
	h := start(t, &fakeWorkflow{}, nil)
	// action_ts as a number makes slack-go reject the whole interactive payload.
	frame := []byte(`{"envelope_id":"11111111-2222-3333-4444-555555555555","type":"interactive","accepts_response_payload":false,` +
		`"payload":{"type":"block_actions","user":{"id":"U0BOB"},"action_ts":12,"actions":[],"text":"secret-ish user text"}}`)
	if err := h.fake.SendRaw(h.ctx, frame); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, h.ctx, "the bad envelope to be handled", func() bool {
		return strings.Contains(h.logs.String(), "undecodable envelope")
	})
	if strings.Contains(h.logs.String(), "secret-ish user text") {
		t.Error("the undecodable body reached the log")
	}
	// The fake did not send that envelope through its bookkeeping, so the ack
	// shows up as "ack for unknown envelope": that is the ack we want.
	waitUntil(t, h.ctx, "the ack", func() bool {
		for _, u := range h.fake.Unexpected() {
			if strings.Contains(u, "11111111-2222-3333-4444-555555555555") {
				return true
			}
		}
		return false
	})
}

// On shutdown Run stops reading, lets the in-flight workflow call finish and post
// its reply, then returns nil.
func TestRun_ShutdownDrainsInFlightWork(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	var ctxErrAtReturn error
	wf := &fakeWorkflow{slash: func(ctx context.Context, in commands.Invocation) commands.Reply {
		close(started)
		<-release
		ctxErrAtReturn = ctx.Err()
		return commands.Reply{Text: "finished after shutdown began"}
	}}
	h := start(t, wf, func(c *Config) { c.DrainTimeout = waitLong })
	if _, err := h.fake.SlashCommand(h.ctx, alice, helpdesk, command, "x"); err != nil {
		t.Fatal(err)
	}
	<-started
	stopped := make(chan error, 1)
	go func() { stopped <- h.stop() }()
	waitUntil(t, h.ctx, "Connected() false", func() bool { return !h.bot.Connected() })
	select {
	case err := <-stopped:
		t.Fatalf("Run returned (%v) while work was in flight", err)
	default:
	}
	close(release)
	select {
	case err := <-stopped:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-h.ctx.Done():
		t.Fatal("Run did not return")
	}
	if ctxErrAtReturn != nil {
		t.Errorf("workflow context was cancelled during the drain: %v", ctxErrAtReturn)
	}
	if _, err := h.fake.WaitCall(h.ctx, "response_url", nil); err != nil {
		t.Errorf("the drained job's reply was not posted: %v", err)
	}
}

// Past DrainTimeout the workers' context is cancelled and Run returns anyway.
func TestRun_ShutdownCancelsWorkPastDrainTimeout(t *testing.T) {
	started := make(chan struct{})
	var sawCancel atomic.Bool
	wf := &fakeWorkflow{slash: func(ctx context.Context, in commands.Invocation) commands.Reply {
		close(started)
		<-ctx.Done()
		sawCancel.Store(true)
		return commands.Reply{}
	}}
	h := start(t, wf, func(c *Config) { c.DrainTimeout = 100 * time.Millisecond })
	if _, err := h.fake.SlashCommand(h.ctx, alice, helpdesk, command, "x"); err != nil {
		t.Fatal(err)
	}
	<-started
	if err := h.stop(); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if !sawCancel.Load() {
		t.Error("workflow context not cancelled at the drain deadline")
	}
}

// A panicking workflow costs one job, not the process: the user gets a reference.
func TestRun_WorkflowPanicIsContained(t *testing.T) {
	var once sync.Once
	wf := &fakeWorkflow{slash: func(ctx context.Context, in commands.Invocation) commands.Reply {
		once.Do(func() { panic("boom") })
		return commands.Reply{Text: "second"}
	}}
	h := start(t, wf, func(c *Config) { c.Workers = 1 })
	for range 2 {
		if _, err := h.fake.SlashCommand(h.ctx, alice, helpdesk, command, "x"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.fake.WaitCall(h.ctx, "response_url", func(c fakeslack.Call) bool {
		return strings.Contains(string(c.JSON), "Something went wrong (ref ")
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.fake.WaitCall(h.ctx, "response_url", func(c fakeslack.Call) bool {
		return strings.Contains(string(c.JSON), "second")
	}); err != nil {
		t.Fatal(err)
	}
}

func TestRun_ObserveAck(t *testing.T) {
	var mu sync.Mutex
	var seen []time.Duration
	h := start(t, &fakeWorkflow{}, func(c *Config) {
		c.ObserveAck = func(d time.Duration) { mu.Lock(); seen = append(seen, d); mu.Unlock() }
	})
	env, err := h.fake.SlashCommand(h.ctx, alice, helpdesk, command, "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.fake.WaitAck(h.ctx, env); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0] <= 0 || seen[0] > waitLong {
		t.Errorf("ObserveAck saw %v, want one positive duration", seen)
	}
}

func TestRun_FatalAuthErrorEndsRun(t *testing.T) {
	for _, code := range []string{"invalid_auth", "not_authed", "account_inactive", "token_revoked"} {
		t.Run(code, func(t *testing.T) {
			fake := newFake(t)
			fake.Fail("apps.connections.open", fakeslack.Failure{Error: code, Times: -1})
			logs := &syncBuffer{}
			b := newBot(t, fake, logs, nil)
			ctx, cancel := context.WithTimeout(context.Background(), waitLong)
			defer cancel()
			err := b.Run(ctx, &fakeWorkflow{})
			if err == nil || ctx.Err() != nil {
				t.Fatalf("Run = %v (ctx %v), want an early %s error", err, ctx.Err(), code)
			}
			// The operator learns which of the two tokens to replace.
			if !strings.Contains(err.Error(), code) || !strings.Contains(err.Error(), "SLACK_APP_TOKEN") {
				t.Errorf("Run error %q does not name %s and SLACK_APP_TOKEN", err, code)
			}
			if !strings.Contains(logs.String(), "SLACK_APP_TOKEN") {
				t.Errorf("log does not name SLACK_APP_TOKEN:\n%s", logs.String())
			}
			if errors.Is(err, context.Canceled) {
				t.Error("fatal error reported as a cancellation")
			}
		})
	}
}

// A Web API call refused for its token names the bot token, the one it used.
func TestCall_AuthFailureNamesBotToken(t *testing.T) {
	fake := newFake(t)
	fake.Fail("auth.test", fakeslack.Failure{Error: "token_revoked"})
	b := newBot(t, fake, &syncBuffer{}, nil)
	_, err := b.AuthTest(context.Background())
	if err == nil || !strings.Contains(err.Error(), "token_revoked") || !strings.Contains(err.Error(), "SLACK_BOT_TOKEN") {
		t.Fatalf("AuthTest = %v, want token_revoked naming SLACK_BOT_TOKEN", err)
	}
	fake.Fail("auth.test", fakeslack.Failure{Error: "channel_not_found"})
	if _, err := b.AuthTest(context.Background()); err == nil || strings.Contains(err.Error(), "SLACK_BOT_TOKEN") {
		t.Fatalf("AuthTest = %v: a non-auth error must not blame the token", err)
	}
}

// Work still queued at the drain deadline is dropped, and its user, who saw
// only "Looking up…", is told that nothing was done.
func TestRun_DroppedWorkIsAnswered(t *testing.T) {
	started := make(chan struct{})
	var once sync.Once
	wf := &fakeWorkflow{slash: func(ctx context.Context, in commands.Invocation) commands.Reply {
		once.Do(func() { close(started) })
		<-ctx.Done()
		return commands.Reply{}
	}}
	h := start(t, wf, func(c *Config) { c.Workers = 1; c.DrainTimeout = 100 * time.Millisecond })
	for range 2 {
		env, err := h.fake.SlashCommand(h.ctx, alice, helpdesk, command, "x")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.fake.WaitAck(h.ctx, env); err != nil { // acked, so queued
			t.Fatal(err)
		}
	}
	<-started
	if err := h.stop(); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	n := 0
	for _, c := range h.fake.Calls() {
		if c.Method == "response_url" && strings.Contains(string(c.JSON), "restarting") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d restart notices, want 1 (for the job that never started)", n)
	}
}

// slack-go reports the old socket's read error from a goroutine it does not
// wait for, so after Slack's routine refresh the error can arrive after the new
// socket is up. It must not mark the live connection down (this made
// TestRun_SurvivesDisconnect flaky on a loaded machine, and /readyz fail).
func TestHandle_LateReadErrorKeepsLiveConnection(t *testing.T) {
	b := newBot(t, newFake(t), &syncBuffer{}, nil)
	rs := &runState{}
	b.handle(rs, socketmode.Event{Type: socketmode.EventTypeConnecting, Data: &slack.ConnectingEvent{Attempt: 1, ConnectionCount: 1}})
	b.handle(rs, socketmode.Event{Type: socketmode.EventTypeConnected, Data: &socketmode.ConnectedEvent{ConnectionCount: 1}})
	b.handle(rs, socketmode.Event{Type: socketmode.EventTypeHello})
	b.handle(rs, socketmode.Event{Type: socketmode.EventTypeIncomingError, Data: &slack.IncomingEventError{ErrorObj: errors.New("websocket: close 1006 (abnormal closure)")}})
	if !b.Connected() {
		t.Fatal("a late read error from the previous socket marked the live connection down")
	}
	b.handle(rs, socketmode.Event{Type: socketmode.EventTypeConnecting, Data: &slack.ConnectingEvent{Attempt: 1, ConnectionCount: 2}})
	if b.Connected() {
		t.Fatal("Connected() still true while reconnecting")
	}
}
