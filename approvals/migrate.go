package approvals

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// Migrations are NNNN_name.sql (both backends; {{TIME}}, {{BYTES}} and
// {{SERIAL}}, an auto-numbered primary key, are filled per dialect) or
// NNNN_name.<dialect>.sql where the SQL cannot be shared. They are applied in order at Open, each in its own transaction, and
// recorded in schema_migrations by "NNNN_name".
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	num     int
	version string // "0001_init"
	body    string
}

// migrationsFor returns the migrations that apply to d, in order.
func migrationsFor(d dialect) ([]migration, error) {
	files, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	byNum := map[int]migration{}
	for _, f := range files {
		base := strings.TrimSuffix(strings.TrimPrefix(f, "migrations/"), ".sql")
		version := base
		if stem, dial, ok := strings.Cut(base, "."); ok {
			if dial != sqliteDialect.name && dial != postgresDialect.name {
				return nil, fmt.Errorf("approvals: migration %s: unknown dialect %q", f, dial)
			}
			if dial != d.name {
				continue
			}
			version = stem
		}
		numText, _, _ := strings.Cut(version, "_")
		num, err := strconv.Atoi(numText)
		if err != nil {
			return nil, fmt.Errorf("approvals: migration %s: name must start with a number", f)
		}
		if prev, dup := byNum[num]; dup {
			return nil, fmt.Errorf("approvals: migrations %s and %s share number %d", prev.version, version, num)
		}
		body, err := migrationFiles.ReadFile(f)
		if err != nil {
			return nil, err
		}
		byNum[num] = migration{num: num, version: version, body: d.schemaTypes().Replace(string(body))}
	}
	out := make([]migration, 0, len(byNum))
	for _, m := range byNum {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].num < out[j].num })
	return out, nil
}

// migrationLockKey is the PostgreSQL advisory lock held while migrating, so
// two replicas starting together do not both try to create the tables.
const migrationLockKey int64 = 0x6c6b736d6d696772 // "lksmmigr"

// migrate applies every migration not yet recorded. On PostgreSQL it holds a
// session advisory lock on one connection throughout; on SQLite each
// transaction begins IMMEDIATE, so the check and the apply happen under the
// write lock and a second process simply finds the work done.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrationsFor(s.d)
	if err != nil {
		return err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("approvals: migrate: %w", err)
	}
	defer conn.Close()

	if s.d.postgres() {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLockKey); err != nil {
			return fmt.Errorf("approvals: migrate: lock: %w", err)
		}
		defer func() {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLockKey)
		}()
	}
	create := s.d.schemaTypes().Replace(
		"CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at {{TIME}} NOT NULL)")
	if _, err := conn.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("approvals: migrate: create schema_migrations: %w", err)
	}
	known := map[string]bool{}
	for _, m := range ms {
		known[m.version] = true
		if err := s.apply(ctx, conn, m); err != nil {
			return err
		}
	}
	return s.warnUnknownMigrations(ctx, conn, known)
}

func (s *Store) apply(ctx context.Context, conn *sql.Conn, m migration) error {
	tx, err := conn.BeginTx(ctx, s.d.txOptions())
	if err != nil {
		return fmt.Errorf("approvals: migration %s: %w", m.version, err)
	}
	defer tx.Rollback() // a no-op after Commit
	var one int
	err = tx.QueryRowContext(ctx, s.d.q("SELECT 1 FROM schema_migrations WHERE version = ?"), m.version).Scan(&one)
	switch {
	case err == nil:
		return nil // applied already, here or by another process
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("approvals: migration %s: %w", m.version, err)
	}
	if _, err := tx.ExecContext(ctx, m.body); err != nil {
		return fmt.Errorf("approvals: migration %s: %w", m.version, err)
	}
	if _, err := tx.ExecContext(ctx, s.d.q("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)"),
		m.version, s.d.t(s.now())); err != nil {
		return fmt.Errorf("approvals: migration %s: record: %w", m.version, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("approvals: migration %s: commit: %w", m.version, err)
	}
	s.log.Info("applied database migration", "version", m.version, "dialect", s.d.name)
	return nil
}

// warnUnknownMigrations logs versions this binary does not know: a newer
// locksmith has migrated the database, and this older one may misbehave.
func (s *Store) warnUnknownMigrations(ctx context.Context, conn *sql.Conn, known map[string]bool) error {
	rows, err := conn.QueryContext(ctx, "SELECT version FROM schema_migrations ORDER BY version")
	if err != nil {
		return fmt.Errorf("approvals: migrate: list applied: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return fmt.Errorf("approvals: migrate: list applied: %w", err)
		}
		if !known[v] {
			s.log.Warn("database has a migration this locksmith does not know; is a newer version running?", "version", v)
		}
	}
	return rows.Err()
}
