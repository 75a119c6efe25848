package commands

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
)

// LateWrite is a record of something that already happened (Partner Center
// changed a password) that the store refused when it happened. It holds no
// secret. Exactly one of Event and Finish is set.
type LateWrite struct {
	ID            string           `json:"id"`
	HappenedAt    time.Time        `json:"happened_at"`
	CorrelationID string           `json:"correlation_id"`
	Event         *approvals.Event `json:"event,omitempty"`  // an audit row to append
	Finish        *FinishWrite     `json:"finish,omitempty"` // a resetting request to close
}

// FinishWrite closes a request that was in resetting.
type FinishWrite struct {
	RequestID string          `json:"request_id"`
	State     approvals.State `json:"state"` // done or failed
	Detail    string          `json:"detail"`
	ActorID   string          `json:"actor_id"`
	ActorName string          `json:"actor_name"`
}

// Spool keeps late writes outside the database until the database takes them,
// so that a reset's outcome is recorded even if locksmith is restarted (or
// killed) while the database is unavailable: the outcome is recorded as soon
// as the store allows, on restart at the latest (docs/architecture.md,
// guarantee 2). main backs it with
// files in a spool directory.
type Spool interface {
	Put(w LateWrite) error
	Delete(id string) error
	List() ([]LateWrite, error)
}

// memorySpool is used when no Spool is configured: late writes still retry in
// the background, but do not survive a restart.
type memorySpool struct {
	mu sync.Mutex
	m  map[string]LateWrite
}

func (o *memorySpool) Put(w LateWrite) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.m == nil {
		o.m = make(map[string]LateWrite)
	}
	o.m[w.ID] = w
	return nil
}

func (o *memorySpool) Delete(id string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.m, id)
	return nil
}

func (o *memorySpool) List() ([]LateWrite, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]LateWrite, 0, len(o.m))
	for _, w := range o.m {
		out = append(out, w)
	}
	return out, nil
}

// late records w durably outside the database and keeps trying to write it to
// the store in the background.
func (s *Service) late(w LateWrite) {
	if w.ID == "" {
		var b [12]byte
		_, _ = rand.Read(b[:])
		w.ID = hex.EncodeToString(b[:])
	}
	if w.HappenedAt.IsZero() {
		w.HappenedAt = s.now()
	}
	if err := s.spool.Put(w); err != nil {
		s.log.Error("could not spool a late write; it is kept in memory only", "correlation_id", w.CorrelationID, "err", err)
	}
	s.retryInBackground(w)
}

// applyLate writes one late record to the store. A request that someone else
// already closed (the reconciler after a restart) counts as written.
func (s *Service) applyLate(ctx context.Context, w LateWrite) error {
	switch {
	case w.Event != nil:
		e := *w.Event
		e.Detail = fmt.Sprintf("%s (recorded late; happened at %s)", e.Detail, w.HappenedAt.UTC().Format(time.RFC3339))
		return s.audit(ctx, e)
	case w.Finish != nil:
		f := w.Finish
		finished, err := s.store.FinishReset(ctx, f.RequestID, f.State, f.Detail)
		var conflict *approvals.ConflictError
		if errors.As(err, &conflict) && conflict.Current.State != approvals.StateResetting {
			// Another replica's sweeper closed the request as "outcome unknown"
			// while the store refused us. We do know the outcome: say so in the
			// trail, after the unknown row, rather than lose it.
			r := conflict.Current
			outcome := approvals.OutcomeResetDone
			if f.State == approvals.StateFailed {
				outcome = approvals.OutcomeResetFailed
			}
			return s.audit(ctx, approvals.Event{
				ActorID: f.ActorID, ActorName: f.ActorName, CorrelationID: w.CorrelationID, RequestID: r.ID,
				TenantID: r.TenantID, CustomerDomain: r.CustomerDomain, TargetObjectID: r.TargetObjectID, TargetUPN: r.TargetUPN,
				Outcome: outcome,
				Detail: fmt.Sprintf("%s (recorded late, after the request was closed as %s; happened at %s)",
					f.Detail, r.State, w.HappenedAt.UTC().Format(time.RFC3339)),
			})
		}
		if err == nil {
			outcome := approvals.OutcomeResetDone
			if f.State == approvals.StateFailed {
				outcome = approvals.OutcomeResetFailed
			}
			s.announceRequest(finished, outcome, actor{ID: f.ActorID, Name: f.ActorName}, w.CorrelationID)
		}
		return err
	}
	return nil
}

// retryInBackground applies w until it succeeds, with capped backoff, for up
// to an hour; the spooled copy covers anything longer, at the next start.
func (s *Service) retryInBackground(w LateWrite) {
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		deadline := time.Now().Add(time.Hour)
		wait := s.lateRetryFirst
		for time.Now().Before(deadline) {
			select {
			case <-time.After(wait):
			case <-s.stopping:
				return // the spooled copy is replayed at the next start
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			err := s.applyLate(ctx, w)
			cancel()
			if err == nil {
				s.log.Info("late write recorded", "correlation_id", w.CorrelationID)
				if err := s.spool.Delete(w.ID); err != nil {
					s.log.Error("could not remove a spooled late write", "correlation_id", w.CorrelationID, "err", err)
				}
				return
			}
			wait = min(wait*2, time.Minute)
		}
		s.log.Error("late write still refused after an hour; it stays spooled for the next start", "correlation_id", w.CorrelationID)
	}()
}

// ReplayLate writes what a previous run spooled but could not record. Call it
// at start, before the first sweep, so a reset that succeeded is recorded as
// done rather than reconciled as "outcome unknown".
func (s *Service) ReplayLate(ctx context.Context) error {
	pending, err := s.spool.List()
	if err != nil {
		return fmt.Errorf("read spooled late writes: %w", err)
	}
	for _, w := range pending {
		if err := s.applyLate(ctx, w); err != nil {
			s.log.Warn("spooled late write still refused; retrying in the background", "correlation_id", w.CorrelationID, "err", err)
			s.retryInBackground(w)
			continue
		}
		s.log.Info("spooled late write recorded", "correlation_id", w.CorrelationID)
		if err := s.spool.Delete(w.ID); err != nil {
			s.log.Error("could not remove a spooled late write", "correlation_id", w.CorrelationID, "err", err)
		}
	}
	return nil
}

// spooledFinishes is the set of requests whose outcome this process holds in
// its outbox, waiting for the store: the reconciler must not call them
// unknown.
func (s *Service) spooledFinishes() map[string]bool {
	pending, err := s.spool.List()
	if err != nil {
		s.log.Error("read spooled late writes", "err", err)
		return nil
	}
	out := make(map[string]bool)
	for _, w := range pending {
		if w.Finish != nil {
			out[w.Finish.RequestID] = true
		}
	}
	return out
}
