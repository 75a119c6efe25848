package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/locksmithbot/locksmith/commands"
	"github.com/locksmithbot/locksmith/messages"
)

// dropNoticeWithin bounds telling the users of dropped work, all together.
const dropNoticeWithin = 3 * time.Second

// ackTimeout bounds handing an ack to slack-go's writer queue. slack-go's own
// Ack waits forever (context.TODO) when no connection is up and its 20-slot
// queue is full; an ack later than Slack's 3 s deadline is useless anyway.
const ackTimeout = 3 * time.Second

// ackPayload is the body of a slash-command ack.
type ackPayload struct {
	ResponseType string `json:"response_type"`
	Text         string `json:"text"`
}

// job is one acked envelope, transport-free except for where to reply.
type job struct {
	slash       *commands.Invocation
	action      *commands.Action
	homeOf      string // app_home_opened: the user whose Home to publish
	responseURL string
	channelID   string
	userID      string
	log         *slog.Logger
}

// runState is what the event loop and workers of one Run share.
type runState struct {
	sm      *socketmode.Client
	queue   chan job
	busy    chan struct{} // bounds concurrent "busy" replies
	workCtx context.Context
	wg      *sync.WaitGroup // workers and busy replies; Run waits for it
	commits *commits        // jobs past their point of no return
}

// handle deals with one event from slack-go. It must return quickly: while it
// runs, slack-go cannot deliver the next event, and after 50 pending events its
// reader stops answering pings.
func (b *Bot) handle(rs *runState, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		ce, ok := evt.Data.(*slack.ConnectingEvent)
		if !ok {
			ce = &slack.ConnectingEvent{}
		}
		b.watch.connecting(ce.Attempt)
		b.log.Info("socket mode connecting", "attempt", ce.Attempt, "connection_count", ce.ConnectionCount)
	case socketmode.EventTypeConnected:
		b.watch.connected()
		count := 0
		if ce, ok := evt.Data.(*socketmode.ConnectedEvent); ok {
			count = ce.ConnectionCount
		}
		b.log.Info("socket mode connected", "connection_count", count)
	case socketmode.EventTypeHello:
		b.watch.connected()
	case socketmode.EventTypeConnectionError:
		ce, ok := evt.Data.(*slack.ConnectionErrorEvent)
		if !ok {
			ce = &slack.ConnectionErrorEvent{}
		}
		b.watch.connecting(ce.Attempt)
		b.log.Warn("socket mode connection failed", "attempt", ce.Attempt, "backoff_seconds", ce.Backoff.Seconds(), "error", ce.ErrorObj)
	case socketmode.EventTypeInvalidAuth:
		b.watch.down(phaseRefused)
		b.log.Error("socket mode: Slack refused SLACK_APP_TOKEN")
	case socketmode.EventTypeDisconnect:
		// slack-go v0.35.0 handles disconnect itself and never emits this; kept
		// so a future version that does cannot leave /readyz stale.
		b.watch.down(phaseIdle)
	case socketmode.EventTypeIncomingError:
		var err error
		if ie, ok := evt.Data.(*slack.IncomingEventError); ok {
			err = ie.ErrorObj
		}
		// A malformed frame keeps the connection; any other read error ends it and
		// slack-go reconnects (Connecting follows). Slack's routine refresh
		// (disconnect, then a closed socket) lands here too, so this is not a warning.
		//
		// This does not mark the bot disconnected: slack-go reports the read error
		// from a goroutine of the old socket that it does not wait for, so after a
		// refresh the error can arrive after the new socket's Connected and Hello,
		// and would leave Connected() false (and /readyz failing) on a live
		// connection. The Connecting event that precedes every reconnect is the
		// reliable signal.
		var syntaxErr *json.SyntaxError
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &syntaxErr) || errors.As(err, &typeErr) {
			b.log.Warn("socket mode: malformed frame ignored", "error", err)
			return
		}
		b.log.Info("socket mode connection ended", "error", err)
	case socketmode.EventTypeErrorWriteFailed:
		if wf, ok := evt.Data.(*socketmode.ErrorWriteFailed); ok {
			envelope := ""
			if wf.Response != nil {
				envelope = wf.Response.EnvelopeID
			}
			b.log.Warn("socket mode write failed", "envelope_id", envelope, "error", wf.Cause)
		}
	case socketmode.EventTypeErrorBadMessage:
		b.ackBadMessage(rs, evt)
	case socketmode.EventTypeSlashCommand:
		b.slashCommand(rs, evt)
	case socketmode.EventTypeInteractive:
		b.interactive(rs, evt)
	case socketmode.EventTypeEventsAPI:
		b.eventsAPI(rs, evt)
	default:
		// Anything newer: an envelope is acked whatever it holds, so Slack does
		// not redeliver it.
		if evt.Request != nil && evt.Request.EnvelopeID != "" {
			b.ack(rs, evt.Request.EnvelopeID, nil, time.Now(), b.log.With("envelope_type", evt.Request.Type))
		}
	}
}

