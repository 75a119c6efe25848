package approvals

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/internal/dbtest"
)

// raceTrials is how many times each race is run; each trial is a fresh request.
const raceTrials = 50

// race starts a and b at the same moment and returns their errors.
func race(a, b func() error) (errA, errB error) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); <-start; errA = a() }()
	go func() { defer wg.Done(); <-start; errB = b() }()
	close(start)
	wg.Wait()
	return errA, errB
}

type raceCase struct {
	name string
	// setup brings a fresh request to the state the race starts from,
	// leaving setupRows audit rows about it.
	setup     func(t *testing.T, s *Store, c *clock) Request
	setupRows int
	// a and b are the racers; wins names the audit outcome of each, when it wins.
	a, b         func(s *Store, c *clock, id string) error
	winA, winB   Outcome
	loserAllowed []error // errors.Is targets a loser may return
}

var raceCases = []raceCase{
	{
		name:      "Approve vs Approve",
		setup:     func(t *testing.T, s *Store, c *clock) Request { return mustCreate(t, s, c) },
		setupRows: 1,
		a: func(s *Store, c *clock, id string) error {
			_, err := s.Approve(context.Background(), id, bob, "bob", c.Now().Add(time.Hour))
			return err
		},
		b: func(s *Store, c *clock, id string) error {
			_, err := s.Approve(context.Background(), id, carol, "carol", c.Now().Add(time.Hour))
			return err
		},
		winA: OutcomeApproved, winB: OutcomeApproved,
		loserAllowed: []error{ErrConflict},
	},
	{
		name:      "Approve vs Deny",
		setup:     func(t *testing.T, s *Store, c *clock) Request { return mustCreate(t, s, c) },
		setupRows: 1,
		a: func(s *Store, c *clock, id string) error {
			_, err := s.Approve(context.Background(), id, bob, "bob", c.Now().Add(time.Hour))
			return err
		},
		b: func(s *Store, c *clock, id string) error {
			_, err := s.Deny(context.Background(), id, carol, "carol", "")
			return err
		},
		winA: OutcomeApproved, winB: OutcomeDenied,
		loserAllowed: []error{ErrConflict},
	},
	{
		name: "ClaimReset vs ClaimReset",
		setup: func(t *testing.T, s *Store, c *clock) Request {
			r := mustCreate(t, s, c)
			return mustApprove(t, s, c, r.ID)
		},
		setupRows: 2,
		a: func(s *Store, c *clock, id string) error {
			_, err := s.ClaimReset(context.Background(), id, alice, "corr-a")
			return err
		},
		b: func(s *Store, c *clock, id string) error {
			_, err := s.ClaimReset(context.Background(), id, alice, "corr-b")
			return err
		},
		winA: OutcomeResetIntent, winB: OutcomeResetIntent,
		loserAllowed: []error{ErrConflict},
	},
}

// TestStore_Races runs each race between two goroutines sharing one *Store,
// and between two *Store (two replicas) on one database: exactly one wins,
// the other gets a conflict, and the audit trail records the winning
// transition exactly once.
func TestStore_Races(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s1 := openStore(t, dsn, c)
		s2 := openStore(t, dsn, c)
		for _, stores := range []struct {
			name string
			a, b *Store
		}{
			{"one store", s1, s1},
			{"two stores", s1, s2},
		} {
			for _, rc := range raceCases {
				t.Run(stores.name+"/"+rc.name, func(t *testing.T) {
					for trial := range raceTrials {
						r := rc.setup(t, s1, c)
						errA, errB := race(
							func() error { return rc.a(stores.a, c, r.ID) },
							func() error { return rc.b(stores.b, c, r.ID) },
						)
						if err := checkOneWinner(errA, errB, rc.loserAllowed); err != nil {
							t.Fatalf("trial %d: %v", trial, err)
						}
						win := rc.winA
						if errA != nil {
							win = rc.winB
						}
						es := requestEvents(t, s1, r.ID)
						if len(es) < rc.setupRows {
							t.Fatalf("trial %d: %d audit rows, fewer than setup wrote", trial, len(es))
						}
						if es = es[rc.setupRows:]; len(es) != 1 || es[0].Outcome != win {
							t.Fatalf("trial %d: audit rows added = %v, want exactly one %s", trial, outcomes(es), win)
						}
					}
				})
			}
		}
		wantVerified(t, s1)
	})
}

func checkOneWinner(errA, errB error, loserAllowed []error) error {
	if (errA == nil) == (errB == nil) {
		return fmt.Errorf("want exactly one winner, got errors %v and %v", errA, errB)
	}
	loser := errA
	if loser == nil {
		loser = errB
	}
	for _, allowed := range loserAllowed {
		if errors.Is(loser, allowed) {
			return nil
		}
	}
	return fmt.Errorf("loser got %v, want one of %v", loser, loserAllowed)
}

