package approvals

import (
	"context"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/internal/dbtest"
)

func TestHomeQueries(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		ctx := context.Background()
		approved := mustApprove(t, s, c, mustCreate(t, s, c).ID) // decided by bob
		c.Advance(time.Minute)
		partial := createNeeding(t, s, c, 2)
		if _, err := s.Approve(ctx, partial.ID, carol, "carol", c.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		c.Advance(time.Minute)
		pending := mustCreate(t, s, c)

		mine, err := s.RequestsOf(ctx, alice, 2)
		if err != nil || len(mine) != 2 || mine[0].ID != pending.ID || mine[1].ID != partial.ID {
			t.Fatalf("RequestsOf(limit 2) = %v, %v", ids(mine), err)
		}
		open, err := s.Pending(ctx)
		if err != nil || len(open) != 2 || open[0].ID != partial.ID || open[1].ID != pending.ID {
			t.Fatalf("Pending = %v, %v", ids(open), err)
		}
		if got, err := s.DecidedBy(ctx, bob, 10); err != nil || len(got) != 1 || got[0].ID != approved.ID {
			t.Fatalf("DecidedBy(bob) = %v, %v", ids(got), err)
		}
		if got, err := s.DecidedBy(ctx, carol, 10); err != nil || len(got) != 1 || got[0].ID != partial.ID {
			t.Fatalf("DecidedBy(carol) = %v, %v (a partial approval counts)", ids(got), err)
		}
		if got, _ := s.DecidedBy(ctx, alice, 10); len(got) != 0 {
			t.Fatalf("DecidedBy(requester) = %v", ids(got))
		}
	})
}

func ids(rs []Request) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}
