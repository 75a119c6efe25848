package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
)

// Sweep expires what has waited too long and reconciles resets interrupted by a
// crash. Every change is a conditional update in the store, so several replicas
// may sweep at once: each expiry is reported by exactly one of them.
func (s *Service) Sweep(ctx context.Context) error {
	// ExpireDue returns what it expired even when some rows failed: those
	// expiries are final, so they are reported whatever else went wrong.
	expired, expireErr := s.store.ExpireDue(ctx)
	log := s.log.With("sweep", true)
	for _, r := range expired {
		s.reportExpired(ctx, log.With("request_id", r.ID), r)
	}
	if expireErr != nil {
		expireErr = fmt.Errorf("expire due requests: %w", expireErr)
	}
	return errors.Join(expireErr, s.reconcile(ctx), s.nudge(ctx), s.remindReviews(ctx), s.pruneVelocity(ctx))
}

// pruneVelocity forgets counted attempts too old to fall in any limit's window.
func (s *Service) pruneVelocity(ctx context.Context) error {
	l := s.currentPolicy().Limits
	longest := max(l.PerRequester.Window, l.PerCustomer.Window)
	if longest <= 0 {
		return nil
	}
	return s.store.PruneVelocity(ctx, s.now().Add(-longest))
}

// reportExpired tells everyone about a request that has just expired: the
// card loses its buttons, the requester gets a DM, the audit channel a line.
// It is called once per expiry, by whoever expired it (a sweep, or a click that
// arrived after the deadline).
func (s *Service) reportExpired(ctx context.Context, log *slog.Logger, r approvals.Request) {
	s.metrics.Decision("expired")
	s.announceRequest(r, approvals.OutcomeExpired, systemActor, r.CorrelationID)
	var card, notice string
	if r.DecidedAt.IsZero() {
		card = fmt.Sprintf(":hourglass: Expired %s without a decision", slackTime(r.ExpiresAt))
		notice = fmt.Sprintf(":hourglass: Your request to reset the password of %s (*%s*) expired %s without a decision. Run `/reset-password` again if it is still needed.",
			Escape(r.TargetUPN, 120), Escape(r.CustomerName, 100), slackTime(r.ExpiresAt))
	} else {
		card = fmt.Sprintf(":hourglass: Approved by <@%s>, but not used by %s; expired", Escape(r.DeciderID, 20), slackTime(r.UseBy))
		notice = fmt.Sprintf(":hourglass: The approval to reset the password of %s (*%s*) was not used by %s and has expired. Run `/reset-password` again if it is still needed.",
			Escape(r.TargetUPN, 120), Escape(r.CustomerName, 100), slackTime(r.UseBy))
	}
	s.updateCard(ctx, log, r, card)
	s.notify(ctx, log, r.RequesterID, Notice{Text: notice})
}

// staleResetAfter is how long a request may sit in resetting before locksmith
// concludes the replica doing it died. It must exceed the longest a reset can
// legitimately take (the operation timeout plus the delivery grace), or a live
// reset on another replica would be declared lost. The store measures it with
// the database's clock, so replicas' clocks may disagree by any amount.
func (s *Service) staleResetAfter() time.Duration { return s.opTimeout + 2*time.Minute }

// reconcile closes requests left in resetting by a crash. Whether Partner Center
// applied the reset is unknown, and the password (if any) is gone, so the
// requester is told and asked to make a new request: never a silent second reset.
func (s *Service) reconcile(ctx context.Context) error {
	stale, err := s.store.StaleResetting(ctx, s.staleResetAfter())
	if err != nil {
		return fmt.Errorf("find interrupted resets: %w", err)
	}
	if len(stale) == 0 {
		return nil
	}
	spooled := s.spooledFinishes() // read only when something looks stale
	for _, r := range stale {
		if spooled[r.ID] {
			// This process knows the outcome and is waiting for the store to take
			// it: not unknown, just late.
			continue
		}
		closed, err := s.store.MarkOutcomeUnknown(ctx, r.ID, s.staleResetAfter())
		if err != nil {
			continue // another replica got there first, or the store is down: next sweep
		}
		rlog := s.log.With("request_id", r.ID, "correlation_id", r.CorrelationID)
		rlog.Warn("reset interrupted by a restart; outcome unknown")
		s.metrics.Reset("unknown")
		s.announceRequest(closed, approvals.OutcomeResetUnknown, systemActor, r.CorrelationID)
		s.updateCard(ctx, rlog, closed, ":grey_question: Interrupted: locksmith stopped during the reset; outcome unknown")
		s.notify(ctx, rlog, r.RequesterID, Notice{Text: fmt.Sprintf(":grey_question: locksmith stopped while resetting the password of %s (*%s*), so it does not know whether the reset happened, and the password (if one was set) was never shown. Run `/reset-password` again to set a new one.",
			Escape(r.TargetUPN, 120), Escape(r.CustomerName, 100))})
	}
	return nil
}

// RunSweeper sweeps every interval until ctx ends, starting at once so that a
// restart reconciles immediately.
func (s *Service) RunSweeper(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("sweep failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
