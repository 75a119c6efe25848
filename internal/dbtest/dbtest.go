// Package dbtest gives each test its own real database: a SQLite file in the
// test's temporary directory, or a fresh PostgreSQL database created for the
// test and dropped when it ends. ForEach runs one test body on both, so the
// store is held to the same behaviour on each backend.
//
// dbtest imports no locksmith package: it is a witness, not a collaborator.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// EnvPostgresURL names the variable that points the tests at a PostgreSQL
// server, e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable.
// The user must be allowed to create and drop databases.
const EnvPostgresURL = "LOCKSMITH_TEST_POSTGRES_URL"

// skipReason is what a test without PostgreSQL says, so a green run that
// skipped half the backends is visible in -v output.
const skipReason = "LOCKSMITH_TEST_POSTGRES_URL not set: skipping PostgreSQL tests (.ci/run sets it)"

// createLockKey serialises CREATE DATABASE across test processes: go test runs
// packages in parallel, and PostgreSQL refuses to copy template1 while another
// session is creating a database from it ("source database is being accessed
// by other users").
const createLockKey = 0x6c6b736d74657374 // "lksmtest"

// SQLite returns the path of a SQLite database file (not yet created) in
// t.TempDir(); it disappears with the test.
func SQLite(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "locksmith.db")
}

// Option adjusts a PostgreSQL test database right after it is created.
type Option func(*settings)

type settings struct {
	isolation string
}

// isolationLevels are the values PostgreSQL accepts for
// default_transaction_isolation.
var isolationLevels = map[string]bool{
	"read uncommitted": true, "read committed": true, "repeatable read": true, "serializable": true,
}

// DefaultIsolation makes level ("repeatable read", "serializable", …) the
// database's default transaction isolation (ALTER DATABASE … SET
// default_transaction_isolation), as an operator may have set it on their
// database or role. Code that relies on READ COMMITTED must say so itself.
func DefaultIsolation(level string) Option {
	return func(s *settings) { s.isolation = level }
}

// Postgres creates an empty database named locksmith_test_<random> on the
// server named by LOCKSMITH_TEST_POSTGRES_URL and returns its URL. The database
// is dropped WITH (FORCE) when the test ends, so connections a failed test
// leaked do not keep it alive. Without the variable the test is skipped with a
// reason.
func Postgres(t testing.TB, opts ...Option) string {
	t.Helper()
	base := os.Getenv(EnvPostgresURL)
	if base == "" {
		t.Skip(skipReason)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("dbtest: %s is not a URL: %v", EnvPostgresURL, err)
	}
	var set settings
	for _, o := range opts {
		o(&set)
	}
	if set.isolation != "" && !isolationLevels[set.isolation] {
		t.Fatalf("dbtest: %q is not a PostgreSQL isolation level", set.isolation)
	}
	name := "locksmith_test_" + randomHex(8)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("dbtest: open %s: %v", redact(u), err)
	}
	defer admin.Close()
	if err := createDatabase(ctx, admin, name); err != nil {
		t.Fatalf("dbtest: create database %s on %s: %v", name, redact(u), err)
	}
	if set.isolation != "" {
		// Checked against isolationLevels above; utility statements take no parameters.
		if _, err := admin.ExecContext(ctx, "ALTER DATABASE "+name+" SET default_transaction_isolation = '"+set.isolation+"'"); err != nil {
			t.Fatalf("dbtest: set default isolation of %s: %v", name, err)
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := sql.Open("pgx", base)
		if err != nil {
			t.Errorf("dbtest: open %s: %v", redact(u), err)
			return
		}
		defer admin.Close()
		// WITH (FORCE) (PostgreSQL 13+) ends sessions still connected, e.g. a
		// *sql.DB the test forgot to close.
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dbtest: drop database %s: %v", name, err)
		}
	})

	dbURL := *u
	dbURL.Path = "/" + name
	return dbURL.String()
}

// createDatabase runs CREATE DATABASE under a session advisory lock held on one
// connection, so parallel test processes take turns.
func createDatabase(ctx context.Context, admin *sql.DB, name string) error {
	conn, err := admin.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", int64(createLockKey)); err != nil {
		return fmt.Errorf("advisory lock: %w", err)
	}
	// Closing the session would release the lock too, but the pool may keep
	// the connection: unlock explicitly.
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(createLockKey))
	// The name is generated above from hex digits: it needs no quoting and
	// cannot be a parameter (utility statements take none).
	_, err = conn.ExecContext(ctx, "CREATE DATABASE "+name)
	return err
}

// ForEach runs body once per backend, as subtests "sqlite" and "postgres",
// each with a fresh database. The postgres subtest skips (with the reason)
// when LOCKSMITH_TEST_POSTGRES_URL is unset.
func ForEach(t *testing.T, body func(t *testing.T, dsn string), opts ...Option) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { body(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { body(t, Postgres(t, opts...)) })
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}

// redact hides a password in the server URL before it reaches test output.
func redact(u *url.URL) string {
	return u.Redacted()
}
