package approvals

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/internal/dbtest"
)

func TestStore_Create(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		ctx := context.Background()

		in := newRequest(c)
		in.ExpiresAt = in.ExpiresAt.In(time.FixedZone("CET", 3600)) // any zone in, UTC out
		r, err := s.Create(ctx, in)
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		if r.ID == "" || r.State != StatePending || r.Version != 1 {
			t.Errorf("Create = {ID %q, State %s, Version %d}, want an ID, pending, 1", r.ID, r.State, r.Version)
		}
		if want := normTime(t0); !r.CreatedAt.Equal(want) || r.CreatedAt.Location() != time.UTC {
			t.Errorf("CreatedAt = %v, want %v in UTC", r.CreatedAt, want)
		}
		if !r.ExpiresAt.Equal(normTime(in.ExpiresAt)) {
			t.Errorf("ExpiresAt = %v, want %v", r.ExpiresAt, in.ExpiresAt)
		}
		if !reflect.DeepEqual(r.TargetRoles, in.TargetRoles) || r.TargetUPN != in.TargetUPN || r.Reason != in.Reason {
			t.Errorf("Create did not keep the request's fields: %+v", r)
		}
		got, err := s.Get(ctx, r.ID)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Errorf("Get after Create differs (times must round-trip exactly):\n got %+v\nwant %+v", got, r)
		}
		es := requestEvents(t, s, r.ID)
		if len(es) != 1 || es[0].Outcome != OutcomeRequested || es[0].ActorID != alice ||
			es[0].CorrelationID != "corr-create" || es[0].TenantID != in.TenantID || es[0].TargetObjectID != in.TargetObjectID {
			t.Errorf("audit after Create = %+v, want one requested row by alice", es)
		}

		t.Run("no roles round-trips as nil", func(t *testing.T) {
			in := newRequest(c)
			in.TargetRoles = nil
			r, err := s.Create(ctx, in)
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			if r.TargetRoles != nil {
				t.Errorf("TargetRoles = %#v, want nil", r.TargetRoles)
			}
		})
		t.Run("missing fields; refused", func(t *testing.T) {
			for name, mutate := range map[string]func(*Request){
				"requester": func(r *Request) { r.RequesterID = "" },
				"tenant":    func(r *Request) { r.TenantID = "" },
				"target":    func(r *Request) { r.TargetObjectID = "" },
				"expiry":    func(r *Request) { r.ExpiresAt = time.Time{} },
			} {
				in := newRequest(c)
				mutate(&in)
				if _, err := s.Create(ctx, in); err == nil {
					t.Errorf("Create without %s succeeded", name)
				}
			}
		})
	})
}

func TestStore_Get_NotFound(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		s := openStore(t, dsn, newClock())
		if _, err := s.Get(context.Background(), "no-such-id"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(unknown) err = %v, want ErrNotFound", err)
		}
	})
}

