package approvals

import (
	"errors"
	"fmt"
	"time"
)

var (
	// ErrNotFound: no request (or stored secret) with that ID (name).
	ErrNotFound = errors.New("approvals: not found")
	// ErrConflict: the request is not in the state the transition starts from.
	// The error is a *ConflictError carrying the request as it is now.
	ErrConflict = errors.New("approvals: request is not in the expected state")
	// ErrExpired: the conflict is that the request has expired (possibly in the
	// very transaction that reported it). Always also ErrConflict.
	ErrExpired = errors.New("approvals: request has expired")
	// ErrSelfDecision: the requester tried to approve or deny their own request.
	ErrSelfDecision = errors.New("approvals: the requester cannot approve or deny their own request")
	// ErrAlreadyApproved: this person's approval is already counted; a second
	// click, another grant or another replica does not count it again.
	ErrAlreadyApproved = errors.New("approvals: this person has already approved the request")
	// ErrNotRequester: only the requester may cancel the request or claim its reset.
	ErrNotRequester = errors.New("approvals: only the requester can do this")
	// ErrNotStale: the reset was claimed too recently, by the database's clock,
	// to be declared interrupted; it may still be running on another replica.
	ErrNotStale = errors.New("approvals: the reset was claimed too recently to be declared interrupted")
)

// ConflictError says a transition lost: the request had already moved on (or
// has just been expired). Current is the request as the winner left it, so
// the caller can answer "already approved by @bob at 10:02".
type ConflictError struct {
	Current Request
	// ExpiredNow is true when this very call found the request past its deadline
	// and expired it (in its own transaction). The sweeper will not report that
	// expiry, so the caller must: update the card, tell the requester.
	ExpiredNow bool
}

func (e *ConflictError) Error() string {
	c := e.Current
	switch c.State {
	case StateApproved, StateDenied, StateCancelled:
		return fmt.Sprintf("approvals: request %s is already %s (by %s at %s)",
			c.ID, c.State, c.DeciderID, c.DecidedAt.Format(time.RFC3339))
	case StateExpired:
		return fmt.Sprintf("approvals: request %s expired", c.ID)
	default:
		return fmt.Sprintf("approvals: request %s is %s", c.ID, c.State)
	}
}

// Is makes errors.Is(err, ErrConflict) true, and errors.Is(err, ErrExpired)
// true when the request is expired.
func (e *ConflictError) Is(target error) bool {
	return target == ErrConflict || (target == ErrExpired && e.Current.State == StateExpired)
}