// eventsAPI acks an events_api envelope and queues what locksmith handles:
// app_home_opened on the Home tab. Everything else is acked and ignored.
func (b *Bot) eventsAPI(rs *runState, evt socketmode.Event) {
	received := time.Now()
	if evt.Request == nil {
		return
	}
	log := b.log.With("envelope_type", evt.Request.Type)
	b.ack(rs, evt.Request.EnvelopeID, nil, received, log)
	ev, ok := evt.Data.(slackevents.EventsAPIEvent)
	if !ok {
		return
	}
	opened, ok := ev.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent)
	if !ok || opened.Tab != "home" || opened.User == "" {
		return
	}
	j := job{homeOf: opened.User, userID: opened.User, log: b.log.With("slack_user", opened.User)}
	if !offer(rs.queue, j) {
		// The Home is rebuilt the next time they open it.
		j.log.Warn("home not published: the work queue is full")
	}
}

// slashCommand acks a /reset-password envelope with "Looking up…" (or "busy"
// when the queue is full) and queues it.
func (b *Bot) slashCommand(rs *runState, evt socketmode.Event) {
	received := time.Now()
	cmd, ok := evt.Data.(slack.SlashCommand)
	if !ok || evt.Request == nil {
		return
	}
	cid := uuid.NewString()
	log := b.log.With("correlation_id", cid, "slack_user", cmd.UserID)
	j := job{
		slash: &commands.Invocation{
			UserID:        cmd.UserID,
			UserName:      cmd.UserName,
			TeamID:        cmd.TeamID,
			ChannelID:     cmd.ChannelID,
			Text:          cmd.Text,
			CorrelationID: cid,
			TriggerID:     cmd.TriggerID,
			EnvelopeID:    evt.Request.EnvelopeID,
			RetryAttempt:  evt.Request.RetryAttempt,
			RetryReason:   evt.Request.RetryReason,
		},
		responseURL: cmd.ResponseURL,
		channelID:   cmd.ChannelID,
		userID:      cmd.UserID,
		log:         log,
	}
	// Offering to the queue never waits, so the ack goes out at once either way;
	// a full queue turns the ack itself into the "busy" answer.
	queued := offer(rs.queue, j)
	// What the user sees at once: Slack shows an ack payload as the command's
	// immediate ephemeral reply. Its language is the one last resolved for
	// them, looked up without I/O so the ack is not delayed.
	lang := b.ackLanguage(cmd.UserID)
	var reply any = ackPayload{ResponseType: "ephemeral", Text: b.labelText(texts.Text(lang, messages.AckLookingUp, nil))}
	switch {
	case !queued:
		reply = ackPayload{ResponseType: "ephemeral", Text: b.labelText(texts.Text(lang, messages.AckBusy, nil))}
	case evt.Request.RetryAttempt > 0:
		// A redelivery: the first delivery, if it arrived, has shown its own
		// "Looking up…" and will answer; the workflow decides which one acts.
		reply = nil
	}
	b.ack(rs, evt.Request.EnvelopeID, reply, received, log)
	// The command text is user input (and a reason may name people): not logged.
	log.Info("slash command", "command", cmd.Command, "channel", cmd.ChannelID, "queued", queued,
		"envelope_id", evt.Request.EnvelopeID, "retry_attempt", evt.Request.RetryAttempt)
}

// interactive acks a block_actions envelope and queues the click; other
// interaction types and unknown action IDs are acked and ignored.
func (b *Bot) interactive(rs *runState, evt socketmode.Event) {
	received := time.Now()
	if evt.Request == nil {
		return
	}
	cb, ok := evt.Data.(slack.InteractionCallback)
	if !ok {
		b.ack(rs, evt.Request.EnvelopeID, nil, received, b.log)
		return
	}
	if cb.Type == slack.InteractionTypeViewSubmission {
		b.viewSubmission(rs, evt.Request.EnvelopeID, cb, received)
		return
	}
	cid := uuid.NewString()
	log := b.log.With("correlation_id", cid, "slack_user", cb.User.ID)
	b.ack(rs, evt.Request.EnvelopeID, nil, received, log)
	if cb.Type != slack.InteractionTypeBlockActions {
		log.Info("interaction ignored", "interaction_type", string(cb.Type))
		return
	}
	act, actionID, ok := toAction(cb, cid)
	if !ok {
		log.Info("unknown action ignored", "action_id", actionID)
		return
	}
	j := job{
		action:      &act,
		responseURL: cb.ResponseURL,
		channelID:   act.ChannelID,
		userID:      act.UserID,
		log:         log,
	}
	if act.Kind == commands.ActionDeny {
		log.Info("button click", "action", string(act.Kind), "request_id", act.RequestID, "channel", act.ChannelID)
		b.openDenyForm(rs, cb.TriggerID, j)
		return
	}
	queued := offer(rs.queue, j)
	log.Info("button click", "action", string(act.Kind), "request_id", act.RequestID, "channel", act.ChannelID, "queued", queued)
	if !queued {
		b.replyBusy(rs, j)
	}
}