func TestStore_Approve(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		ctx := context.Background()

		t.Run("approver is not requester; approved", func(t *testing.T) {
			r := mustCreate(t, s, c)
			c.Advance(time.Minute)
			useBy := c.Now().Add(15 * time.Minute)
			got, err := s.Approve(ctx, r.ID, bob, "bob", useBy)
			if err != nil {
				t.Fatalf("Approve: %v", err)
			}
			if got.State != StateApproved || got.DeciderID != bob || got.DeciderName != "bob" ||
				!got.DecidedAt.Equal(normTime(c.Now())) || !got.UseBy.Equal(normTime(useBy)) || got.Version != r.Version+1 {
				t.Errorf("Approve = %+v", got)
			}
			if again, _ := s.Get(ctx, r.ID); !reflect.DeepEqual(again, got) {
				t.Errorf("Get after Approve differs:\n got %+v\nwant %+v", again, got)
			}
			es := requestEvents(t, s, r.ID)
			if len(es) != 2 || es[1].Outcome != OutcomeApproved || es[1].ActorID != bob || es[1].ActorName != "bob" {
				t.Errorf("audit = %+v, want requested then approved by bob", es)
			}
		})
		t.Run("approver is requester; ErrSelfDecision, nothing changes", func(t *testing.T) {
			r := mustCreate(t, s, c)
			if _, err := s.Approve(ctx, r.ID, alice, "alice", c.Now().Add(time.Hour)); !errors.Is(err, ErrSelfDecision) {
				t.Fatalf("self-approve err = %v, want ErrSelfDecision", err)
			}
			if got := wantState(t, s, r.ID, StatePending); got.Version != r.Version {
				t.Errorf("version moved to %d on a refused approval", got.Version)
			}
			wantOutcomes(t, s, r.ID, OutcomeRequested)
		})
		t.Run("already approved; conflict names the first approver", func(t *testing.T) {
			r := mustCreate(t, s, c)
			first := mustApprove(t, s, c, r.ID)
			_, err := s.Approve(ctx, r.ID, carol, "carol", c.Now().Add(time.Hour))
			cur := wantConflict(t, err, StateApproved)
			if cur.DeciderID != bob || !cur.DecidedAt.Equal(first.DecidedAt) {
				t.Errorf("conflict current = decided by %s at %v, want bob at %v", cur.DeciderID, cur.DecidedAt, first.DecidedAt)
			}
			if errors.Is(err, ErrExpired) {
				t.Errorf("a plain conflict must not match ErrExpired")
			}
			wantOutcomes(t, s, r.ID, OutcomeRequested, OutcomeApproved)
		})
		t.Run("already denied; conflict", func(t *testing.T) {
			r := mustCreate(t, s, c)
			if _, err := s.Deny(ctx, r.ID, carol, "carol", "no ticket"); err != nil {
				t.Fatalf("Deny: %v", err)
			}
			_, err := s.Approve(ctx, r.ID, bob, "bob", c.Now().Add(time.Hour))
			wantConflict(t, err, StateDenied)
		})
		t.Run("unknown request; ErrNotFound", func(t *testing.T) {
			if _, err := s.Approve(ctx, "no-such-id", bob, "bob", c.Now().Add(time.Hour)); !errors.Is(err, ErrNotFound) {
				t.Errorf("err = %v, want ErrNotFound", err)
			}
		})
		t.Run("past expiry; expired in the same call and conflict names expired", func(t *testing.T) {
			r := mustCreate(t, s, c)
			c.Advance(30 * time.Minute) // exactly at ExpiresAt: too late
			_, err := s.Approve(ctx, r.ID, bob, "bob", c.Now().Add(time.Hour))
			cur := wantConflict(t, err, StateExpired)
			if !errors.Is(err, ErrExpired) {
				t.Errorf("err = %v, want it to match ErrExpired", err)
			}
			if !cur.FinishedAt.Equal(normTime(c.Now())) {
				t.Errorf("FinishedAt = %v, want now %v", cur.FinishedAt, c.Now())
			}
			wantState(t, s, r.ID, StateExpired)
			es := requestEvents(t, s, r.ID)
			if got := outcomes(es); !reflect.DeepEqual(got, []Outcome{OutcomeRequested, OutcomeExpired}) || es[1].ActorID != SystemActor {
				t.Errorf("audit = %v (last actor %q), want requested, expired by locksmith", got, es[len(es)-1].ActorID)
			}
		})
		t.Run("just before expiry; approved", func(t *testing.T) {
			r := mustCreate(t, s, c)
			c.Advance(30*time.Minute - time.Microsecond)
			mustApprove(t, s, c, r.ID)
		})
		t.Run("missing approver or use-by; refused", func(t *testing.T) {
			r := mustCreate(t, s, c)
			if _, err := s.Approve(ctx, r.ID, "", "", c.Now().Add(time.Hour)); err == nil {
				t.Errorf("Approve without approver succeeded")
			}
			if _, err := s.Approve(ctx, r.ID, bob, "bob", time.Time{}); err == nil {
				t.Errorf("Approve without useBy succeeded")
			}
			wantState(t, s, r.ID, StatePending)
		})
	})
}

