package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/messages"
)

// mustFinishWithin bounds work that must happen even though the Slack request
// that started it is over or cancelled (recording an outcome, updating a card):
// detached from cancellation, but never able to hang a worker forever on a
// stuck database or Slack. What a store write cannot finish in time is spooled.
const mustFinishWithin = 20 * time.Second

// detached returns a context that ignores ctx's cancellation, keeps its values
// (the correlation ID), and ends after mustFinishWithin.
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), mustFinishWithin)
}

// transitionFailed turns a store error from a state transition into the answer
// for the person who clicked, in their language lang. handled is false when
// err is nil.
func (s *Service) transitionFailed(ctx context.Context, log *slog.Logger, lang messages.Lang, err error) (Reply, bool) {
	if err == nil {
		return Reply{}, false
	}
	var conflict *approvals.ConflictError
	switch {
	case errors.As(err, &conflict):
		// Lost a race (another click, another replica, or the clock): say who won.
		if conflict.ExpiredNow {
			// This click found the deadline passed and expired the request
			// itself; the sweeper will not report it, so do it here.
			s.reportExpired(ctx, log, conflict.Current)
		}
		return Reply{Text: stateText(lang, conflict.Current)}, true
	case errors.Is(err, approvals.ErrSelfDecision):
		return Reply{Text: texts.Text(lang, messages.ReplySelfDecision, nil)}, true
	case errors.Is(err, approvals.ErrNotRequester):
		return Reply{Text: texts.Text(lang, messages.ReplyNotRequester, nil)}, true
	case errors.Is(err, approvals.ErrNotFound):
		return Reply{Text: texts.Text(lang, messages.ReplyRequestGone, nil)}, true
	}
	log.Error("state change failed", "err", err)
	return Reply{Text: texts.Text(lang, messages.ReplySaveFailed, nil)}, true
}

// announceRequest follows a transition: its audit row and the row's
// audit-channel line were written in the transition's transaction; this wakes
// the outbox to send what it owes and refreshes the App Homes it touches.
func (s *Service) announceRequest(r approvals.Request, _ approvals.Outcome, _ actor, _ string) {
	s.delivery.Kick()
	s.refreshHomes(r)
}

// finish moves a claimed request to done or failed. Partner Center has already
// acted, so a store failure here must not lose the outcome: it is retried in the
// background until the store accepts it. It returns the finishing time.
//
// owe is what the outcome owes in Slack (the card's status, the requester's
// notice), written with it. When the store refuses the outcome, the messages
// are owed on their own instead, so the requester still hears.
func (s *Service) finish(ctx context.Context, log *slog.Logger, r approvals.Request, state approvals.State, detail string, a actor, correlationID string, owe ...approvals.Owe) time.Time {
	outcome := approvals.OutcomeResetDone
	if state == approvals.StateFailed {
		outcome = approvals.OutcomeResetFailed
	}
	fctx, cancel := detached(ctx)
	finished, err := s.store.FinishReset(fctx, r.ID, state, detail, owe...)
	cancel()
	if err == nil {
		s.announceRequest(finished, outcome, a, correlationID)
		return finished.FinishedAt
	}
	for _, o := range owe {
		r.State, r.FinishedAt = state, s.now()
		s.enqueue(ctx, log, o(r)...)
	}
	log.Error("recording the reset outcome failed; spooled and retrying", "err", err)
	s.metrics.AuditWriteFailed()
	s.late(LateWrite{CorrelationID: correlationID, Finish: &FinishWrite{RequestID: r.ID, State: state, Detail: detail, ActorID: a.ID, ActorName: a.Name}})
	return s.now()
}

// updatePendingCard owes the card of a request still pending (after one of
// several approvals) its progress, buttons kept.
func (s *Service) updatePendingCard(r approvals.Request) approvals.Message {
	return s.owedCard(r, fmt.Sprintf("Waiting for approval: %s", progress(r)), true)
}

// enqueue records messages owed by a change that is already committed, for
// the steps whose store call does not take the messages with it: durable
// from here on, though not in the change's own transaction. If the database
// refuses even that, they are sent directly, once, as before the outbox.
func (s *Service) enqueue(ctx context.Context, log *slog.Logger, msgs ...approvals.Message) {
	ectx, cancel := detached(ctx)
	defer cancel()
	if err := s.store.Enqueue(ectx, msgs...); err != nil {
		log.Error("could not record owed Slack messages; sending them directly", "err", err)
		for _, m := range msgs {
			s.sendDirect(ectx, log, m)
		}
		return
	}
	s.delivery.Kick()
}

// sendDirect sends m without the outbox (the database is refusing writes).
func (s *Service) sendDirect(ctx context.Context, log *slog.Logger, m approvals.Message) {
	var p outboxPayload
	if json.Unmarshal(m.Payload, &p) != nil {
		return
	}
	var err error
	switch {
	case m.Kind == approvals.MessageDM && p.Notice != nil:
		err = s.msg.Notify(ctx, m.Channel, *p.Notice)
	case m.Kind == approvals.MessageCard && p.Card != nil:
		r, gerr := s.store.Get(ctx, m.RequestID)
		if gerr != nil || r.ApprovalTS == "" {
			return
		}
		err = s.msg.UpdateApproval(ctx, MessageRef{Channel: r.ApprovalChannel, TS: r.ApprovalTS}, *p.Card)
	case m.Kind == approvals.MessageChannel:
		err = s.msg.PostChannel(ctx, m.Channel, p.Text)
	}
	if err != nil {
		log.Error("direct Slack message failed", "kind", m.Kind, "err", err)
	}
}
