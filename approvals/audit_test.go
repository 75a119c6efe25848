package approvals

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/internal/dbtest"
)

func standalone(i int) Event {
	return Event{
		ActorID: alice, ActorName: "alice",
		TenantID: "tenant-" + fmt.Sprint(i%2), CustomerDomain: []string{"contoso.com", "Fabrikam.COM"}[i%2],
		TargetObjectID: "obj", TargetUPN: "dave@contoso.com",
		RequestID:     fmt.Sprintf("req-%d", i),
		CorrelationID: fmt.Sprintf("corr-%d", i),
		Outcome:       OutcomeRefused, Detail: fmt.Sprintf("refusal %d", i),
	}
}

func TestStore_Append(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		ctx := context.Background()

		if rep := wantVerified(t, s); rep.Rows != 0 || rep.LastHash != GenesisHash {
			t.Errorf("empty trail: Verify = %+v, want 0 rows and the genesis head", rep)
		}
		first, err := s.Append(ctx, standalone(0))
		if err != nil {
			t.Fatalf("Append: %v", err)
		}
		if first.Seq != 1 || first.PrevHash != GenesisHash || len(first.Hash) != 64 || !first.Time.Equal(normTime(t0)) {
			t.Errorf("first row = %+v, want seq 1 after the genesis hash", first)
		}
		c.Advance(time.Second)
		second, err := s.Append(ctx, standalone(1))
		if err != nil {
			t.Fatalf("Append: %v", err)
		}
		if second.Seq != 2 || second.PrevHash != first.Hash {
			t.Errorf("second row = seq %d prev %s, want seq 2 chained to %s", second.Seq, second.PrevHash, first.Hash)
		}
		var stored []Event
		if err := s.Events(ctx, EventFilter{}, func(e Event) error { stored = append(stored, e); return nil }); err != nil {
			t.Fatalf("Events: %v", err)
		}
		if !reflect.DeepEqual(stored, []Event{first, second}) {
			t.Errorf("stored rows differ from what Append returned:\n got %+v\nwant %+v", stored, []Event{first, second})
		}
		if rep := wantVerified(t, s); rep.Rows != 2 || rep.LastSeq != 2 || rep.LastHash != second.Hash {
			t.Errorf("Verify = %+v", rep)
		}
		if _, err := s.Append(ctx, Event{ActorID: alice}); err == nil {
			t.Errorf("Append without an outcome succeeded")
		}
	})
}

func TestStore_Events_Filter(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		ctx := context.Background()
		for i := range 6 {
			if _, err := s.Append(ctx, standalone(i)); err != nil {
				t.Fatalf("Append: %v", err)
			}
			c.Advance(time.Minute)
		}
		seqs := func(f EventFilter) []int64 {
			t.Helper()
			var out []int64
			if err := s.Events(ctx, f, func(e Event) error { out = append(out, e.Seq); return nil }); err != nil {
				t.Fatalf("Events: %v", err)
			}
			return out
		}
		for _, tc := range []struct {
			name string
			f    EventFilter
			want []int64
		}{
			{"no filter; all in order", EventFilter{}, []int64{1, 2, 3, 4, 5, 6}},
			{"since; at or after", EventFilter{Since: t0.Add(3 * time.Minute)}, []int64{4, 5, 6}},
			{"tenant ID", EventFilter{Customer: "tenant-1"}, []int64{2, 4, 6}},
			{"domain in another case", EventFilter{Customer: "fabrikam.com"}, []int64{2, 4, 6}},
			{"domain and since", EventFilter{Customer: "CONTOSO.COM", Since: t0.Add(time.Minute)}, []int64{3, 5}},
			{"unknown customer; none", EventFilter{Customer: "example.com"}, nil},
			{"request ID", EventFilter{RequestID: "req-3"}, []int64{4}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if got := seqs(tc.f); !reflect.DeepEqual(got, tc.want) {
					t.Errorf("seqs = %v, want %v", got, tc.want)
				}
			})
		}
		t.Run("callback error; stops and is returned", func(t *testing.T) {
			stop := errors.New("stop")
			n := 0
			err := s.Events(ctx, EventFilter{}, func(Event) error { n++; return stop })
			if !errors.Is(err, stop) || n != 1 {
				t.Errorf("Events = %v after %d rows, want the callback's error after 1", err, n)
			}
		})
	})
}