func TestStore_Deny(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		ctx := context.Background()

		t.Run("by another person; denied with the reason", func(t *testing.T) {
			r := mustCreate(t, s, c)
			got, err := s.Deny(ctx, r.ID, carol, "carol", "no ticket")
			if err != nil {
				t.Fatalf("Deny: %v", err)
			}
			if got.State != StateDenied || got.DeciderID != carol || got.Detail != "no ticket" || got.FinishedAt.IsZero() {
				t.Errorf("Deny = %+v", got)
			}
			es := requestEvents(t, s, r.ID)
			if len(es) != 2 || es[1].Outcome != OutcomeDenied || es[1].ActorID != carol || es[1].Detail != "no ticket" {
				t.Errorf("audit = %+v, want denied by carol", es)
			}
		})
		t.Run("by the requester; ErrSelfDecision", func(t *testing.T) {
			r := mustCreate(t, s, c)
			if _, err := s.Deny(ctx, r.ID, alice, "alice", ""); !errors.Is(err, ErrSelfDecision) {
				t.Errorf("err = %v, want ErrSelfDecision", err)
			}
			wantState(t, s, r.ID, StatePending)
		})
		t.Run("already approved; conflict", func(t *testing.T) {
			r := mustCreate(t, s, c)
			mustApprove(t, s, c, r.ID)
			_, err := s.Deny(ctx, r.ID, carol, "carol", "")
			wantConflict(t, err, StateApproved)
		})
		t.Run("past expiry; conflict names expired", func(t *testing.T) {
			r := mustCreate(t, s, c)
			c.Advance(time.Hour)
			_, err := s.Deny(ctx, r.ID, carol, "carol", "")
			wantConflict(t, err, StateExpired)
		})
		t.Run("unknown request; ErrNotFound", func(t *testing.T) {
			if _, err := s.Deny(ctx, "no-such-id", carol, "carol", ""); !errors.Is(err, ErrNotFound) {
				t.Errorf("err = %v, want ErrNotFound", err)
			}
		})
	})
}

func TestStore_Cancel(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		ctx := context.Background()

		t.Run("by the requester; cancelled", func(t *testing.T) {
			r := mustCreate(t, s, c)
			got, err := s.Cancel(ctx, r.ID, alice)
			if err != nil {
				t.Fatalf("Cancel: %v", err)
			}
			if got.State != StateCancelled || got.DeciderID != alice || got.DeciderName != "alice" {
				t.Errorf("Cancel = %+v", got)
			}
			wantOutcomes(t, s, r.ID, OutcomeRequested, OutcomeCancelled)
		})
		t.Run("by someone else; ErrNotRequester", func(t *testing.T) {
			r := mustCreate(t, s, c)
			if _, err := s.Cancel(ctx, r.ID, bob); !errors.Is(err, ErrNotRequester) {
				t.Errorf("err = %v, want ErrNotRequester", err)
			}
			wantState(t, s, r.ID, StatePending)
		})
		t.Run("already approved; conflict", func(t *testing.T) {
			r := mustCreate(t, s, c)
			mustApprove(t, s, c, r.ID)
			_, err := s.Cancel(ctx, r.ID, alice)
			wantConflict(t, err, StateApproved)
		})
		t.Run("past expiry; conflict names expired", func(t *testing.T) {
			r := mustCreate(t, s, c)
			c.Advance(time.Hour)
			_, err := s.Cancel(ctx, r.ID, alice)
			wantConflict(t, err, StateExpired)
		})
	})
}

func TestStore_ClaimReset(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		ctx := context.Background()

		t.Run("by the requester before use-by; resetting with a durable intent", func(t *testing.T) {
			r := mustCreate(t, s, c)
			mustApprove(t, s, c, r.ID)
			c.Advance(time.Minute)
			got, err := s.ClaimReset(ctx, r.ID, alice, "corr-click")
			if err != nil {
				t.Fatalf("ClaimReset: %v", err)
			}
			if got.State != StateResetting || got.ClaimedAt.IsZero() || got.ResetCorrelationID != "corr-click" {
				t.Errorf("ClaimReset = %+v", got)
			}
			es := requestEvents(t, s, r.ID)
			last := es[len(es)-1]
			if last.Outcome != OutcomeResetIntent || last.ActorID != alice || last.CorrelationID != "corr-click" {
				t.Errorf("last audit row = %+v, want reset_intent by alice with the click's correlation ID", last)
			}
		})
		t.Run("clicked twice; second gets a conflict naming resetting", func(t *testing.T) {
			r := mustCreate(t, s, c)
			mustApprove(t, s, c, r.ID)
			mustClaim(t, s, r.ID)
			_, err := s.ClaimReset(ctx, r.ID, alice, "corr-2")
			wantConflict(t, err, StateResetting)
			wantOutcomes(t, s, r.ID, OutcomeRequested, OutcomeApproved, OutcomeResetIntent)
		})
		t.Run("by someone else; ErrNotRequester", func(t *testing.T) {
			r := mustCreate(t, s, c)
			mustApprove(t, s, c, r.ID)
			if _, err := s.ClaimReset(ctx, r.ID, bob, "corr"); !errors.Is(err, ErrNotRequester) {
				t.Errorf("err = %v, want ErrNotRequester", err)
			}
			wantState(t, s, r.ID, StateApproved)
		})
		t.Run("still pending; conflict", func(t *testing.T) {
			r := mustCreate(t, s, c)
			_, err := s.ClaimReset(ctx, r.ID, alice, "corr")
			wantConflict(t, err, StatePending)
		})
		t.Run("past use-by; expired in the same call and conflict names expired", func(t *testing.T) {
			r := mustCreate(t, s, c)
			mustApprove(t, s, c, r.ID)
			c.Advance(15 * time.Minute)
			_, err := s.ClaimReset(ctx, r.ID, alice, "corr")
			wantConflict(t, err, StateExpired)
			wantOutcomes(t, s, r.ID, OutcomeRequested, OutcomeApproved, OutcomeExpired)
		})
		t.Run("unknown request; ErrNotFound", func(t *testing.T) {
			if _, err := s.ClaimReset(ctx, "no-such-id", alice, "corr"); !errors.Is(err, ErrNotFound) {
				t.Errorf("err = %v, want ErrNotFound", err)
			}
		})
	})
}

