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

const dave = "U0DAVE" // a third approver

// createNeeding records a request that needs n distinct approvals.
func createNeeding(t testing.TB, s *Store, c *clock, n int) Request {
	t.Helper()
	r := newRequest(c)
	r.ApprovalsRequired = n
	r.PolicyName = "contoso-admins"
	r.Tier = "privileged"
	r.Ticket, r.TicketURL = "INC-4711", "https://psa.example.com/t/INC-4711"
	out, err := s.Create(context.Background(), r)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return out
}

func TestApprove_TwoDistinctApproversNeeded(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		ctx := context.Background()
		r := createNeeding(t, s, c, 2)
		if r.ApprovalsRequired != 2 || r.ApprovalsCount != 0 || r.PolicyName != "contoso-admins" || r.Tier != "privileged" || r.Ticket != "INC-4711" {
			t.Fatalf("created = %+v", r)
		}
		useBy := c.Now().Add(time.Hour)

		if _, err := s.Approve(ctx, r.ID, alice, "alice", useBy); !errors.Is(err, ErrSelfDecision) {
			t.Fatalf("requester approving: %v; want ErrSelfDecision", err)
		}
		c.Advance(time.Minute)
		first, err := s.Approve(ctx, r.ID, bob, "bob", useBy)
		if err != nil {
			t.Fatalf("first approval: %v", err)
		}
		if first.State != StatePending || first.ApprovalsCount != 1 || first.DeciderID != "" || !first.UseBy.IsZero() ||
			len(first.Approvals) != 1 || first.Approvals[0].ApproverID != bob || !first.Approvals[0].At.Equal(normTime(c.Now())) {
			t.Fatalf("after one approval: %+v", first)
		}
		// The same person again (a second click, another grant, another replica).
		if _, err := s.Approve(ctx, r.ID, bob, "bob", useBy); !errors.Is(err, ErrAlreadyApproved) {
			t.Fatalf("second approval by bob: %v; want ErrAlreadyApproved", err)
		}
		if got := wantState(t, s, r.ID, StatePending); got.ApprovalsCount != 1 {
			t.Fatalf("count after bob's second click = %d", got.ApprovalsCount)
		}
		c.Advance(time.Minute)
		second, err := s.Approve(ctx, r.ID, carol, "carol", useBy)
		if err != nil {
			t.Fatalf("second approval: %v", err)
		}
		if second.State != StateApproved || second.ApprovalsCount != 2 || second.DeciderID != carol || !second.UseBy.Equal(normTime(useBy)) ||
			len(second.Approvals) != 2 || second.Approvals[0].ApproverID != bob || second.Approvals[1].ApproverID != carol {
			t.Fatalf("after two approvals: %+v", second)
		}
		// A third approval finds it approved already.
		_, err = s.Approve(ctx, r.ID, dave, "dave", useBy)
		wantConflict(t, err, StateApproved)
		wantOutcomes(t, s, r.ID, OutcomeRequested, OutcomeApprovalRecorded, OutcomeApproved)
		evs := requestEvents(t, s, r.ID)
		if evs[0].Detail != "INC-4711 · policy contoso-admins · 2 approvals required · ticket INC-4711 https://psa.example.com/t/INC-4711" {
			t.Errorf("requested row detail = %q", evs[0].Detail)
		}
		if evs[1].ActorID != bob || evs[1].Detail != "1 of 2 approvals" || evs[2].ActorID != carol || evs[2].Detail != "2 of 2 approvals" {
			t.Errorf("approval rows = %+v", evs[1:])
		}
		got, err := s.Get(ctx, r.ID)
		if err != nil || len(got.Approvals) != 2 {
			t.Fatalf("Get: %+v, %v", got, err)
		}
		wantVerified(t, s)
	})
}

func TestApprove_DenyAfterPartialApprovalEndsIt(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		ctx := context.Background()
		r := createNeeding(t, s, c, 2)
		if _, err := s.Approve(ctx, r.ID, bob, "bob", c.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		d, err := s.Deny(ctx, r.ID, carol, "carol", "not during the change freeze")
		if err != nil || d.State != StateDenied || d.Detail != "not during the change freeze" {
			t.Fatalf("Deny = %+v, %v", d, err)
		}
		_, err = s.Approve(ctx, r.ID, dave, "dave", c.Now().Add(time.Hour))
		wantConflict(t, err, StateDenied)
		wantOutcomes(t, s, r.ID, OutcomeRequested, OutcomeApprovalRecorded, OutcomeDenied)
	})
}

func TestApprove_PastExpiryExpiresInstead(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		r := createNeeding(t, s, c, 2)
		c.Advance(31 * time.Minute)
		_, err := s.Approve(context.Background(), r.ID, bob, "bob", c.Now().Add(time.Hour))
		var ce *ConflictError
		if !errors.As(err, &ce) || !ce.ExpiredNow || ce.Current.State != StateExpired {
			t.Fatalf("Approve after expiry = %v", err)
		}
		if got, _ := s.Get(context.Background(), r.ID); len(got.Approvals) != 0 {
			t.Errorf("an approval was recorded on an expired request: %+v", got.Approvals)
		}
	})
}

