package approvals

import (
	"context"
	"fmt"
	"time"
)

// ClaimKeep is how long a slash-command claim is kept. Slack redelivers an
// envelope within minutes (three attempts); a day is far beyond that and keeps
// the table to one day of commands.
const ClaimKeep = 24 * time.Hour

// ClaimInvocation records that the slash command identified by key (its
// trigger_id) is being acted on, and reports whether this call made the claim.
// false means it was claimed before, by this process or another replica
// sharing the database, before or after a restart: the caller is looking at a
// redelivery and must not act on it again. The insert is one statement that
// either adds the row or finds it there, so two deliveries racing on two
// replicas cannot both win. Expired claims are removed on the way.
func (s *Store) ClaimInvocation(ctx context.Context, key, envelopeID, correlationID string) (bool, error) {
	if key == "" {
		return false, fmt.Errorf("approvals: claim invocation: no key")
	}
	if !s.d.postgres() {
		// Queue this process's SQLite writers in Go (see writeTx).
		select {
		case s.sqliteWrite <- struct{}{}:
			defer func() { <-s.sqliteWrite }()
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	now := s.clock()
	if _, err := s.db.ExecContext(ctx, s.d.q(`DELETE FROM slash_claims WHERE expires_at < ?`), s.d.t(now)); err != nil {
		return false, fmt.Errorf("approvals: claim invocation: remove expired: %w", err)
	}
	res, err := s.db.ExecContext(ctx, s.d.q(`INSERT INTO slash_claims (claim_key, envelope_id, correlation_id, claimed_at, expires_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (claim_key) DO NOTHING`),
		key, envelopeID, correlationID, s.d.t(now), s.d.t(now.Add(ClaimKeep)))
	if err != nil {
		return false, fmt.Errorf("approvals: claim invocation: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("approvals: claim invocation: %w", err)
	}
	return n == 1, nil
}
