package bot

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/slack-go/slack"

	"github.com/locksmithbot/locksmith/commands"
	"github.com/locksmithbot/locksmith/messages"
)

// Deny opens a short form (a modal) asking why; the denial happens when it is
// submitted, with the reason, which reaches the requester and the audit trail.
const (
	denyCallbackID  = "locksmith_deny"
	denyReasonBlock = "locksmith_deny_reason"
	denyReasonInput = "reason"
	maxDenyReason   = 500
)

// openFormWithin bounds views.open: Slack accepts a trigger_id for 3 s after
// the click, so a slower call cannot succeed anyway.
const openFormWithin = 3 * time.Second

// denyMeta is the form's private_metadata: which request, and where the card
// is (for the reply). Only the request ID matters: the workflow reloads and
// re-checks everything on submit.
type denyMeta struct {
	RequestID string `json:"r"`
	Channel   string `json:"c,omitempty"`
	TS        string `json:"t,omitempty"`
}

// denyForm is the modal asking for the reason of a denial, in the denier's
// language l.
func denyForm(l messages.Lang, meta denyMeta) slack.ModalViewRequest {
	raw, _ := json.Marshal(meta)
	text := func(id messages.ID) *slack.TextBlockObject { return plain(texts.Text(l, id, nil)) }
	input := slack.NewPlainTextInputBlockElement(text(messages.DenyPlaceholder), denyReasonInput)
	input.Multiline = true
	input.MaxLength = maxDenyReason
	block := slack.NewInputBlock(denyReasonBlock, text(messages.DenyLabel), text(messages.DenyHint), input)
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           text(messages.DenyTitle),
		Submit:          text(messages.ConfirmDeny),
		Close:           text(messages.ConfirmCancel),
		CallbackID:      denyCallbackID,
		PrivateMetadata: string(raw),
		Blocks:          slack.Blocks{BlockSet: []slack.Block{block}},
	}
}

// openDenyForm opens the deny form for a click on Deny. It runs beside the
// event loop (views.open is a network call) but at once, before the trigger
// expires. Nothing is denied until the form is submitted.
func (b *Bot) openDenyForm(rs *runState, triggerID string, j job) {
	select {
	case rs.busy <- struct{}{}:
	default:
		j.log.Warn("deny form not opened: too many pending")
		b.replyBusy(rs, j)
		return
	}
	rs.wg.Go(func() {
		defer func() { <-rs.busy }()
		ctx, cancel := context.WithTimeout(rs.workCtx, openFormWithin)
		defer cancel()
		meta := denyMeta{RequestID: j.action.RequestID, Channel: j.action.ChannelID, TS: j.action.MessageTS}
		err := b.call(ctx, "views.open", func(ctx context.Context) error {
			_, err := b.api.OpenViewContext(ctx, triggerID, denyForm(b.ackLanguage(j.userID), meta))
			return err
		})
		if err == nil {
			j.log.Info("deny form opened", "request_id", meta.RequestID)
			return
		}
		j.log.Warn("deny form could not be opened", "request_id", meta.RequestID, "error", err)
		rctx, rcancel := context.WithTimeout(rs.workCtx, dropNoticeWithin)
		defer rcancel()
		if err := b.reply(rctx, j, commands.Reply{Text: texts.Text(b.ackLanguage(j.userID), messages.DenyOpenFailed, nil)}); err != nil {
			j.log.Warn("reply not delivered", "error", err)
		}
	})
}

// denySubmission turns a submitted deny form into a Deny action. It returns
// the ack payload: field errors when the reason is missing (the form stays
// open), nil to close the form and queue the denial.
func (b *Bot) denySubmission(cb slack.InteractionCallback, cid string) (ack any, j job, ok bool) {
	var meta denyMeta
	if err := json.Unmarshal([]byte(cb.View.PrivateMetadata), &meta); err != nil || meta.RequestID == "" {
		return nil, job{}, false
	}
	reason := ""
	if cb.View.State != nil {
		reason = strings.TrimSpace(cb.View.State.Values[denyReasonBlock][denyReasonInput].Value)
	}
	if reason == "" {
		return map[string]any{"response_action": "errors", "errors": map[string]string{denyReasonBlock: texts.Text(b.ackLanguage(cb.User.ID), messages.DenyReasonRequired, nil)}}, job{}, false
	}
	name := cb.User.Name
	if name == "" {
		name = cb.User.Profile.DisplayName
	}
	act := commands.Action{
		Kind: commands.ActionDeny, RequestID: meta.RequestID, Reason: reason,
		UserID: cb.User.ID, UserName: name, ChannelID: meta.Channel, MessageTS: meta.TS, CorrelationID: cid,
	}
	return nil, job{action: &act, channelID: meta.Channel, userID: cb.User.ID}, true
}

// viewSubmission acks a view_submission (with field errors when needed) and
// queues what it asks for.
func (b *Bot) viewSubmission(rs *runState, envelopeID string, cb slack.InteractionCallback, received time.Time) {
	cid := uuid.NewString()
	log := b.log.With("correlation_id", cid, "slack_user", cb.User.ID)
	if cb.View.CallbackID != denyCallbackID {
		b.ack(rs, envelopeID, nil, received, log)
		log.Info("view submission ignored", "callback_id", cb.View.CallbackID)
		return
	}
	payload, j, ok := b.denySubmission(cb, cid)
	b.ack(rs, envelopeID, payload, received, log)
	if !ok {
		return
	}
	j.log = log
	queued := offer(rs.queue, j)
	log.Info("deny submitted", "request_id", j.action.RequestID, "queued", queued)
	if !queued {
		b.replyBusy(rs, j)
	}
}
