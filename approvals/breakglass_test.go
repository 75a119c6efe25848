package approvals

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/internal/dbtest"
)

func TestBreakGlass_CreateResetAndReview(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		replicas := []*Store{openStore(t, dsn, c), openStore(t, dsn, c)}
		s := replicas[0]
		ctx := context.Background()
		r, err := s.CreateBreakGlass(ctx, newRequest(c), c.Now().Add(15*time.Minute), "CEO locked out; no approver reachable")
		if err != nil {
			t.Fatal(err)
		}
		if r.State != StateApproved || !r.BreakGlass || r.DeciderID != alice || !r.UseBy.Equal(normTime(c.Now().Add(15*time.Minute))) || !r.ReviewedAt.IsZero() {
			t.Fatalf("created = %+v", r)
		}
		mustClaim(t, s, r.ID)
		if _, err := s.FinishReset(ctx, r.ID, StateDone, "delivered"); err != nil {
			t.Fatal(err)
		}
		if u, err := s.Unreviewed(ctx); err != nil || len(u) != 1 || u[0].ID != r.ID {
			t.Fatalf("Unreviewed = %+v, %v", u, err)
		}

		// Reminders: none before the interval, then one per interval across replicas.
		claim := func() int {
			var wg sync.WaitGroup
			var mu sync.Mutex
			n := 0
			for i := 0; i < 4; i++ {
				st := replicas[i%2]
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, ok, err := st.ClaimReviewReminder(ctx, r.ID, time.Hour)
					if err != nil {
						t.Errorf("ClaimReviewReminder: %v", err)
					}
					if ok {
						mu.Lock()
						n++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			return n
		}
		if n := claim(); n != 0 {
			t.Fatalf("%d reminders before an hour", n)
		}
		c.Advance(time.Hour)
		if n := claim(); n != 1 {
			t.Fatalf("%d reminders after an hour; want 1", n)
		}
		c.Advance(59 * time.Minute)
		if n := claim(); n != 0 {
			t.Fatalf("%d reminders within the next hour", n)
		}
		c.Advance(time.Minute)
		if n := claim(); n != 1 {
			t.Fatalf("%d reminders after two hours; want 1", n)
		}

		if _, err := s.AcknowledgeReview(ctx, r.ID, alice, "alice"); !errors.Is(err, ErrSelfDecision) {
			t.Fatalf("requester reviewing: %v", err)
		}
		// Two reviewers at once, on two replicas: one wins, the other is told who.
		errA, errB := race(
			func() error { _, err := replicas[0].AcknowledgeReview(ctx, r.ID, bob, "bob"); return err },
			func() error { _, err := replicas[1].AcknowledgeReview(ctx, r.ID, carol, "carol"); return err },
		)
		if (errA == nil) == (errB == nil) {
			t.Fatalf("both or neither acknowledged: %v / %v", errA, errB)
		}
		loser := errA
		if loser == nil {
			loser = errB
		}
		var re *ReviewedError
		if !errors.As(loser, &re) || !errors.Is(loser, ErrReviewed) || re.Current.ReviewedBy == "" {
			t.Fatalf("loser = %v", loser)
		}
		c.Advance(2 * time.Hour)
		if n := claim(); n != 0 {
			t.Fatalf("%d reminders after the review", n)
		}
		if u, _ := s.Unreviewed(ctx); len(u) != 0 {
			t.Fatalf("still unreviewed: %+v", u)
		}
		wantOutcomes(t, s, r.ID, OutcomeRequested, OutcomeBreakGlass, OutcomeResetIntent, OutcomeResetDone,
			OutcomeReviewReminded, OutcomeReviewReminded, OutcomeReviewed)
		wantVerified(t, s)
	})
}

func TestAcknowledgeReview_OnlyBreakGlass(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		r := mustCreate(t, s, c)
		if _, err := s.AcknowledgeReview(context.Background(), r.ID, bob, "bob"); err == nil {
			t.Fatal("reviewed a request that was not break-glass")
		}
		if _, err := s.AcknowledgeReview(context.Background(), "no-such-id", bob, "bob"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown request: %v", err)
		}
	})
}
