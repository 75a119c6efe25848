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
}

// expiryMessages is what an expiry owes: the card loses its buttons and the
// requester is told. The store writes them in the expiring transaction. The
// notice is worded when it is sent, in the requester's language then: the
// expiry happens inside a database transaction, where asking Slack for a
// locale would hold the write lock.
func (s *Service) expiryMessages(r approvals.Request) []approvals.Message {
	cl := s.channelLang()
	cardID, when := messages.StatusExpiredUndecided, r.ExpiresAt
	if !r.DecidedAt.IsZero() {
		cardID, when = messages.StatusExpiredUnused, r.UseBy
	}
	return []approvals.Message{
		s.owedCard(r, texts.Text(cl, cardID, messages.Data{"Decider": Escape(r.DeciderID, 20), "When": slackTime(cl, when)}), false),
		{Kind: approvals.MessageDM, Channel: r.RequesterID, RequestID: r.ID, Payload: mustJSON(outboxPayload{Render: "expired"})},
	}
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
		cl, rl := s.channelLang(), s.langOf(ctx, r.RequesterID)
		closed, err := s.store.MarkOutcomeUnknown(ctx, r.ID, s.staleResetAfter(), func(u approvals.Request) []approvals.Message {
			return []approvals.Message{
				s.owedCard(u, texts.Text(cl, messages.StatusInterrupted, nil), false),
				owedDM(u, u.RequesterID, Notice{Lang: rl, Text: texts.Text(rl, messages.NoticeInterrupted, messages.Data{
					"User": Escape(u.TargetUPN, 120), "Customer": Escape(u.CustomerName, 100)})}),
			}
		})
		if err != nil {
			continue // another replica got there first, or the store is down: next sweep
		}
		rlog := s.log.With("request_id", r.ID, "correlation_id", r.CorrelationID)
		rlog.Warn("reset interrupted by a restart; outcome unknown")
		s.metrics.Reset("unknown")
		s.announceRequest(closed, approvals.OutcomeResetUnknown, systemActor, r.CorrelationID)
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
