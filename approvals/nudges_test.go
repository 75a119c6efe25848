package approvals

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/internal/dbtest"
)

// Two replicas claim the same reminder at once: exactly one wins, once.
func TestClaimNudge_OnceAcrossReplicas(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		replicas := []*Store{openStore(t, dsn, c), openStore(t, dsn, c)}
		ctx := context.Background()
		for trial := 0; trial < 20; trial++ {
			r := mustCreate(t, replicas[0], c)
			for _, n := range []Nudge{NudgeRemind, NudgeEscalate} {
				var wg sync.WaitGroup
				var mu sync.Mutex
				wins := 0
				for i := 0; i < 4; i++ {
					s := replicas[i%2]
					wg.Add(1)
					go func() {
						defer wg.Done()
						_, ok, err := s.ClaimNudge(ctx, r.ID, n, "10m without a decision")
						if err != nil {
							t.Errorf("ClaimNudge: %v", err)
						}
						if ok {
							mu.Lock()
							wins++
							mu.Unlock()
						}
					}()
				}
				wg.Wait()
				if wins != 1 {
					t.Fatalf("trial %d: %s claimed %d times", trial, n, wins)
				}
			}
			wantOutcomes(t, replicas[1], r.ID, OutcomeRequested, OutcomeReminded, OutcomeEscalated)
			got := wantState(t, replicas[1], r.ID, StatePending)
			if got.RemindedAt.IsZero() || got.EscalatedAt.IsZero() {
				t.Fatalf("claims not recorded: %+v", got)
			}
		}
		if w, err := replicas[0].Waiting(ctx); err != nil || len(w) != 0 {
			t.Fatalf("Waiting after every nudge = %d, %v", len(w), err)
		}
	})
}

// Nothing after a decision or an expiry.
func TestClaimNudge_NotAfterDecisionOrExpiry(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		ctx := context.Background()
		decided := mustApprove(t, s, c, mustCreate(t, s, c).ID)
		if _, ok, err := s.ClaimNudge(ctx, decided.ID, NudgeRemind, ""); ok || err != nil {
			t.Errorf("reminder on an approved request: %v %v", ok, err)
		}
		late := mustCreate(t, s, c)
		w, err := s.Waiting(ctx)
		if err != nil || len(w) != 1 || w[0].ID != late.ID {
			t.Fatalf("Waiting = %+v, %v", w, err)
		}
		c.Advance(31 * time.Minute) // past expires_at, not yet swept
		if _, ok, err := s.ClaimNudge(ctx, late.ID, NudgeEscalate, ""); ok || err != nil {
			t.Errorf("escalation past expiry: %v %v", ok, err)
		}
		wantOutcomes(t, s, late.ID, OutcomeRequested)
	})
}