func TestStore_FinishReset(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		ctx := context.Background()

		for _, tc := range []struct {
			name    string
			outcome State
			audit   Outcome
		}{
			{"success; done", StateDone, OutcomeResetDone},
			{"permanent failure; failed", StateFailed, OutcomeResetFailed},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := mustCreate(t, s, c)
				mustApprove(t, s, c, r.ID)
				mustClaim(t, s, r.ID)
				got, err := s.FinishReset(ctx, r.ID, tc.outcome, "detail text")
				if err != nil {
					t.Fatalf("FinishReset: %v", err)
				}
				if got.State != tc.outcome || got.Detail != "detail text" || got.FinishedAt.IsZero() {
					t.Errorf("FinishReset = %+v", got)
				}
				es := requestEvents(t, s, r.ID)
				if last := es[len(es)-1]; last.Outcome != tc.audit || last.CorrelationID != "corr-click" || last.Detail != "detail text" {
					t.Errorf("last audit row = %+v, want %s with the click's correlation ID", last, tc.audit)
				}
				_, err = s.FinishReset(ctx, r.ID, StateDone, "again")
				wantConflict(t, err, tc.outcome)
			})
		}
		t.Run("not resetting; conflict", func(t *testing.T) {
			r := mustCreate(t, s, c)
			mustApprove(t, s, c, r.ID)
			_, err := s.FinishReset(ctx, r.ID, StateDone, "")
			wantConflict(t, err, StateApproved)
		})
		t.Run("outcome not done or failed; refused", func(t *testing.T) {
			r := mustCreate(t, s, c)
			mustApprove(t, s, c, r.ID)
			mustClaim(t, s, r.ID)
			for _, st := range []State{StateApproved, StateExpired, StatePending, "bogus"} {
				if _, err := s.FinishReset(ctx, r.ID, st, ""); err == nil || errors.Is(err, ErrConflict) {
					t.Errorf("FinishReset(%s) err = %v, want a usage error", st, err)
				}
			}
			wantState(t, s, r.ID, StateResetting)
		})
	})
}

func TestStore_ReleaseReset(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		ctx := context.Background()

		t.Run("transient failure; approved again and claimable again", func(t *testing.T) {
			r := mustCreate(t, s, c)
			mustApprove(t, s, c, r.ID)
			mustClaim(t, s, r.ID)
			got, err := s.ReleaseReset(ctx, r.ID, "Partner Center throttled")
			if err != nil {
				t.Fatalf("ReleaseReset: %v", err)
			}
			if got.State != StateApproved || !got.ClaimedAt.IsZero() || got.Detail != "Partner Center throttled" {
				t.Errorf("ReleaseReset = %+v", got)
			}
			mustClaim(t, s, r.ID)
			wantOutcomes(t, s, r.ID, OutcomeRequested, OutcomeApproved, OutcomeResetIntent, OutcomeResetReleased, OutcomeResetIntent)
		})
		t.Run("not resetting; conflict", func(t *testing.T) {
			r := mustCreate(t, s, c)
			_, err := s.ReleaseReset(ctx, r.ID, "")
			wantConflict(t, err, StatePending)
		})
	})
}

