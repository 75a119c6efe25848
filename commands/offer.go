package commands

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/messages"
)

// maxOfferWait caps the backoff between attempts to DM the Reset button.
const maxOfferWait = time.Minute

// offerReset DMs the requester the approval with the *Reset password now*
// button. That DM is the only place the button appears, so if Slack refuses it
// the approval would silently expire: the DM is retried in the background with
// backoff for as long as the approval can be used, and if the requester still
// cannot be reached the approval card says so and the trail records it.
func (s *Service) offerReset(ctx context.Context, log *slog.Logger, r approvals.Request, n Notice) {
	nctx, cancel := detached(ctx)
	err := s.msg.Notify(nctx, r.RequesterID, n)
	cancel()
	if err == nil {
		return
	}
	log.Warn("the DM with the Reset button was refused; retrying", "to", r.RequesterID, "err", err)
	bg := context.WithoutCancel(ctx)
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		s.retryOffer(bg, log, r, n, err)
	}()
}

func (s *Service) retryOffer(ctx context.Context, log *slog.Logger, r approvals.Request, n Notice, lastErr error) {
	wait := s.offerRetryFirst
	attempts := 1
	stopped := false
	for {
		left := r.UseBy.Sub(s.now())
		if left <= 0 {
			break
		}
		t := time.NewTimer(min(wait, left))
		select {
		case <-t.C:
		case <-s.stopping:
			t.Stop()
			stopped = true
		}
		if stopped || !s.now().Before(r.UseBy) {
			break
		}
		gctx, cancel := detached(ctx)
		cur, err := s.store.Get(gctx, r.ID)
		cancel()
		if err == nil && cur.State != approvals.StateApproved {
			return // used, withdrawn or expired meanwhile: nothing left to offer
		}
		nctx, cancel := detached(ctx)
		lastErr = s.msg.Notify(nctx, r.RequesterID, n)
		cancel()
		attempts++
		if lastErr == nil {
			log.Info("the DM with the Reset button went through on a retry", "to", r.RequesterID, "attempts", attempts)
			return
		}
		wait = min(wait*2, maxOfferWait)
	}
	cl := s.channelLang()
	why := texts.Text(cl, messages.UnreachableRefused, nil)
	if stopped {
		why = texts.Text(cl, messages.UnreachableUntilShutdown, nil)
	}
	log.Error("requester could not be reached with the Reset button", "to", r.RequesterID, "attempts", attempts, "err", lastErr)
	actx, cancel := detached(ctx)
	defer cancel()
	_ = s.audit(actx, approvals.Event{
		ActorID: systemActor.ID, ActorName: systemActor.Name, CorrelationID: r.CorrelationID, RequestID: r.ID,
		TenantID: r.TenantID, CustomerDomain: r.CustomerDomain, TargetObjectID: r.TargetObjectID, TargetUPN: r.TargetUPN,
		Outcome: approvals.OutcomeRequesterUnreachable,
		Detail:  fmt.Sprintf("the DM with Reset password now could not be delivered (%d attempts): %v", attempts, lastErr),
	})
	s.updateCard(actx, log, r, texts.Text(cl, messages.StatusUnreachable, messages.Data{
		"Decider": Escape(r.DeciderID, 20), "When": slackTime(cl, r.DecidedAt), "Requester": Escape(r.RequesterID, 20), "Why": why}))
}