// Two approvals needed; three approvers click at once, each twice, through two
// Stores (replicas) on one database. In every trial exactly one click makes
// the transition to approved, exactly two approvals are counted, and nobody is
// counted twice.
func TestApprove_ConcurrentClicksTwoReplicas(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		replicas := []*Store{openStore(t, dsn, c), openStore(t, dsn, c)}
		ctx := context.Background()
		approvers := []string{bob, carol, dave}
		for trial := 0; trial < raceTrials; trial++ {
			r := createNeeding(t, replicas[0], c, 2)
			start := make(chan struct{})
			var (
				wg                      sync.WaitGroup
				mu                      sync.Mutex
				transitions, recorded   int
				already, conflicts      int
				unexpected              []error
				perApproverTransitioned = map[string]int{}
			)
			for i, who := range approvers {
				for click := 0; click < 2; click++ {
					s := replicas[(i+click)%2]
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						got, err := s.Approve(ctx, r.ID, who, who, c.Now().Add(time.Hour))
						mu.Lock()
						defer mu.Unlock()
						switch {
						case err == nil && got.State == StateApproved:
							transitions++
							perApproverTransitioned[who]++
						case err == nil:
							recorded++
						case errors.Is(err, ErrAlreadyApproved):
							already++
						case errors.Is(err, ErrConflict):
							conflicts++
						default:
							unexpected = append(unexpected, err)
						}
					}()
				}
			}
			close(start)
			wg.Wait()
			if len(unexpected) > 0 {
				t.Fatalf("trial %d: unexpected errors %v", trial, unexpected)
			}
			if transitions != 1 || recorded != 1 {
				t.Fatalf("trial %d: %d transitions and %d partial approvals; want 1 and 1", trial, transitions, recorded)
			}
			got := wantState(t, replicas[1], r.ID, StateApproved)
			if got.ApprovalsCount != 2 || len(got.Approvals) != 2 || got.Approvals[0].ApproverID == got.Approvals[1].ApproverID {
				t.Fatalf("trial %d: approvals = %d %+v", trial, got.ApprovalsCount, got.Approvals)
			}
			if got.DeciderID != got.Approvals[1].ApproverID {
				t.Fatalf("trial %d: decider %s is not the second approver %+v", trial, got.DeciderID, got.Approvals)
			}
			wantOutcomes(t, replicas[0], r.ID, OutcomeRequested, OutcomeApprovalRecorded, OutcomeApproved)
		}
		wantVerified(t, replicas[0])
	})
}

// The last approval and a Deny race: one wins, the other is told, and the
// trail shows exactly one decision.
func TestApprove_DenyRacesTheLastApproval(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		a, b := openStore(t, dsn, c), openStore(t, dsn, c)
		ctx := context.Background()
		wins := map[State]int{}
		for trial := 0; trial < raceTrials; trial++ {
			r := createNeeding(t, a, c, 2)
			if _, err := a.Approve(ctx, r.ID, bob, "bob", c.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			errApprove, errDeny := race(
				func() error { _, err := a.Approve(ctx, r.ID, carol, "carol", c.Now().Add(time.Hour)); return err },
				func() error { _, err := b.Deny(ctx, r.ID, dave, "dave", "wrong user"); return err },
			)
			final, err := a.Get(ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			switch final.State {
			case StateApproved:
				if errApprove != nil || !errors.Is(errDeny, ErrConflict) {
					t.Fatalf("trial %d: approved, but approve=%v deny=%v", trial, errApprove, errDeny)
				}
				wantOutcomes(t, a, r.ID, OutcomeRequested, OutcomeApprovalRecorded, OutcomeApproved)
			case StateDenied:
				if errDeny != nil || !errors.Is(errApprove, ErrConflict) {
					t.Fatalf("trial %d: denied, but approve=%v deny=%v", trial, errApprove, errDeny)
				}
				if final.ApprovalsCount != 1 {
					t.Fatalf("trial %d: denied with %d approvals counted", trial, final.ApprovalsCount)
				}
				wantOutcomes(t, a, r.ID, OutcomeRequested, OutcomeApprovalRecorded, OutcomeDenied)
			default:
				t.Fatalf("trial %d: final state %s", trial, final.State)
			}
			wins[final.State]++
		}
		t.Logf("winners over %d trials: %v", raceTrials, wins)
	})
}

// A database from before policies: an approved request keeps its one approval.
func TestMigration_BackfillsApprovals(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		ctx := context.Background()
		r := mustApprove(t, s, c, mustCreate(t, s, c).ID)
		// Undo what 0003 did for this row, re-run its backfill statements, and
		// check they give the row back its approval.
		if _, err := s.db.ExecContext(ctx, s.d.q("DELETE FROM request_approvals WHERE request_id = ?"), r.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.db.ExecContext(ctx, s.d.q("UPDATE requests SET approvals_count = 0 WHERE id = ?"), r.ID); err != nil {
			t.Fatal(err)
		}
		ms, err := migrationsFor(s.d)
		if err != nil {
			t.Fatal(err)
		}
		body := ms[3].body
		backfill := body[indexOf(t, body, "INSERT INTO request_approvals"):]
		if _, err := s.db.ExecContext(ctx, backfill); err != nil {
			t.Fatalf("backfill: %v", err)
		}
		got, err := s.Get(ctx, r.ID)
		if err != nil || got.ApprovalsCount != 1 || len(got.Approvals) != 1 || got.Approvals[0].ApproverID != bob {
			t.Fatalf("after backfill: %+v, %v", got, err)
		}
	})
}

func indexOf(t *testing.T, s, sub string) int {
	t.Helper()
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	t.Fatal(fmt.Sprintf("%q not found", sub))
	return 0
}