func TestStore_StaleResettingAndMarkOutcomeUnknown(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		ctx := context.Background()
		const staleAfter = 4 * time.Minute

		stale := mustCreate(t, s, c)
		mustApprove(t, s, c, stale.ID)
		mustClaim(t, s, stale.ID)
		backdateClaim(t, s, stale.ID, staleAfter+time.Second)
		fresh := mustCreate(t, s, c)
		mustApprove(t, s, c, fresh.ID)
		mustClaim(t, s, fresh.ID)
		backdateClaim(t, s, fresh.ID, staleAfter-10*time.Second)
		mustCreate(t, s, c) // pending: never stale

		got, err := s.StaleResetting(ctx, staleAfter)
		if err != nil {
			t.Fatalf("StaleResetting: %v", err)
		}
		if len(got) != 1 || got[0].ID != stale.ID {
			t.Fatalf("StaleResetting = %d requests, want only the one claimed before the cutoff", len(got))
		}

		r, err := s.MarkOutcomeUnknown(ctx, stale.ID, staleAfter)
		if err != nil {
			t.Fatalf("MarkOutcomeUnknown: %v", err)
		}
		if r.State != StateFailed || r.Detail != OutcomeUnknownDetail || r.FinishedAt.IsZero() {
			t.Errorf("MarkOutcomeUnknown = %+v", r)
		}
		es := requestEvents(t, s, stale.ID)
		if last := es[len(es)-1]; last.Outcome != OutcomeResetUnknown || last.ActorID != SystemActor {
			t.Errorf("last audit row = %+v, want reset_unknown by locksmith", last)
		}
		if got, _ := s.StaleResetting(ctx, staleAfter); len(got) != 0 {
			t.Errorf("StaleResetting after marking = %d requests, want 0", len(got))
		}

		t.Run("claimed too recently; not stale", func(t *testing.T) {
			_, err := s.MarkOutcomeUnknown(ctx, fresh.ID, staleAfter)
			if !errors.Is(err, ErrNotStale) {
				t.Fatalf("MarkOutcomeUnknown of a live reset = %v, want ErrNotStale", err)
			}
			if r, _ := s.Get(ctx, fresh.ID); r.State != StateResetting {
				t.Errorf("state = %s, want still resetting", r.State)
			}
		})
		t.Run("reset finished meanwhile; conflict", func(t *testing.T) {
			if _, err := s.FinishReset(ctx, fresh.ID, StateDone, ""); err != nil {
				t.Fatalf("FinishReset: %v", err)
			}
			_, err := s.MarkOutcomeUnknown(ctx, fresh.ID, 0)
			wantConflict(t, err, StateDone)
		})
	})
}

// TestStore_StaleResetting_ReplicaClockSkew: whether a reset was interrupted
// is decided by the database's clock. A replica whose clock runs minutes
// behind claims a reset; another whose clock runs minutes ahead sweeps: the
// live reset is not stale, and cannot be marked unknown.
func TestStore_StaleResetting_ReplicaClockSkew(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		const staleAfter = 4 * time.Minute
		for _, skew := range []time.Duration{10 * time.Minute, -10 * time.Minute} {
			wall := &clock{t: time.Now()}
			claimer := openStore(t, dsn, &clock{t: wall.Now().Add(-skew)})
			sweeper := openStore(t, dsn, &clock{t: wall.Now().Add(skew)})
			r := mustCreate(t, claimer, wall)
			if _, err := claimer.Approve(ctx, r.ID, bob, "bob", wall.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			claimed, err := claimer.ClaimReset(ctx, r.ID, alice, "corr-skew")
			if err != nil {
				t.Fatal(err)
			}
			// The stamp is the database's time, not the claiming replica's.
			if d := claimed.ClaimedAt.Sub(time.Now()); d > time.Minute || d < -time.Minute {
				t.Errorf("skew %v: claimed_at is %v from the database's clock; want the database's time", skew, d)
			}
			got, err := sweeper.StaleResetting(ctx, staleAfter)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range got {
				if g.ID == r.ID {
					t.Errorf("skew %v: a reset claimed just now is listed as stale", skew)
				}
			}
			if _, err := sweeper.MarkOutcomeUnknown(ctx, r.ID, staleAfter); !errors.Is(err, ErrNotStale) {
				t.Errorf("skew %v: MarkOutcomeUnknown of a live reset = %v, want ErrNotStale", skew, err)
			}
			if cur, _ := sweeper.Get(ctx, r.ID); cur.State != StateResetting {
				t.Errorf("skew %v: state = %s, want still resetting", skew, cur.State)
			}
		}
	})
}