// TestStore_Append_ConcurrentStores: two replicas appending at once still
// build one valid chain.
func TestStore_Append_ConcurrentStores(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		stores := []*Store{openStore(t, dsn, c), openStore(t, dsn, c)}
		const perStore = 100
		var wg sync.WaitGroup
		errs := make(chan error, len(stores))
		for i, s := range stores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range perStore {
					if _, err := s.Append(context.Background(), standalone(i*perStore+j)); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("Append: %v", err)
		}
		if rep := wantVerified(t, stores[1]); rep.Rows != 2*perStore || rep.LastSeq != 2*perStore {
			t.Errorf("Verify = %+v, want %d rows", rep, 2*perStore)
		}
	})
}

func TestStore_AuditIsAppendOnly(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		ctx := context.Background()
		if _, err := s.Append(ctx, standalone(0)); err != nil {
			t.Fatalf("Append: %v", err)
		}
		for _, stmt := range []string{
			"UPDATE audit_events SET detail = 'edited'",
			"DELETE FROM audit_events",
		} {
			if _, err := s.db.ExecContext(ctx, stmt); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: err = %v, want the database to refuse (append-only)", stmt, err)
			}
		}
		wantVerified(t, s)
	})
}

// dropAppendOnlyTriggers lets a test play an attacker with raw SQL access.
func dropAppendOnlyTriggers(t *testing.T, s *Store) {
	t.Helper()
	stmts := []string{"DROP TRIGGER audit_events_no_update", "DROP TRIGGER audit_events_no_delete"}
	if s.d.postgres() {
		stmts = []string{"DROP TRIGGER audit_events_no_change ON audit_events"}
	}
	for _, stmt := range stmts {
		if _, err := s.db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
}

func readEvent(t *testing.T, s *Store, seq int64) Event {
	t.Helper()
	e, err := scanEvent(s.db.QueryRow(s.d.q("SELECT "+eventCols+" FROM audit_events WHERE seq = ?"), seq))
	if err != nil {
		t.Fatalf("read row %d: %v", seq, err)
	}
	return e
}

// overwrite stores e's contents (everything but seq) into row seq.
func overwrite(t *testing.T, s *Store, seq int64, e Event) {
	t.Helper()
	_, err := s.db.Exec(s.d.q(`UPDATE audit_events SET at = ?, actor_id = ?, actor_name = ?, tenant_id = ?,
		customer_domain = ?, target_object_id = ?, target_upn = ?, request_id = ?, correlation_id = ?,
		outcome = ?, detail = ?, prev_hash = ?, hash = ? WHERE seq = ?`),
		s.d.t(e.Time), e.ActorID, e.ActorName, e.TenantID, e.CustomerDomain, e.TargetObjectID, e.TargetUPN,
		e.RequestID, e.CorrelationID, string(e.Outcome), e.Detail, e.PrevHash, e.Hash, seq)
	if err != nil {
		t.Fatalf("overwrite row %d: %v", seq, err)
	}
}

func insertEvent(t *testing.T, s *Store, e Event) {
	t.Helper()
	_, err := s.db.Exec(s.d.q(`INSERT INTO audit_events (`+eventCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		e.Seq, s.d.t(e.Time), e.ActorID, e.ActorName, e.TenantID, e.CustomerDomain, e.TargetObjectID, e.TargetUPN,
		e.RequestID, e.CorrelationID, string(e.Outcome), e.Detail, e.PrevHash, e.Hash)
	if err != nil {
		t.Fatalf("insert row %d: %v", e.Seq, err)
	}
}

// shiftUp renumbers rows from seq on by +1, making room for an insertion.
// It goes through seq+1000 so the primary key never sees two rows with one seq.
func shiftUp(t *testing.T, s *Store, from int64) {
	t.Helper()
	if _, err := s.db.Exec(s.d.q("UPDATE audit_events SET seq = seq + 1000 WHERE seq >= ?"), from); err != nil {
		t.Fatalf("shift up: %v", err)
	}
	if _, err := s.db.Exec("UPDATE audit_events SET seq = seq - 999 WHERE seq >= 1000"); err != nil {
		t.Fatalf("shift back: %v", err)
	}
}

// TestStore_Verify_Tampering edits the trail with raw SQL in the ways an
// attacker might and checks Verify names the first bad row.
func TestStore_Verify_Tampering(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tamper  func(t *testing.T, s *Store)
		wantSeq int64
		problem string
	}{
		{
			name: "row edited; that row",
			tamper: func(t *testing.T, s *Store) {
				if _, err := s.db.Exec("UPDATE audit_events SET detail = 'nothing to see' WHERE seq = 3"); err != nil {
					t.Fatal(err)
				}
			},
			wantSeq: 3, problem: "edited",
		},
		{
			name: "row edited and its hash recomputed; the next row",
			tamper: func(t *testing.T, s *Store) {
				e := readEvent(t, s, 3)
				e.ActorID = "U0MALLORY"
				e.Hash = eventHash(e)
				overwrite(t, s, 3, e)
			},
			wantSeq: 4, problem: "prev_hash",
		},
		{
			name: "row deleted; the row after the gap",
			tamper: func(t *testing.T, s *Store) {
				if _, err := s.db.Exec("DELETE FROM audit_events WHERE seq = 3"); err != nil {
					t.Fatal(err)
				}
			},
			wantSeq: 4, problem: "missing",
		},
		{
			name: "first row deleted; the new first row",
			tamper: func(t *testing.T, s *Store) {
				if _, err := s.db.Exec("DELETE FROM audit_events WHERE seq = 1"); err != nil {
					t.Fatal(err)
				}
			},
			wantSeq: 2, problem: "missing",
		},
		{
			name: "two rows swapped; the first of them",
			tamper: func(t *testing.T, s *Store) {
				r3, r4 := readEvent(t, s, 3), readEvent(t, s, 4)
				overwrite(t, s, 3, r4)
				overwrite(t, s, 4, r3)
			},
			wantSeq: 3, problem: "prev_hash",
		},
		{
			name: "row inserted mid-chain with a forged hash; the row after it",
			tamper: func(t *testing.T, s *Store) {
				prev := readEvent(t, s, 3)
				shiftUp(t, s, 4)
				forged := standalone(99)
				forged.Seq, forged.Time, forged.PrevHash = 4, prev.Time, prev.Hash
				forged.Hash = eventHash(forged)
				insertEvent(t, s, forged)
			},
			wantSeq: 5, problem: "prev_hash",
		},
		{
			name: "row appended with a made-up hash; that row",
			tamper: func(t *testing.T, s *Store) {
				last := readEvent(t, s, 6)
				e := standalone(99)
				e.Seq, e.Time, e.PrevHash, e.Hash = 7, last.Time, last.Hash, strings.Repeat("ab", 32)
				insertEvent(t, s, e)
			},
			wantSeq: 7, problem: "edited",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dbtest.ForEach(t, func(t *testing.T, dsn string) {
				c := newClock()
				s := openStore(t, dsn, c)
				for i := range 6 {
					if _, err := s.Append(context.Background(), standalone(i)); err != nil {
						t.Fatalf("Append: %v", err)
					}
					c.Advance(time.Second)
				}
				wantVerified(t, s)
				dropAppendOnlyTriggers(t, s)
				tc.tamper(t, s)
				rep, err := s.Verify(context.Background())
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if rep.OK || rep.BadSeq != tc.wantSeq || !strings.Contains(rep.Problem, tc.problem) {
					t.Errorf("Verify = %+v, want it to fail at seq %d (%s)", rep, tc.wantSeq, tc.problem)
				}
			})
		})
	}
}

// TestStore_AuditSameTransaction: a transition whose audit row cannot be
// written does not happen (guarantee 2: no reset without a durable intent).
func TestStore_AuditSameTransaction(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		ctx := context.Background()
		r := mustCreate(t, s, c)
		mustApprove(t, s, c, r.ID)

		// Take the audit table away, as a full disk or a revoked grant would.
		if _, err := s.db.Exec("ALTER TABLE audit_events RENAME TO audit_events_moved"); err != nil {
			t.Fatalf("rename: %v", err)
		}
		if _, err := s.ClaimReset(ctx, r.ID, alice, "corr"); err == nil {
			t.Fatalf("ClaimReset succeeded without an audit trail to write to")
		}
		wantState(t, s, r.ID, StateApproved)
	})
}
