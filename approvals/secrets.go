package approvals

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SaveSecret stores a sealed (encrypted by the caller) value under name, such
// as the newest Partner Center refresh token, so a restart does not fall back
// to an older one. The store never sees plaintext. A value is replaced only by
// one issued at the same time or later: when two replicas refresh at once,
// the newer token stays.
func (s *Store) SaveSecret(ctx context.Context, name string, sealed []byte, issuedAt time.Time) error {
	if name == "" || len(sealed) == 0 || issuedAt.IsZero() {
		return errors.New("approvals: save secret: name, sealed value and issue time are required")
	}
	_, err := s.exec(ctx, `INSERT INTO secrets (name, sealed, issued_at, updated_at)
		VALUES (?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET sealed = excluded.sealed, issued_at = excluded.issued_at,
			updated_at = excluded.updated_at
		WHERE secrets.issued_at <= excluded.issued_at`,
		name, sealed, s.d.t(issuedAt), s.d.t(s.clock()))
	if err != nil {
		// The error names the secret, never its contents.
		return fmt.Errorf("approvals: save secret %q: %w", name, err)
	}
	return nil
}

// LoadSecret returns the sealed value stored under name and when it was
// issued, or ErrNotFound.
func (s *Store) LoadSecret(ctx context.Context, name string) ([]byte, time.Time, error) {
	var sealed []byte
	var issuedAt time.Time
	err := s.db.QueryRowContext(ctx, s.d.q("SELECT sealed, issued_at FROM secrets WHERE name = ?"), name).
		Scan(&sealed, timeCol{&issuedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, ErrNotFound
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("approvals: load secret %q: %w", name, err)
	}
	return sealed, issuedAt, nil
}