func TestStore_ExpireDue(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		ctx := context.Background()

		pending := mustCreate(t, s, c) // expires at +30m
		approved := mustCreate(t, s, c)
		mustApprove(t, s, c, approved.ID) // use by +15m
		c.Advance(10 * time.Minute)
		young := mustCreate(t, s, c) // expires at +40m
		claimed := mustCreate(t, s, c)
		mustApprove(t, s, c, claimed.ID)
		mustClaim(t, s, claimed.ID) // resetting: not for the sweeper

		if got, err := s.ExpireDue(ctx); err != nil || len(got) != 0 {
			t.Fatalf("ExpireDue before any deadline = %d, %v; want none", len(got), err)
		}
		c.Advance(20 * time.Minute) // +30m: pending and approved are due
		got, err := s.ExpireDue(ctx)
		if err != nil {
			t.Fatalf("ExpireDue: %v", err)
		}
		ids := map[string]bool{}
		for _, r := range got {
			if r.State != StateExpired {
				t.Errorf("ExpireDue returned %s in state %s", r.ID, r.State)
			}
			ids[r.ID] = true
		}
		if len(got) != 2 || !ids[pending.ID] || !ids[approved.ID] {
			t.Errorf("ExpireDue expired %d requests, want the pending one past expiry and the approved one past use-by", len(got))
		}
		wantState(t, s, young.ID, StatePending)
		wantState(t, s, claimed.ID, StateResetting)
		wantOutcomes(t, s, pending.ID, OutcomeRequested, OutcomeExpired)
		wantOutcomes(t, s, approved.ID, OutcomeRequested, OutcomeApproved, OutcomeExpired)

		if again, err := s.ExpireDue(ctx); err != nil || len(again) != 0 {
			t.Errorf("second ExpireDue = %d, %v; want none", len(again), err)
		}
	})
}

func TestStore_SetApprovalMessage(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		ctx := context.Background()
		r := mustCreate(t, s, c)
		if err := s.SetApprovalMessage(ctx, r.ID, "C0APPROVALS", "1700000000.000100"); err != nil {
			t.Fatalf("SetApprovalMessage: %v", err)
		}
		got := wantState(t, s, r.ID, StatePending)
		if got.ApprovalChannel != "C0APPROVALS" || got.ApprovalTS != "1700000000.000100" {
			t.Errorf("approval message = %q %q", got.ApprovalChannel, got.ApprovalTS)
		}
		if err := s.SetApprovalMessage(ctx, "no-such-id", "C", "1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("SetApprovalMessage(unknown) err = %v, want ErrNotFound", err)
		}
		wantOutcomes(t, s, r.ID, OutcomeRequested) // not audited
	})
}

func TestStore_CountByState(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		ctx := context.Background()
		mustCreate(t, s, c)
		mustCreate(t, s, c)
		mustApprove(t, s, c, mustCreate(t, s, c).ID)
		got, err := s.CountByState(ctx)
		if err != nil {
			t.Fatalf("CountByState: %v", err)
		}
		want := map[State]int{}
		for _, st := range States {
			want[st] = 0
		}
		want[StatePending], want[StateApproved] = 2, 1
		if !reflect.DeepEqual(got, want) {
			t.Errorf("CountByState = %v, want %v", got, want)
		}
	})
}

func TestCreate_KeepsGraphFactsAndRecipes(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		in := newRequest(c)
		in.TargetFacts = `{"guest":false}`
		in.Recipes = []string{"reset_password", "revoke_sessions"}
		r, err := s.Create(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(context.Background(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.TargetFacts != in.TargetFacts || !reflect.DeepEqual(got.Recipes, in.Recipes) {
			t.Fatalf("got facts %q recipes %v", got.TargetFacts, got.Recipes)
		}
		plain, err := s.Create(context.Background(), newRequest(c))
		if err != nil || plain.Recipes != nil || plain.TargetFacts != "" {
			t.Fatalf("plain request: %+v, %v", plain, err)
		}
	})
}
