package approvals

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SystemActor is the audit actor for what locksmith does by itself (expiry,
// reconciling a reset interrupted by a crash).
const SystemActor = "locksmith"

// OutcomeUnknownDetail is the Detail of a reset interrupted by a stop: the
// Partner Center call may or may not have happened.
const OutcomeUnknownDetail = "outcome unknown: locksmith stopped during the reset"

// transition describes one state change for (*Store).transition.
type transition struct {
	op       string // for error messages: "approve", "claim reset", …
	from, to State
	now      time.Time // the time of the change (zero: read the clock)
	// set is extra assignments ("decider_id = ?, …") with their arguments.
	set     string
	setArgs []any
	// guard is the rule the UPDATE also enforces ("requester_id <> ?"), with
	// its arguments; rule explains a row the guard rejected.
	guard     string
	guardArgs []any
	rule      func(cur Request) error
	// deadline, if set, is the column that must lie in the future: a request
	// past it is expired in the same transaction instead.
	deadline string
	// event builds the audit row appended with the change.
	event func(r Request) Event
	// owe is what the change owes in Slack messages, written with it.
	owe []Owe
}

// transition makes one state change: a single conditional UPDATE … WHERE id = ?
// AND state = ? AND <rule> AND <deadline> > now, bumping version, plus its
// audit row, in one transaction. When the UPDATE matches nothing it re-reads
// the row in the same transaction to say why: ErrNotFound, a *ConflictError
// (the state moved on; or the deadline passed, in which case the request is
// expired right here and the conflict names expired), or the rule's error.
func (s *Store) transition(ctx context.Context, id string, tr transition) (Request, error) {
	if !CanTransition(tr.from, tr.to) {
		return Request{}, fmt.Errorf("approvals: %s: %s → %s is not a transition", tr.op, tr.from, tr.to)
	}
	now := tr.now
	if now.IsZero() {
		now = s.clock()
	}
	query := "UPDATE requests SET state = ?, version = version + 1"
	args := []any{string(tr.to)}
	if tr.set != "" {
		query += ", " + tr.set
		args = append(args, tr.setArgs...)
	}
	query += " WHERE id = ? AND state = ?"
	args = append(args, id, string(tr.from))
	if tr.guard != "" {
		query += " AND " + tr.guard
		args = append(args, tr.guardArgs...)
	}
	if tr.deadline != "" {
		query += " AND " + tr.deadline + " > ?"
		args = append(args, s.d.t(now))
	}
	query += " RETURNING " + requestCols

	var out Request
	var refused error // the answer when the UPDATE matched nothing; the tx still commits (it may have expired the request)
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		r, err := scanRequest(tx.QueryRowContext(ctx, s.d.q(query), args...))
		if err == nil {
			if r.Approvals, err = approvalsOf(ctx, tx, s.d, id); err != nil {
				return err
			}
			out = r
			if _, err = s.appendTx(ctx, tx, tr.event(r)); err != nil {
				return err
			}
			return s.oweTx(ctx, tx, r, tr.owe)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		cur, err := getRequest(ctx, tx, s.d, id)
		if errors.Is(err, ErrNotFound) {
			refused = ErrNotFound
			return nil
		} else if err != nil {
			return err
		}
		if cur.State != tr.from {
			refused = &ConflictError{Current: cur}
			return nil
		}
		if tr.deadline != "" && !deadlineOf(cur, cur.State).After(now) {
			ce, err := s.expireFound(ctx, tx, cur, now)
			if err != nil {
				return err
			}
			refused = ce
			return nil
		}
		if tr.rule != nil {
			if refused = tr.rule(cur); refused != nil {
				return nil
			}
		}
		return fmt.Errorf("request %s: update matched no row, yet the row allows it", id)
	})
	if err != nil {
		return Request{}, fmt.Errorf("approvals: %s %s: %w", tr.op, id, err)
	}
	if refused != nil {
		return Request{}, refused
	}
	return out, nil
}