// toAction maps the first locksmith button in a block_actions payload to a
// commands.Action. It returns the action ID it looked at for logging.
func toAction(cb slack.InteractionCallback, cid string) (commands.Action, string, bool) {
	actionID := ""
	for _, a := range cb.ActionCallback.BlockActions {
		if a == nil {
			continue
		}
		actionID = a.ActionID
		kind, ok := actionKinds[a.ActionID]
		if !ok || a.Value == "" {
			continue
		}
		channel := cb.Container.ChannelID
		if channel == "" {
			channel = cb.Channel.ID
		}
		ts := cb.Container.MessageTs
		if ts == "" {
			ts = cb.Message.Timestamp
		}
		name := cb.User.Name
		if name == "" {
			name = cb.User.Profile.DisplayName
		}
		return commands.Action{
			Kind:          kind,
			RequestID:     a.Value,
			UserID:        cb.User.ID,
			UserName:      name,
			ChannelID:     channel,
			MessageTS:     ts,
			CorrelationID: cid,
		}, a.ActionID, true
	}
	return commands.Action{}, actionID, false
}

// ackBadMessage acks an envelope slack-go could not decode. slack-go drops such
// an envelope without acking it, which shows the user an error (a slash command
// "failed with operation_timeout") and makes Slack retry events.
func (b *Bot) ackBadMessage(rs *runState, evt socketmode.Event) {
	bm, ok := evt.Data.(*socketmode.ErrorBadMessage)
	if !ok {
		return
	}
	var env struct {
		EnvelopeID string `json:"envelope_id"`
		Type       string `json:"type"`
	}
	_ = json.Unmarshal(bm.Message, &env) // the body itself is never logged: it holds user text
	b.log.Warn("undecodable envelope", "envelope_id", env.EnvelopeID, "envelope_type", env.Type, "error", bm.Cause)
	if env.EnvelopeID != "" {
		b.ack(rs, env.EnvelopeID, nil, time.Now(), b.log)
	}
}

// ack hands the ack to slack-go's writer. payload nil sends a bare ack.
func (b *Bot) ack(rs *runState, envelopeID string, payload any, received time.Time, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), ackTimeout)
	defer cancel()
	if err := rs.sm.AckCtx(ctx, envelopeID, payload); err != nil {
		log.Error("ack failed", "envelope_id", envelopeID, "error", err)
		return
	}
	if b.cfg.ObserveAck != nil {
		b.cfg.ObserveAck(time.Since(received))
	}
}

// offer queues j if there is room, without waiting.
func offer(queue chan<- job, j job) bool {
	select {
	case queue <- j:
		return true
	default:
		return false
	}
}

// replyBusy tells a clicker the pool is full. Block actions cannot carry an
// answer in their ack, so this is a response_url POST, run beside the loop and
// bounded like the pool.
func (b *Bot) replyBusy(rs *runState, j job) {
	select {
	case rs.busy <- struct{}{}:
	default:
		j.log.Warn("busy reply dropped: too many pending")
		return
	}
	rs.wg.Go(func() {
		defer func() { <-rs.busy }()
		if err := b.reply(rs.workCtx, j, commands.Reply{Text: texts.Text(b.ackLanguage(j.userID), messages.AckBusy, nil)}); err != nil {
			j.log.Warn("busy reply not delivered", "error", err)
		}
	})
}

// work runs queued jobs until the queue is closed. Jobs still queued after the
// drain deadline are dropped (and logged): their context is already cancelled.
// Their users, who saw only "Looking up…", are told nothing was done, within
// one short shared deadline so a long queue cannot hold up the exit.
func (b *Bot) work(ctx context.Context, wf commands.Workflow, rs *runState) {
	queue := rs.queue
	var dropCtx context.Context
	for j := range queue {
		if ctx.Err() != nil {
			j.log.Warn("dropped at shutdown: drain deadline passed")
			if j.homeOf != "" {
				continue // nobody waits for a Home: it is rebuilt when next opened
			}
			if dropCtx == nil {
				var cancel context.CancelFunc
				dropCtx, cancel = context.WithTimeout(context.Background(), dropNoticeWithin)
				defer cancel()
			}
			// Nothing was started for this job.
			restarting := texts.Text(b.ackLanguage(j.userID), messages.AckRestarting, nil)
			if err := b.reply(dropCtx, j, commands.Reply{Text: restarting}); err != nil {
				j.log.Warn("restart notice not delivered", "error", err)
			}
			continue
		}
		b.runJob(ctx, wf, j, rs)
	}
}

