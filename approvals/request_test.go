package approvals

import (
	"regexp"
	"testing"
)

func TestCanTransition(t *testing.T) {
	allowed := map[[2]State]bool{
		{StatePending, StateApproved}:   true,
		{StatePending, StateDenied}:     true,
		{StatePending, StateCancelled}:  true,
		{StatePending, StateExpired}:    true,
		{StateApproved, StateResetting}: true,
		{StateApproved, StateExpired}:   true,
		{StateResetting, StateDone}:     true,
		{StateResetting, StateFailed}:   true,
		{StateResetting, StateApproved}: true, // transient failure: the requester may click again
	}
	// Every pair of states, including unknown ones, against the table above.
	states := append(append([]State{}, States...), State("bogus"), State(""))
	for _, from := range states {
		for _, to := range states {
			if got, want := CanTransition(from, to), allowed[[2]State{from, to}]; got != want {
				t.Errorf("CanTransition(%q, %q) = %v, want %v", from, to, got, want)
			}
		}
	}
}

func TestState_Final(t *testing.T) {
	for _, tc := range []struct {
		s     State
		final bool
	}{
		{StatePending, false}, {StateApproved, false}, {StateResetting, false},
		{StateDenied, true}, {StateCancelled, true}, {StateExpired, true}, {StateDone, true}, {StateFailed, true},
		{State("bogus"), false},
	} {
		if got := tc.s.Final(); got != tc.final {
			t.Errorf("%q.Final() = %v, want %v", tc.s, got, tc.final)
		}
	}
}

func TestNewID_IsRandomUUIDv4(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 100 {
		id := newID()
		if !re.MatchString(id) {
			t.Fatalf("newID() = %q, not a version 4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("newID() repeated %q", id)
		}
		seen[id] = true
	}
}
