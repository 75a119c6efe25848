package approvals

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Admission is the answer of Admit.
type Admission struct {
	// Allowed is true when the attempt was within the limit; it was counted.
	Allowed bool
	// Count is how many attempts the window held before this one.
	Count int
	// NoticeDue is true, on a refusal, for the first refusal of this key in a
	// window: the caller reports that one (audit row, audit channel) and only
	// logs the rest, so a flood cannot flood the trail.
	NoticeDue bool
}

// Admit counts one attempt against key if fewer than limit attempts were
// counted in the window ending now, and says whether it was allowed. Count and
// insert happen in one write transaction (serialised across replicas like
// every audited write), so two replicas can never both admit the last slot.
// Refused attempts are not counted: a person who hit the limit gets back in as
// their earlier attempts age out of the window.
func (s *Store) Admit(ctx context.Context, key string, limit int, window time.Duration) (Admission, error) {
	if limit <= 0 || window <= 0 {
		return Admission{}, errors.New("approvals: admit: limit and window must be positive")
	}
	now := s.clock()
	since := now.Add(-window)
	var out Admission
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, s.d.q(`SELECT COUNT(*) FROM velocity WHERE key = ? AND at > ?`),
			key, s.d.t(since)).Scan(&out.Count); err != nil {
			return err
		}
		if out.Count < limit {
			out.Allowed = true
			_, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO velocity (id, key, at) VALUES (?, ?, ?)`), newID(), key, s.d.t(now))
			return err
		}
		// The first refusal of a window claims the notice; the conditional
		// upsert makes that exactly one claim per window across replicas.
		res, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO velocity_notices (key, noticed_at) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET noticed_at = excluded.noticed_at
			WHERE velocity_notices.noticed_at <= ?`), key, s.d.t(now), s.d.t(since))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		out.NoticeDue = n > 0
		return err
	})
	if err != nil {
		return Admission{}, fmt.Errorf("approvals: admit %s: %w", key, err)
	}
	return out, nil
}

// PruneVelocity deletes counted attempts older than before: they can no
// longer fall in any window.
func (s *Store) PruneVelocity(ctx context.Context, before time.Time) error {
	if _, err := s.db.ExecContext(ctx, s.d.q(`DELETE FROM velocity WHERE at <= ?`), s.d.t(before)); err != nil {
		return fmt.Errorf("approvals: prune velocity: %w", err)
	}
	return nil
}
