package approvals

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"
)

// clock is an injected Options.Now that moves only when told to.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

// t0 has nanoseconds on purpose: the store keeps microseconds.
var t0 = time.Date(2026, 3, 2, 10, 0, 0, 123456789, time.UTC)

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func openStore(t testing.TB, dsn string, c *clock) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn, Options{Now: c.Now})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

const (
	alice = "U0ALICE" // requester
	bob   = "U0BOB"   // approver
	carol = "U0CAROL" // another approver
)

// newRequest is a request as the workflow would record it, expiring in 30 min.
func newRequest(c *clock) Request {
	return Request{
		RequesterID: alice, RequesterName: "alice",
		TenantID: "11111111-2222-3333-4444-555555555555", CustomerName: "Contoso Ltd", CustomerDomain: "contoso.com",
		TargetObjectID: "99999999-8888-7777-6666-555555555555", TargetUPN: "dave@contoso.com", TargetDisplayName: "Dave",
		TargetRoles: []string{"Helpdesk Administrator"}, RoleNeeded: "User Administrator",
		Reason: "INC-4711", CorrelationID: "corr-create",
		ExpiresAt: c.Now().Add(30 * time.Minute),
	}
}

func mustCreate(t testing.TB, s *Store, c *clock) Request {
	t.Helper()
	r, err := s.Create(context.Background(), newRequest(c))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return r
}

func mustApprove(t testing.TB, s *Store, c *clock, id string) Request {
	t.Helper()
	r, err := s.Approve(context.Background(), id, bob, "bob", c.Now().Add(15*time.Minute))
	if err != nil {
		t.Fatalf("Approve: %v", err)
	}
	return r
}

func mustClaim(t testing.TB, s *Store, id string) Request {
	t.Helper()
	r, err := s.ClaimReset(context.Background(), id, alice, "corr-click")
	if err != nil {
		t.Fatalf("ClaimReset: %v", err)
	}
	return r
}

// backdateClaim moves a claim age into the past by the database's clock, as
// if the reset had been claimed that long ago: the database's clock cannot be
// advanced like the injected one.
func backdateClaim(t testing.TB, s *Store, id string, age time.Duration) {
	t.Helper()
	expr, arg := s.d.dbNowMinus(age)
	if _, err := s.db.ExecContext(context.Background(), s.d.q("UPDATE requests SET claimed_at = "+expr+" WHERE id = ?"), arg, id); err != nil {
		t.Fatalf("backdate claim: %v", err)
	}
}

// requestEvents returns the audit rows about one request, in order.
func requestEvents(t testing.TB, s *Store, id string) []Event {
	t.Helper()
	var out []Event
	err := s.Events(context.Background(), EventFilter{RequestID: id}, func(e Event) error {
		out = append(out, e)
		return nil
	})
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	return out
}

func outcomes(es []Event) []Outcome {
	out := make([]Outcome, len(es))
	for i, e := range es {
		out[i] = e.Outcome
	}
	return out
}

func wantOutcomes(t testing.TB, s *Store, id string, want ...Outcome) {
	t.Helper()
	if got := outcomes(requestEvents(t, s, id)); !reflect.DeepEqual(got, want) {
		t.Errorf("audit outcomes for the request = %v, want %v", got, want)
	}
}

// wantConflict checks err is a *ConflictError whose request is in state want.
func wantConflict(t testing.TB, err error, want State) Request {
	t.Helper()
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
	var ce *ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v (%T), want *ConflictError", err, err)
	}
	if ce.Current.State != want {
		t.Fatalf("conflict: current state = %s, want %s", ce.Current.State, want)
	}
	return ce.Current
}

func wantState(t testing.TB, s *Store, id string, want State) Request {
	t.Helper()
	r, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if r.State != want {
		t.Fatalf("state = %s, want %s", r.State, want)
	}
	return r
}

func wantVerified(t testing.TB, s *Store) VerifyReport {
	t.Helper()
	rep, err := s.Verify(context.Background())
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !rep.OK {
		t.Fatalf("Verify: chain broken at seq %d: %s", rep.BadSeq, rep.Problem)
	}
	return rep
}
