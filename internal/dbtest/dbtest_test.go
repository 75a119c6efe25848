package dbtest

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSQLite_FileInTempDir(t *testing.T) {
	path := SQLite(t)
	if filepath.Base(path) != "locksmith.db" {
		t.Errorf("SQLite = %q, want a locksmith.db file", path)
	}
	if _, err := os.Stat(filepath.Dir(path)); err != nil {
		t.Errorf("its directory does not exist: %v", err)
	}
}

func TestPostgres_CreatesAndDrops(t *testing.T) {
	var dsn string
	t.Run("inner", func(t *testing.T) {
		dsn = Postgres(t)
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var name string
		if err := db.QueryRowContext(context.Background(), "SELECT current_database()").Scan(&name); err != nil {
			t.Fatalf("query the new database: %v", err)
		}
		if !strings.HasPrefix(name, "locksmith_test_") {
			t.Errorf("connected to %q, want a locksmith_test_ database", name)
		}
		// Leave the connection open: the drop must force it closed.
		if _, err := db.Exec("CREATE TABLE t (x int)"); err != nil {
			t.Fatal(err)
		}
	})
	if dsn == "" {
		t.Skip(skipReason)
	}
	u, _ := url.Parse(dsn)
	admin, err := sql.Open("pgx", os.Getenv(EnvPostgresURL))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var n int
	if err := admin.QueryRow("SELECT COUNT(*) FROM pg_database WHERE datname = $1", strings.TrimPrefix(u.Path, "/")).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("database %s still exists after its test ended", u.Path)
	}
}

func TestForEach_RunsBothBackends(t *testing.T) {
	var ran []string
	ForEach(t, func(t *testing.T, dsn string) {
		ran = append(ran, t.Name())
		if dsn == "" {
			t.Error("empty DSN")
		}
	})
	want := 2
	if os.Getenv(EnvPostgresURL) == "" {
		want = 1
	}
	if len(ran) != want {
		t.Errorf("ForEach ran %v, want %d subtests", ran, want)
	}
}

func TestPostgres_DefaultIsolation(t *testing.T) {
	for _, level := range []string{"repeatable read", "serializable"} {
		t.Run(level, func(t *testing.T) {
			db, err := sql.Open("pgx", Postgres(t, DefaultIsolation(level)))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var got string
			if err := db.QueryRow("SHOW transaction_isolation").Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != level {
				t.Errorf("a new session's isolation = %q, want %q", got, level)
			}
		})
	}
}
