package approvals

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrReviewed: the break-glass reset was already acknowledged (the error is a
// *ReviewedError naming by whom).
var ErrReviewed = errors.New("approvals: break-glass reset already reviewed")

// ReviewedError says who acknowledged a break-glass reset first.
type ReviewedError struct{ Current Request }

func (e *ReviewedError) Error() string {
	return fmt.Sprintf("approvals: break-glass reset %s already reviewed by %s", e.Current.ID, e.Current.ReviewedBy)
}

func (e *ReviewedError) Is(target error) bool { return target == ErrReviewed }

// CreateBreakGlass records a break-glass request: approved at once by its own
// requester (nobody else approved it), usable until useBy, marked for review.
// The audit row "break_glass" (with detail, e.g. the reason) is written in
// the same transaction. The reset itself then goes through ClaimReset like any
// other, so its intent is durable before Partner Center is called.
func (s *Store) CreateBreakGlass(ctx context.Context, r Request, useBy time.Time, detail string, owe ...Owe) (Request, error) {
	if useBy.IsZero() {
		return Request{}, errors.New("approvals: create break-glass: useBy is required")
	}
	created, err := s.create(ctx, r, func(tx *sql.Tx, out *Request, now time.Time) error {
		got, err := scanRequest(tx.QueryRowContext(ctx, s.d.q(`UPDATE requests SET state = ?, version = version + 1,
				break_glass = 1, decider_id = requester_id, decider_name = requester_name, decided_at = ?, use_by = ?
			WHERE id = ? AND state = ? RETURNING `+requestCols), string(StateApproved), s.d.t(now), s.d.t(useBy), out.ID, string(StatePending)))
		if err != nil {
			return err
		}
		*out = got
		if _, err = s.appendTx(ctx, tx, requestEvent(got, got.RequesterID, got.RequesterName, OutcomeBreakGlass, detail)); err != nil {
			return err
		}
		return s.oweTx(ctx, tx, got, owe)
	})
	if err != nil {
		return Request{}, fmt.Errorf("approvals: create break-glass: %w", err)
	}
	return created, nil
}

// AcknowledgeReview records that reviewerID has reviewed a break-glass reset:
// once (a second acknowledgement gets a *ReviewedError), never by its own
// requester (ErrSelfDecision), audited as "reviewed".
func (s *Store) AcknowledgeReview(ctx context.Context, id, reviewerID, reviewerName string, owe ...Owe) (Request, error) {
	now := s.clock()
	var out Request
	var refused error
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		got, err := scanRequest(tx.QueryRowContext(ctx, s.d.q(`UPDATE requests SET version = version + 1,
				reviewed_by = ?, reviewed_by_name = ?, reviewed_at = ?
			WHERE id = ? AND break_glass = 1 AND reviewed_at IS NULL AND requester_id <> ?
			RETURNING `+requestCols), reviewerID, reviewerName, s.d.t(now), id, reviewerID))
		if errors.Is(err, sql.ErrNoRows) {
			cur, gerr := getRequest(ctx, tx, s.d, id)
			switch {
			case gerr != nil:
				refused = gerr
				if !errors.Is(gerr, ErrNotFound) {
					return gerr
				}
			case !cur.BreakGlass:
				refused = fmt.Errorf("approvals: request %s is not a break-glass reset", id)
			case !cur.ReviewedAt.IsZero():
				refused = &ReviewedError{Current: cur}
			default:
				refused = ErrSelfDecision
			}
			return nil
		}
		if err != nil {
			return err
		}
		out = got
		if _, err = s.appendTx(ctx, tx, requestEvent(got, reviewerID, reviewerName, OutcomeReviewed, "")); err != nil {
			return err
		}
		return s.oweTx(ctx, tx, got, owe)
	})
	if err != nil {
		return Request{}, fmt.Errorf("approvals: acknowledge review of %s: %w", id, err)
	}
	if refused != nil {
		return Request{}, refused
	}
	return out, nil
}

// Unreviewed returns the break-glass resets nobody has acknowledged yet,
// oldest first.
func (s *Store) Unreviewed(ctx context.Context) ([]Request, error) {
	out, err := s.listRequests(ctx, `WHERE break_glass = 1 AND reviewed_at IS NULL ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("approvals: unreviewed: %w", err)
	}
	return out, nil
}

// ClaimReviewReminder claims the next reminder for an unreviewed break-glass
// reset, due every interval after it was made: ok is true for exactly one
// caller per interval, across replicas. The audit row and the reminder itself
// (owe) are written with it.
func (s *Store) ClaimReviewReminder(ctx context.Context, id string, every time.Duration, owe ...Owe) (r Request, ok bool, err error) {
	now := s.clock()
	due := now.Add(-every)
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		got, err := scanRequest(tx.QueryRowContext(ctx, s.d.q(`UPDATE requests SET review_reminded_at = ?
			WHERE id = ? AND break_glass = 1 AND reviewed_at IS NULL AND created_at <= ?
			  AND (review_reminded_at IS NULL OR review_reminded_at <= ?)
			RETURNING `+requestCols), s.d.t(now), id, s.d.t(due), s.d.t(due)))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		r, ok = got, true
		if _, err = s.appendTx(ctx, tx, requestEvent(got, SystemActor, SystemActor, OutcomeReviewReminded, fmt.Sprintf("not reviewed after %s", now.Sub(got.CreatedAt).Round(time.Minute)))); err != nil {
			return err
		}
		return s.oweTx(ctx, tx, got, owe)
	})
	if err != nil {
		return Request{}, false, fmt.Errorf("approvals: claim review reminder of %s: %w", id, err)
	}
	return r, ok, nil
}
