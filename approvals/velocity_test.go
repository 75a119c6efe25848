package approvals

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/internal/dbtest"
)

// Two replicas admit concurrently against one limit: exactly limit attempts
// get in, and exactly one refusal per window is due a notice.
func TestAdmit_SharedByTwoReplicas(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		replicas := []*Store{openStore(t, dsn, c), openStore(t, dsn, c)}
		ctx := context.Background()
		const limit, tries = 10, 24
		round := func() (allowed, notices int) {
			var wg sync.WaitGroup
			var mu sync.Mutex
			start := make(chan struct{})
			for i := 0; i < tries; i++ {
				s := replicas[i%2]
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					a, err := s.Admit(ctx, "requester:U0EVE", limit, time.Hour)
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						t.Errorf("Admit: %v", err)
						return
					}
					if a.Allowed {
						allowed++
					}
					if a.NoticeDue {
						notices++
					}
					if !a.Allowed && a.Count != limit {
						t.Errorf("refused with count %d; want %d", a.Count, limit)
					}
				}()
			}
			close(start)
			wg.Wait()
			return allowed, notices
		}
		if allowed, notices := round(); allowed != limit || notices != 1 {
			t.Fatalf("first round: %d allowed, %d notices; want %d and 1", allowed, notices, limit)
		}
		// Other keys are not affected.
		if a, err := replicas[1].Admit(ctx, "customer:contoso", 1, time.Hour); err != nil || !a.Allowed {
			t.Fatalf("another key: %+v %v", a, err)
		}
		// Within the window: still refused, and no second notice.
		c.Advance(30 * time.Minute)
		if a, _ := replicas[0].Admit(ctx, "requester:U0EVE", limit, time.Hour); a.Allowed || a.NoticeDue {
			t.Fatalf("half a window later: %+v", a)
		}
		// The window slides: an hour after the first attempts they age out.
		c.Advance(31 * time.Minute)
		if allowed, notices := round(); allowed != limit || notices != 1 {
			t.Fatalf("next window: %d allowed, %d notices; want %d and 1", allowed, notices, limit)
		}
		// Pruning old rows does not change the current window.
		if err := replicas[0].PruneVelocity(ctx, c.Now().Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		if a, _ := replicas[0].Admit(ctx, "requester:U0EVE", limit, time.Hour); a.Allowed || a.Count != limit {
			t.Fatalf("after prune: %+v", a)
		}
	})
}