// expireFound expires cur, which the caller read in tx past its deadline,
// and returns the conflict that reports it (ExpiredNow: the caller must tell
// people, the sweeper will not).
func (s *Store) expireFound(ctx context.Context, tx *sql.Tx, cur Request, now time.Time) (*ConflictError, error) {
	exp, ok, err := s.expireTx(ctx, tx, cur, now)
	if err != nil {
		return nil, err
	}
	if !ok { // cannot happen: we hold the write lock and just read the row
		return nil, fmt.Errorf("request %s could not be expired", cur.ID)
	}
	return &ConflictError{Current: exp, ExpiredNow: true}, nil
}

// deadlineOf is the time by which a request in state st must move on, or the
// zero time when st has none.
func deadlineOf(r Request, st State) time.Time {
	switch st {
	case StatePending:
		return r.ExpiresAt
	case StateApproved:
		return r.UseBy
	}
	return time.Time{}
}

// Approve records approverID's approval of a pending request. The approval
// that brings the count to ApprovalsRequired moves the request to approved,
// sets UseBy (the time by which the requester must claim the reset) and
// names that approver as the decider; earlier ones leave it pending (audited
// as approval_recorded, "1 of 2"). All of it happens in one transaction: the
// approval row (unique per request and person), the conditional UPDATE of the
// count and the state, and the audit row, so of any number of concurrent
// clicks exactly one makes the transition and nobody counts twice.
//
// It returns ErrSelfDecision when the approver is the requester (guarantee
// 3), ErrAlreadyApproved when this person has approved already, a
// *ConflictError when the request is no longer pending or has expired (it is
// expired in the same transaction), or ErrNotFound.
func (s *Store) Approve(ctx context.Context, id, approverID, approverName string, useBy time.Time, owe ...Owe) (Request, error) {
	if approverID == "" {
		return Request{}, errors.New("approvals: approve: approver ID is required")
	}
	if useBy.IsZero() {
		return Request{}, errors.New("approvals: approve: useBy is required")
	}
	now := s.clock()
	var out Request
	var refused error
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		cur, err := getRequest(ctx, tx, s.d, id)
		if errors.Is(err, ErrNotFound) {
			refused = ErrNotFound
			return nil
		} else if err != nil {
			return err
		}
		switch {
		case cur.State != StatePending:
			refused = &ConflictError{Current: cur}
			return nil
		case cur.RequesterID == approverID:
			refused = ErrSelfDecision
			return nil
		case !cur.ExpiresAt.After(now):
			ce, err := s.expireFound(ctx, tx, cur, now)
			if err != nil {
				return err
			}
			refused = ce
			return nil
		}
		res, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO request_approvals (request_id, approver_id, approver_name, approved_at, ordinal)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (request_id, approver_id) DO NOTHING`), id, approverID, approverName, s.d.t(now), cur.ApprovalsCount+1)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			refused = ErrAlreadyApproved
			return nil
		}
		// The row lock (PostgreSQL) or the write lock (SQLite) is held from here
		// on; the WHERE clause re-states every rule checked above, so even a
		// writer outside writeTx could not slip a second transition in.
		r, err := scanRequest(tx.QueryRowContext(ctx, s.d.q(`UPDATE requests SET
				version = version + 1,
				approvals_count = approvals_count + 1,
				state = CASE WHEN approvals_count + 1 >= approvals_required THEN ? ELSE state END,
				decider_id = CASE WHEN approvals_count + 1 >= approvals_required THEN ? ELSE decider_id END,
				decider_name = CASE WHEN approvals_count + 1 >= approvals_required THEN ? ELSE decider_name END,
				decided_at = CASE WHEN approvals_count + 1 >= approvals_required THEN ? ELSE decided_at END,
				use_by = CASE WHEN approvals_count + 1 >= approvals_required THEN ? ELSE use_by END
			WHERE id = ? AND state = ? AND requester_id <> ? AND expires_at > ?
			RETURNING `+requestCols),
			string(StateApproved), approverID, approverName, s.d.t(now), s.d.t(useBy),
			id, string(StatePending), approverID, s.d.t(now)))
		if err != nil {
			return err // sql.ErrNoRows cannot happen under the lock: fail rather than guess
		}
		if r.Approvals, err = approvalsOf(ctx, tx, s.d, id); err != nil {
			return err
		}
		out = r
		outcome, detail := OutcomeApprovalRecorded, fmt.Sprintf("%d of %d approvals", r.ApprovalsCount, r.ApprovalsRequired)
		if r.State == StateApproved {
			outcome = OutcomeApproved
			if r.ApprovalsRequired == 1 {
				detail = ""
			}
		}
		if _, err = s.appendTx(ctx, tx, requestEvent(r, approverID, approverName, outcome, detail)); err != nil {
			return err
		}
		return s.oweTx(ctx, tx, r, owe)
	})
	if err != nil {
		return Request{}, fmt.Errorf("approvals: approve %s: %w", id, err)
	}
	if refused != nil {
		return Request{}, refused
	}
	return out, nil
}

type rowsQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// approvalsOf lists a request's approvals, oldest first.
func approvalsOf(ctx context.Context, q rowsQuerier, d dialect, id string) ([]Approval, error) {
	rows, err := q.QueryContext(ctx, d.q(`SELECT approver_id, approver_name, approved_at FROM request_approvals
		WHERE request_id = ? ORDER BY ordinal`), id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Approval
	for rows.Next() {
		var a Approval
		if err := rows.Scan(&a.ApproverID, &a.ApproverName, timeCol{&a.At}); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Deny moves a pending request to denied (final); detail is the reason given,
// if any. Errors as for Approve.
func (s *Store) Deny(ctx context.Context, id, deciderID, deciderName, detail string, owe ...Owe) (Request, error) {
	if deciderID == "" {
		return Request{}, errors.New("approvals: deny: decider ID is required")
	}
	now := s.clock()
	return s.transition(ctx, id, transition{
		op: "deny", from: StatePending, to: StateDenied, now: now,
		set:       "decider_id = ?, decider_name = ?, decided_at = ?, finished_at = ?, detail = ?",
		setArgs:   []any{deciderID, deciderName, s.d.t(now), s.d.t(now), detail},
		guard:     "requester_id <> ?",
		guardArgs: []any{deciderID},
		rule:      selfDecision(deciderID),
		deadline:  "expires_at",
		event: func(r Request) Event {
			return requestEvent(r, deciderID, deciderName, OutcomeDenied, detail)
		},
		owe: owe,
	})
}

func selfDecision(deciderID string) func(Request) error {
	return func(cur Request) error {
		if cur.RequesterID == deciderID {
			return ErrSelfDecision
		}
		return nil
	}
}

func onlyRequester(userID string) func(Request) error {
	return func(cur Request) error {
		if cur.RequesterID != userID {
			return ErrNotRequester
		}
		return nil
	}
}

// Cancel lets the requester withdraw a pending request (final). It returns
// ErrNotRequester for anyone else, a *ConflictError when the request is no
// longer pending or has expired, or ErrNotFound.
func (s *Store) Cancel(ctx context.Context, id, requesterID string, owe ...Owe) (Request, error) {
	now := s.clock()
	return s.transition(ctx, id, transition{
		op: "cancel", from: StatePending, to: StateCancelled, now: now,
		set:       "decider_id = requester_id, decider_name = requester_name, decided_at = ?, finished_at = ?",
		setArgs:   []any{s.d.t(now), s.d.t(now)},
		guard:     "requester_id = ?",
		guardArgs: []any{requesterID},
		rule:      onlyRequester(requesterID),
		deadline:  "expires_at",
		event: func(r Request) Event {
			return requestEvent(r, r.RequesterID, r.RequesterName, OutcomeCancelled, "")
		},
		owe: owe,
	})
}

// ClaimReset moves an approved request to resetting: the requester clicked
// "Reset password now". Only the requester may (ErrNotRequester), only before
// UseBy (past it the request is expired in the same transaction and the
// caller gets a *ConflictError naming expired), and only once (a second click
// gets a *ConflictError naming resetting). The audit row "reset_intent" is
// written in the same transaction: when ClaimReset returns nil the intent is
// durable, and only then may Partner Center be called (guarantee 2).
// correlationID is the click's; the reset's later audit rows carry it too.
func (s *Store) ClaimReset(ctx context.Context, id, requesterID, correlationID string, owe ...Owe) (Request, error) {
	now := s.clock()
	return s.transition(ctx, id, transition{
		op: "claim reset", from: StateApproved, to: StateResetting, now: now,
		// The database's clock, not this replica's: StaleResetting and
		// MarkOutcomeUnknown, maybe on another replica, compare with it.
		set:       "claimed_at = " + s.d.dbNow() + ", reset_correlation_id = ?",
		setArgs:   []any{correlationID},
		guard:     "requester_id = ?",
		guardArgs: []any{requesterID},
		rule:      onlyRequester(requesterID),
		deadline:  "use_by",
		event: func(r Request) Event {
			return requestEvent(r, r.RequesterID, r.RequesterName, OutcomeResetIntent, "")
		},
		owe: owe,
	})
}

// FinishReset records the outcome of the Partner Center call: resetting →
// done or failed, with the audit row reset_done or reset_failed. detail says
// what happened (never the password). A *ConflictError means the request was
// not resetting, e.g. the reconciler already marked its outcome unknown.
func (s *Store) FinishReset(ctx context.Context, id string, outcome State, detail string, owe ...Owe) (Request, error) {
	var ev Outcome
	switch outcome {
	case StateDone:
		ev = OutcomeResetDone
	case StateFailed:
		ev = OutcomeResetFailed
	default:
		return Request{}, fmt.Errorf("approvals: finish reset: outcome must be %s or %s, not %q", StateDone, StateFailed, outcome)
	}
	now := s.clock()
	return s.transition(ctx, id, transition{
		op: "finish reset", from: StateResetting, to: outcome, now: now,
		set:     "finished_at = ?, detail = ?",
		setArgs: []any{s.d.t(now), detail},
		event: func(r Request) Event {
			return requestEvent(r, r.RequesterID, r.RequesterName, ev, detail)
		},
		owe: owe,
	})
}

// ReleaseReset returns a resetting request to approved after a transient
// failure (Partner Center throttled or unavailable; nothing was changed), so
// the requester may click again until UseBy. Audited as reset_released.
func (s *Store) ReleaseReset(ctx context.Context, id, detail string, owe ...Owe) (Request, error) {
	return s.transition(ctx, id, transition{
		op: "release reset", from: StateResetting, to: StateApproved,
		set:     "claimed_at = NULL, detail = ?",
		setArgs: []any{detail},
		event: func(r Request) Event {
			return requestEvent(r, r.RequesterID, r.RequesterName, OutcomeResetReleased, detail)
		},
		owe: owe,
	})
}

// MarkOutcomeUnknown ends a request left in resetting by a stop (see
// StaleResetting): resetting → failed with OutcomeUnknownDetail, audited as
// reset_unknown by locksmith. Conditional like every transition: only a claim
// older than staleAfter by the database's clock is marked (ErrNotStale
// otherwise, so a replica with a fast clock cannot declare a live reset lost),
// and a reset that finishes meanwhile wins (a *ConflictError).
func (s *Store) MarkOutcomeUnknown(ctx context.Context, id string, staleAfter time.Duration, owe ...Owe) (Request, error) {
	now := s.clock()
	cutoff, cutoffArg := s.d.dbNowMinus(staleAfter)
	return s.transition(ctx, id, transition{
		op: "mark outcome unknown", from: StateResetting, to: StateFailed, now: now,
		set:       "finished_at = ?, detail = ?",
		setArgs:   []any{s.d.t(now), OutcomeUnknownDetail},
		guard:     "claimed_at < " + cutoff,
		guardArgs: []any{cutoffArg},
		rule:      func(Request) error { return ErrNotStale },
		event: func(r Request) Event {
			return requestEvent(r, SystemActor, SystemActor, OutcomeResetUnknown, OutcomeUnknownDetail)
		},
		owe: owe,
	})
}

// ExpireDue expires every pending request past ExpiresAt and every approved
// request past UseBy, each by its own conditional update and audit row. It
// returns only the requests this call expired: when two replicas sweep at
// once, each expiry is reported (and notified) by exactly one of them.
func (s *Store) ExpireDue(ctx context.Context) ([]Request, error) {
	now := s.clock()
	due, err := s.listRequests(ctx, `WHERE (state = ? AND expires_at <= ?) OR (state = ? AND use_by <= ?) ORDER BY created_at, id`,
		string(StatePending), s.d.t(now), string(StateApproved), s.d.t(now))
	if err != nil {
		return nil, fmt.Errorf("approvals: expire due: %w", err)
	}
	// One row that cannot be expired must not keep the others pending: carry on,
	// and return what was expired together with what failed, so the caller can
	// still report every expiry that happened.
	var (
		out  []Request
		errs []error
	)
	for _, r := range due {
		var exp Request
		var ok bool
		err := s.writeTx(ctx, func(tx *sql.Tx) error {
			var err error
			exp, ok, err = s.expireTx(ctx, tx, r, now)
			return err
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("approvals: expire %s: %w", r.ID, err))
			continue
		}
		if ok {
			s.log.Info("request expired", "request_id", exp.ID, "was", r.State, "correlation_id", exp.CorrelationID)
			out = append(out, exp)
		}
	}
	return out, errors.Join(errs...)
}

// expireTx expires r if it is still in the state it was read in and past that
// state's deadline at now, appending the audit row. ok is false when someone
// else moved it first.
func (s *Store) expireTx(ctx context.Context, tx *sql.Tx, r Request, now time.Time) (Request, bool, error) {
	var col, detail string
	switch r.State {
	case StatePending:
		col, detail = "expires_at", "not decided before it expired"
	case StateApproved:
		col, detail = "use_by", "approved, but the reset was not claimed in time"
	default:
		return Request{}, false, nil
	}
	exp, err := scanRequest(tx.QueryRowContext(ctx, s.d.q(`UPDATE requests
		SET state = ?, version = version + 1, finished_at = ?, detail = ?
		WHERE id = ? AND state = ? AND `+col+` <= ?
		RETURNING `+requestCols),
		string(StateExpired), s.d.t(now), detail, r.ID, string(r.State), s.d.t(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return Request{}, false, nil
	}
	if err != nil {
		return Request{}, false, err
	}
	if _, err := s.appendTx(ctx, tx, requestEvent(exp, SystemActor, SystemActor, OutcomeExpired, detail)); err != nil {
		return Request{}, false, err
	}
	if err := s.expiryOweTx(ctx, tx, exp); err != nil {
		return Request{}, false, err
	}
	return exp, true, nil
}

// requestEvent is the audit row for a change to r. Rows from the reset phase
// carry the correlation ID of the click that claimed it.
func requestEvent(r Request, actorID, actorName string, o Outcome, detail string) Event {
	cid := r.CorrelationID
	if r.ResetCorrelationID != "" {
		cid = r.ResetCorrelationID
	}
	return Event{
		ActorID: actorID, ActorName: actorName,
		TenantID: r.TenantID, CustomerDomain: r.CustomerDomain,
		TargetObjectID: r.TargetObjectID, TargetUPN: r.TargetUPN,
		RequestID: r.ID, CorrelationID: cid,
		Outcome: o, Detail: detail,
	}
}