// TestStore_ExpireDue_TwoReplicas: two stores sweeping at the same moment
// report each expiry once between them.
func TestStore_ExpireDue_TwoReplicas(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s1 := openStore(t, dsn, c)
		s2 := openStore(t, dsn, c)
		const n = 20
		want := map[string]bool{}
		for i := range n {
			r := mustCreate(t, s1, c)
			if i%2 == 1 {
				mustApprove(t, s1, c, r.ID) // half expire from approved
			}
			want[r.ID] = true
		}
		c.Advance(time.Hour)

		var got1, got2 []Request
		err1, err2 := race(
			func() (err error) { got1, err = s1.ExpireDue(context.Background()); return err },
			func() (err error) { got2, err = s2.ExpireDue(context.Background()); return err },
		)
		if err1 != nil || err2 != nil {
			t.Fatalf("ExpireDue: %v, %v", err1, err2)
		}
		seen := map[string]int{}
		for _, r := range append(got1, got2...) {
			seen[r.ID]++
		}
		for id := range want {
			if seen[id] != 1 {
				t.Errorf("request %s reported expired %d times, want once", id, seen[id])
			}
			es := requestEvents(t, s1, id)
			if last := es[len(es)-1]; last.Outcome != OutcomeExpired || len(es) > 3 {
				t.Errorf("request %s audit = %v, want one expired row at the end", id, outcomes(es))
			}
		}
		if len(seen) != n {
			t.Errorf("reported %d distinct expiries, want %d", len(seen), n)
		}
		wantVerified(t, s1)
	})
}

// strictIsolations are defaults an operator may set on the database or role
// (ALTER DATABASE … SET default_transaction_isolation). The store must not
// depend on the server default: it pins the isolation its transactions rely on.
var strictIsolations = []string{"repeatable read", "serializable"}

// TestStore_Append_ConcurrentUnderStrictIsolation: 60 appends at once, from
// two replicas, on a database whose default isolation is stricter than READ
// COMMITTED, all succeed and build one chain.
func TestStore_Append_ConcurrentUnderStrictIsolation(t *testing.T) {
	for _, level := range strictIsolations {
		t.Run(level, func(t *testing.T) {
			dsn := dbtest.Postgres(t, dbtest.DefaultIsolation(level))
			c := newClock()
			stores := []*Store{openStore(t, dsn, c), openStore(t, dsn, c)}
			const n = 60
			start := make(chan struct{})
			errs := make(chan error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, err := stores[i%2].Append(context.Background(), standalone(i))
					errs <- err
				}()
			}
			close(start)
			wg.Wait()
			close(errs)
			failed := 0
			for err := range errs {
				if err != nil {
					if failed == 0 {
						t.Errorf("Append: %v", err)
					}
					failed++
				}
			}
			if failed > 0 {
				t.Fatalf("%d of %d concurrent appends failed", failed, n)
			}
			if rep := wantVerified(t, stores[0]); rep.Rows != n {
				t.Errorf("Verify = %+v, want %d rows", rep, n)
			}
		})
	}
}

// TestStore_RacesUnderStrictIsolation runs the state-machine races on a
// database with a stricter default isolation: still exactly one winner, the
// loser a conflict (not a serialization failure), one audit row.
func TestStore_RacesUnderStrictIsolation(t *testing.T) {
	for _, level := range strictIsolations {
		t.Run(level, func(t *testing.T) {
			dsn := dbtest.Postgres(t, dbtest.DefaultIsolation(level))
			c := newClock()
			s1, s2 := openStore(t, dsn, c), openStore(t, dsn, c)
			for _, rc := range raceCases {
				t.Run(rc.name, func(t *testing.T) {
					for trial := range raceTrials / 5 {
						r := rc.setup(t, s1, c)
						errA, errB := race(
							func() error { return rc.a(s1, c, r.ID) },
							func() error { return rc.b(s2, c, r.ID) },
						)
						if err := checkOneWinner(errA, errB, rc.loserAllowed); err != nil {
							t.Fatalf("trial %d: %v", trial, err)
						}
					}
				})
			}
			t.Run("SetApprovalMessage and SaveSecret while transitions run", func(t *testing.T) {
				ctx := context.Background()
				for trial := range 10 {
					r := mustCreate(t, s1, c)
					errA, errB := race(
						func() error { return s1.SetApprovalMessage(ctx, r.ID, "C1", fmt.Sprintf("1.%d", trial)) },
						func() error { _, err := s2.Approve(ctx, r.ID, bob, "bob", c.Now().Add(time.Hour)); return err },
					)
					if errA != nil || errB != nil {
						t.Fatalf("trial %d: SetApprovalMessage %v, Approve %v", trial, errA, errB)
					}
					at := t0.Add(time.Duration(trial) * time.Second)
					errA, errB = race(
						func() error { return s1.SaveSecret(ctx, "refresh", []byte("sealed-a"), at) },
						func() error { return s2.SaveSecret(ctx, "refresh", []byte("sealed-b"), at) },
					)
					if errA != nil || errB != nil {
						t.Fatalf("trial %d: concurrent SaveSecret: %v, %v", trial, errA, errB)
					}
				}
			})
			wantVerified(t, s1)
		})
	}
}
