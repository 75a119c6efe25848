package approvals

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/internal/dbtest"
)

// Of many deliveries of one command, on two Stores sharing a database (two
// replicas), exactly one claims it; a different command is claimed on its own.
func TestClaimInvocation_OnceAcrossReplicas(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		c := newClock()
		a := openStore(t, dsn, c)
		b := openStore(t, dsn, c)
		var won atomic.Int32
		var wg sync.WaitGroup
		for i := range 20 {
			st := a
			if i%2 == 1 {
				st = b
			}
			wg.Go(func() {
				ok, err := st.ClaimInvocation(ctx, "trigger-1", "env", "corr")
				if err != nil {
					t.Error(err)
				}
				if ok {
					won.Add(1)
				}
			})
		}
		wg.Wait()
		if n := won.Load(); n != 1 {
			t.Fatalf("%d deliveries claimed the command, want 1", n)
		}
		if ok, err := b.ClaimInvocation(ctx, "trigger-2", "env", "corr"); err != nil || !ok {
			t.Fatalf("another command: claimed %t, %v; want true", ok, err)
		}
	})
}

// A claim expires after ClaimKeep and its row is removed.
func TestClaimInvocation_Expires(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		c := newClock()
		st := openStore(t, dsn, c)
		if ok, _ := st.ClaimInvocation(ctx, "trigger-1", "env", "corr"); !ok {
			t.Fatal("first claim failed")
		}
		if ok, _ := st.ClaimInvocation(ctx, "trigger-1", "env", "corr"); ok {
			t.Fatal("second claim succeeded")
		}
		c.Advance(ClaimKeep + time.Minute)
		if ok, err := st.ClaimInvocation(ctx, "trigger-other", "env", "corr"); err != nil || !ok {
			t.Fatalf("claim: %t, %v", ok, err)
		}
		var n int
		if err := st.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM slash_claims WHERE claim_key = 'trigger-1'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("expired claim still stored")
		}
	})
}