// runJob calls the workflow and posts its reply. A panic in the workflow is
// contained to this job: the user gets a generic answer with a reference. The
// reply is posted even when shutdown has cancelled ctx meanwhile: it says what
// happened (a password set, or nothing done).
func (b *Bot) runJob(ctx context.Context, wf commands.Workflow, j job, rs *runState) {
	ctx = withLogger(ctx, j.log)
	var (
		commitMu  sync.Mutex
		committed bool
	)
	defer func() {
		commitMu.Lock()
		defer commitMu.Unlock()
		if committed {
			rs.commits.leave()
		}
	}()
	ctx = commands.WithPointOfNoReturn(ctx, func() bool {
		commitMu.Lock()
		defer commitMu.Unlock()
		if !committed {
			committed = rs.commits.enter()
		}
		return committed
	})
	start := time.Now()
	var reply commands.Reply
	func() {
		defer func() {
			if r := recover(); r != nil {
				j.log.Error("workflow panicked", "panic", fmt.Sprint(r))
				reply = commands.Reply{Text: texts.Text(b.ackLanguage(j.userID), messages.AckFailed, messages.Data{"Ref": correlationID(j)})}
			}
		}()
		switch {
		case j.homeOf != "":
			if ho, ok := wf.(HomeOpener); ok {
				if err := ho.HomeOpened(ctx, j.homeOf); err != nil {
					j.log.Warn("home not published", "error", err)
				}
			}
		case j.slash != nil:
			reply = wf.SlashCommand(ctx, *j.slash)
		default:
			reply = wf.Action(ctx, *j.action)
		}
	}()
	j.log.Info("workflow done", "elapsed_seconds", time.Since(start).Seconds(), "reply", reply.Text != "")
	commitMu.Lock()
	stoppedEarly := ctx.Err() != nil && !committed
	commitMu.Unlock()
	if stoppedEarly && reply.Text != "" {
		// Shutdown cancelled the work before it reached Partner Center: whatever
		// the workflow's answer says went wrong, no password was changed.
		j.log.Warn("work stopped by shutdown before its point of no return")
		reply.Text = texts.Text(b.ackLanguage(j.userID), messages.AckStopped, nil) + " " + reply.Text
	}
	if reply.Text == "" {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), replyWithin)
	defer cancel()
	if err := b.reply(rctx, j, reply); err != nil {
		j.log.Warn("reply not delivered", "error", err)
	}
}

// replyWithin bounds posting a workflow's reply, which must happen even when
// shutdown has cancelled the work it reports on.
const replyWithin = 30 * time.Second

// reply shows r to the person who typed or clicked: through the envelope's
// response_url when there is one, else (or if that fails) chat.postEphemeral.
func (b *Bot) reply(ctx context.Context, j job, r commands.Reply) error {
	text := clip(r.Text, maxReplyText)
	if j.responseURL != "" {
		err := b.call(ctx, "response_url", func(ctx context.Context) error {
			return slack.PostWebhookCustomHTTPContext(ctx, j.responseURL, b.cfg.HTTPClient, &slack.WebhookMessage{
				Text:            b.labelText(text),
				ResponseType:    slack.ResponseTypeEphemeral,
				ReplaceOriginal: false,
			})
		})
		if err == nil {
			return nil
		}
		j.log.Warn("response_url failed; falling back to chat.postEphemeral", "error", err)
	}
	channel := j.channelID
	if channel == "" {
		// A click in the App Home has no channel and no response_url: answer in
		// the DM with locksmith, to that person only.
		dm, err := b.openDM(ctx, j.userID)
		if err != nil {
			return err
		}
		channel = dm
	}
	return b.call(ctx, "chat.postEphemeral", func(ctx context.Context) error {
		_, err := b.api.PostEphemeralContext(ctx, channel, j.userID, b.message(text, nil))
		return err
	})
}

func correlationID(j job) string {
	switch {
	case j.slash != nil:
		return j.slash.CorrelationID
	case j.action != nil:
		return j.action.CorrelationID
	}
	return ""
}

// loggerKey carries the per-envelope logger (with correlation_id and
// slack_user) from the worker through the workflow into Messenger calls.
type loggerKey struct{}

func withLogger(ctx context.Context, log *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, log)
}

// logFrom returns the per-envelope logger carried by ctx, or the Bot's.
func (b *Bot) logFrom(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return b.log
}
