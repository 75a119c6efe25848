package approvals

import (
	"context"
	"fmt"
)

// RequestsOf returns the newest requests made by requesterID, at most limit.
func (s *Store) RequestsOf(ctx context.Context, requesterID string, limit int) ([]Request, error) {
	out, err := s.listRequests(ctx, `WHERE requester_id = ? ORDER BY created_at DESC, id LIMIT ?`, requesterID, limit)
	if err != nil {
		return nil, fmt.Errorf("approvals: requests of %s: %w", requesterID, err)
	}
	return out, nil
}

// Pending returns every pending request, oldest first.
func (s *Store) Pending(ctx context.Context) ([]Request, error) {
	out, err := s.listRequests(ctx, `WHERE state = ? ORDER BY created_at, id`, string(StatePending))
	if err != nil {
		return nil, fmt.Errorf("approvals: pending: %w", err)
	}
	return out, nil
}

// DecidedBy returns the newest requests userID approved, denied or reviewed
// (not their own), at most limit.
func (s *Store) DecidedBy(ctx context.Context, userID string, limit int) ([]Request, error) {
	out, err := s.listRequests(ctx, `WHERE requester_id <> ? AND (decider_id = ? OR reviewed_by = ?
			OR id IN (SELECT request_id FROM request_approvals WHERE approver_id = ?))
		ORDER BY created_at DESC, id LIMIT ?`, userID, userID, userID, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("approvals: decided by %s: %w", userID, err)
	}
	return out, nil
}
