package approvals

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Nudge is a message about a pending request that must go out once: a
// reminder to its approvers, or an escalation to more people.
type Nudge string

const (
	NudgeRemind   Nudge = "remind"
	NudgeEscalate Nudge = "escalate"
)

// Waiting returns the pending requests not yet both reminded and escalated,
// oldest first: the candidates for the sweeper's nudges.
func (s *Store) Waiting(ctx context.Context) ([]Request, error) {
	out, err := s.listRequests(ctx, `WHERE state = ? AND (reminded_at IS NULL OR escalated_at IS NULL) ORDER BY created_at, id`, string(StatePending))
	if err != nil {
		return nil, fmt.Errorf("approvals: waiting: %w", err)
	}
	return out, nil
}

// ClaimNudge records that nudge n of request id is being sent, with its audit
// row, if the request is still pending and unexpired and n was not claimed
// before. ok is false when someone else (another replica) claimed it, or the
// request was decided or expired meanwhile: then nothing must be sent. The
// nudge itself is owed with the claim (owe), so it is sent exactly once.
func (s *Store) ClaimNudge(ctx context.Context, id string, n Nudge, detail string, owe ...Owe) (r Request, ok bool, err error) {
	col, outcome := "reminded_at", OutcomeReminded
	if n == NudgeEscalate {
		col, outcome = "escalated_at", OutcomeEscalated
	} else if n != NudgeRemind {
		return Request{}, false, fmt.Errorf("approvals: claim nudge: unknown nudge %q", n)
	}
	now := s.clock()
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		got, err := scanRequest(tx.QueryRowContext(ctx, s.d.q(`UPDATE requests SET `+col+` = ?
			WHERE id = ? AND state = ? AND `+col+` IS NULL AND expires_at > ?
			RETURNING `+requestCols), s.d.t(now), id, string(StatePending), s.d.t(now)))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		r, ok = got, true
		if _, err = s.appendTx(ctx, tx, requestEvent(got, SystemActor, SystemActor, outcome, detail)); err != nil {
			return err
		}
		return s.oweTx(ctx, tx, got, owe)
	})
	if err != nil {
		return Request{}, false, fmt.Errorf("approvals: claim %s of %s: %w", n, id, err)
	}
	return r, ok, nil
}
