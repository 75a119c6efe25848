package commands

import (
	"context"
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

// announceRequest mirrors a transition's audit row (written by the store in the
// transition's own transaction) to the audit channel.
func (s *Service) announceRequest(r approvals.Request, outcome approvals.Outcome, a actor, correlationID string) {
	s.announce(approvals.Event{
		ActorID: a.ID, ActorName: a.Name, CorrelationID: correlationID, RequestID: r.ID,
		TenantID: r.TenantID, CustomerDomain: r.CustomerDomain, TargetObjectID: r.TargetObjectID, TargetUPN: r.TargetUPN,
		Outcome: outcome, Detail: r.Detail,
	})
	s.refreshHomes(r)
}

// finish moves a claimed request to done or failed. Partner Center has already
// acted, so a store failure here must not lose the outcome: it is retried in the
// background until the store accepts it. It returns the finishing time.
func (s *Service) finish(ctx context.Context, log *slog.Logger, r approvals.Request, state approvals.State, detail string, a actor, correlationID string) time.Time {
	outcome := approvals.OutcomeResetDone
	if state == approvals.StateFailed {
		outcome = approvals.OutcomeResetFailed
	}
	fctx, cancel := detached(ctx)
	finished, err := s.store.FinishReset(fctx, r.ID, state, detail)
	cancel()
	if err == nil {
		s.announceRequest(finished, outcome, a, correlationID)
		return finished.FinishedAt
	}
	log.Error("recording the reset outcome failed; spooled and retrying", "err", err)
	s.metrics.AuditWriteFailed()
	s.late(LateWrite{CorrelationID: correlationID, Finish: &FinishWrite{RequestID: r.ID, State: state, Detail: detail, ActorID: a.ID, ActorName: a.Name}})
	return s.now()
}

// updateCard rewrites the approval card with a status line and no buttons.
func (s *Service) updateCard(ctx context.Context, log *slog.Logger, r approvals.Request, status string) {
	if r.ApprovalChannel == "" || r.ApprovalTS == "" {
		return
	}
	ref := MessageRef{Channel: r.ApprovalChannel, TS: r.ApprovalTS}
	uctx, cancel := detached(ctx)
	defer cancel()
	if err := s.msg.UpdateApproval(uctx, ref, s.cardFor(r, status, false)); err != nil {
		log.Error("approval card update failed", "err", err)
	}
}

// notify DMs a notice; a failure is logged, never fatal: the state is already saved.
func (s *Service) notify(ctx context.Context, log *slog.Logger, userID string, n Notice) {
	nctx, cancel := detached(ctx)
	defer cancel()
	if err := s.msg.Notify(nctx, userID, n); err != nil {
		log.Error("notice failed", "to", userID, "err", err)
	}
}

// updatePendingCard rewrites the card of a request still pending (after one of
// several approvals): progress shown, buttons kept.
func (s *Service) updatePendingCard(ctx context.Context, log *slog.Logger, r approvals.Request) {
	if r.ApprovalChannel == "" || r.ApprovalTS == "" {
		return
	}
	uctx, cancel := detached(ctx)
	defer cancel()
	status := fmt.Sprintf("Waiting for approval: %s", progress(r))
	if err := s.msg.UpdateApproval(uctx, MessageRef{Channel: r.ApprovalChannel, TS: r.ApprovalTS}, s.cardFor(r, status, true)); err != nil {
		log.Error("approval card update failed", "err", err)
	}
}
