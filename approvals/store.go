package approvals

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"               // the "sqlite" database/sql driver, and its error codes
)

// Options configures a Store.
type Options struct {
	// Now is the clock (tests inject one to drive expiry); nil means time.Now.
	Now func() time.Time
	// Logger receives migration and sweep messages; nil discards them.
	Logger *slog.Logger
}

// Store is the sign-off record and audit trail in one database. It is safe
// for concurrent use, and several Stores (replicas) may share one PostgreSQL
// database or one SQLite file.
type Store struct {
	db  *sql.DB
	d   dialect
	now func() time.Time
	log *slog.Logger

	// sqliteWrite (a one-slot semaphore) queues this process's SQLite write
	// transactions in Go, where waiting honours ctx, rather than in SQLite's
	// busy handler, which polls with sleeps. Other processes on the same file
	// still wait in busy_timeout.
	sqliteWrite chan struct{}

	// announcer and expiryOwe say what audit rows and expiries owe in Slack
	// messages (see outbox.go); nil: nothing.
	announcer atomic.Pointer[Announcer]
	expiryOwe atomic.Pointer[Owe]
}

// Open connects to the database named by dsn and applies any pending
// migrations. dsn is "" (the SQLite file locksmith.db), a SQLite path or
// file: URI, or a postgres:// or postgresql:// URL.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	d, driverDSN, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open(d.driver, driverDSN)
	if err != nil {
		return nil, fmt.Errorf("approvals: open %s database: %w", d.name, err)
	}
	s := &Store{db: db, d: d, now: opts.Now, log: opts.Logger, sqliteWrite: make(chan struct{}, 1)}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := s.connect(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("approvals: connect to %s database: %w%s", d.name, err, d.explainOpenFailure(driverDSN))
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("%w%s", err, d.explainOpenFailure(driverDSN))
	}
	return s, nil
}

// sqliteBusyWait bounds how long Open retries a SQLite file that is busy
// being set up by another process; it matches the busy_timeout in sqliteParams.
const sqliteBusyWait = 10 * time.Second

// connect opens the first connection. On SQLite that connection switches the
// file to WAL, which needs an exclusive lock; when two processes create the
// same file at once SQLite answers SQLITE_BUSY straight away, without waiting
// in its busy handler, so retry here for as long as the handler would have.
func (s *Store) connect(ctx context.Context) error {
	deadline := time.Now().Add(sqliteBusyWait)
	wait := 5 * time.Millisecond
	for {
		err := s.db.PingContext(ctx)
		var se *sqlite.Error
		if err == nil || s.d.postgres() || !errors.As(err, &se) || se.Code()&0xff != sqliteBusy || time.Now().After(deadline) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// sqliteBusy is SQLITE_BUSY, the primary result code of "database is locked".
const sqliteBusy = 5

// Close closes the database connections.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks that the database answers (for /readyz).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("approvals: ping: %w", err)
	}
	return nil
}

// Dialect names the backend: "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.d.name }

// clock returns the current time as it is stored.
func (s *Store) clock() time.Time { return normTime(s.now()) }

// auditLockKey is the PostgreSQL advisory lock that serialises every
// transaction that appends to the audit trail, so replicas extend one chain
// (each reads the last row and inserts the next under the lock).
const auditLockKey int64 = 0x6c6b736d61756474 // "lksmaudt"

// exec runs one write statement outside writeTx, in its own transaction at
// the isolation the store relies on (see dialect.txOptions): a bare statement
// would run at the server's default, and under REPEATABLE READ or SERIALIZABLE
// an UPDATE racing a transition fails with a serialization error instead of
// waiting and applying to the row as it then is.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	tx, err := s.db.BeginTx(ctx, s.d.txOptions())
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() // a no-op after Commit
	res, err := tx.ExecContext(ctx, s.d.q(query), args...)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	return res, nil
}

// writeTx runs fn in a transaction that may append to the audit trail, and
// commits it if fn returns nil. On PostgreSQL the transaction first takes the
// audit advisory lock; on SQLite it begins IMMEDIATE (see sqliteParams), which
// takes the database write lock. Either way, transactions that append run one
// at a time, and always take that lock before any row lock, so they cannot
// deadlock with each other.
func (s *Store) writeTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if !s.d.postgres() {
		select {
		case s.sqliteWrite <- struct{}{}:
			defer func() { <-s.sqliteWrite }()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	tx, err := s.db.BeginTx(ctx, s.d.txOptions())
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() // a no-op after Commit
	if s.d.postgres() {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", auditLockKey); err != nil {
			return fmt.Errorf("audit lock: %w", err)
		}
	}
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
