package approvals

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/internal/dbtest"
)

func TestParseDSN(t *testing.T) {
	for _, tc := range []struct {
		name, dsn  string
		dialect    string
		wantPath   string            // the part before "?" handed to the driver
		wantParams map[string]string // a subset of the parameters handed to the driver
		wantErr    bool
	}{
		{name: "empty; locksmith.db", dsn: "", dialect: "sqlite", wantPath: "locksmith.db",
			wantParams: map[string]string{"_journal_mode": "WAL", "_busy_timeout": "10000", "_foreign_keys": "on", "_txlock": "immediate"}},
		{name: "plain path", dsn: "/var/lib/locksmith/state.db", dialect: "sqlite", wantPath: "/var/lib/locksmith/state.db",
			wantParams: map[string]string{"_txlock": "immediate"}},
		{name: "file URI keeps its own parameters", dsn: "file:state.db?mode=rwc&_busy_timeout=500", dialect: "sqlite",
			wantPath: "file:state.db", wantParams: map[string]string{"mode": "rwc", "_busy_timeout": "500", "_journal_mode": "WAL"}},
		{name: "postgres URL", dsn: "postgres://u@db:5432/locksmith?sslmode=require", dialect: "postgres"},
		{name: "postgresql URL", dsn: "postgresql://u@db/locksmith", dialect: "postgres"},
		{name: "in-memory SQLite; refused", dsn: ":memory:", wantErr: true},
		{name: "in-memory file URI; refused", dsn: "file:x?mode=memory", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, driverDSN, err := parseDSN(tc.dsn)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("parseDSN(%q) succeeded, want an error", tc.dsn)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseDSN(%q): %v", tc.dsn, err)
			}
			if d.name != tc.dialect {
				t.Errorf("dialect = %s, want %s", d.name, tc.dialect)
			}
			if d.postgres() {
				if driverDSN != tc.dsn {
					t.Errorf("PostgreSQL DSN changed to %q", driverDSN)
				}
				return
			}
			path, query, _ := strings.Cut(driverDSN, "?")
			if path != tc.wantPath {
				t.Errorf("path = %q, want %q", path, tc.wantPath)
			}
			params, err := url.ParseQuery(query)
			if err != nil {
				t.Fatalf("parameters %q: %v", query, err)
			}
			for k, v := range tc.wantParams {
				if got := params.Get(k); got != v {
					t.Errorf("parameter %s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestDialect_Placeholders(t *testing.T) {
	q := "UPDATE requests SET state = ? WHERE id = ? AND state = ?"
	if got := sqliteDialect.q(q); got != q {
		t.Errorf("sqlite q = %q, want unchanged", got)
	}
	if got, want := postgresDialect.q(q), "UPDATE requests SET state = $1 WHERE id = $2 AND state = $3"; got != want {
		t.Errorf("postgres q = %q, want %q", got, want)
	}
}

func TestMigrationsFor(t *testing.T) {
	for _, d := range []dialect{sqliteDialect, postgresDialect} {
		ms, err := migrationsFor(d)
		if err != nil {
			t.Fatalf("%s: %v", d.name, err)
		}
		var versions []string
		for _, m := range ms {
			versions = append(versions, m.version)
			if strings.Contains(m.body, "{{") {
				t.Errorf("%s %s: unfilled placeholder", d.name, m.version)
			}
		}
		if want := []string{"0001_init", "0002_audit_append_only", "0003_slash_claims", "0004_policies", "0005_graph", "0006_velocity", "0007_reminders", "0008_break_glass", "0012_person_language", "0013_outbox"}; !reflect.DeepEqual(versions, want) {
			t.Errorf("%s migrations = %v, want %v", d.name, versions, want)
		}
	}
}

func TestOpen_DefaultIsLocksmithDBInWorkingDirectory(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	s := openStore(t, "", newClock())
	if s.Dialect() != "sqlite" {
		t.Errorf("Dialect = %s, want sqlite", s.Dialect())
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, DefaultSQLiteFile)); len(matches) != 1 {
		t.Errorf("no %s created in the working directory", DefaultSQLiteFile)
	}
}

func TestOpen_SQLiteSettings(t *testing.T) {
	s := openStore(t, dbtest.SQLite(t), newClock())
	ctx := context.Background()
	for _, tc := range []struct{ pragma, want string }{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"busy_timeout", "10000"},
	} {
		var got string
		if err := s.db.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", tc.pragma, err)
		}
		if got != tc.want {
			t.Errorf("PRAGMA %s = %s, want %s", tc.pragma, got, tc.want)
		}
	}
}

func TestOpen_Migrations(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		countApplied := func(s *Store) int {
			t.Helper()
			var n int
			if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil {
				t.Fatalf("count migrations: %v", err)
			}
			return n
		}
		ms, err := migrationsFor(mustDialect(t, dsn))
		if err != nil {
			t.Fatal(err)
		}

		t.Run("two processes open a fresh database at once; both succeed", func(t *testing.T) {
			var wg sync.WaitGroup
			stores := make([]*Store, 2)
			errs := make([]error, 2)
			for i := range stores {
				wg.Add(1)
				go func() {
					defer wg.Done()
					stores[i], errs[i] = Open(ctx, dsn, Options{Now: newClock().Now})
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("Open %d: %v", i, err)
				}
				defer stores[i].Close()
			}
			if n := countApplied(stores[0]); n != len(ms) {
				t.Errorf("schema_migrations has %d rows, want %d", n, len(ms))
			}
		})
		t.Run("re-open; nothing applied twice", func(t *testing.T) {
			s := openStore(t, dsn, newClock())
			if n := countApplied(s); n != len(ms) {
				t.Errorf("schema_migrations has %d rows after re-open, want %d", n, len(ms))
			}
			if err := s.Ping(ctx); err != nil {
				t.Errorf("Ping: %v", err)
			}
		})
	})
}

func mustDialect(t *testing.T, dsn string) dialect {
	t.Helper()
	d, _, err := parseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestStore_Restart: everything survives Close and Open (guarantee 5).
func TestStore_Restart(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		c := newClock()
		s, err := Open(ctx, dsn, Options{Now: c.Now})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		r := mustCreate(t, s, c)
		mustApprove(t, s, c, r.ID)
		claimed := mustClaim(t, s, r.ID)
		if err := s.SaveSecret(ctx, "partner_refresh_token", []byte("sealed-bytes"), c.Now()); err != nil {
			t.Fatalf("SaveSecret: %v", err)
		}
		before, err := s.Verify(ctx)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}

		s = openStore(t, dsn, c)
		got, err := s.Get(ctx, r.ID)
		if err != nil {
			t.Fatalf("Get after restart: %v", err)
		}
		if !reflect.DeepEqual(got, claimed) {
			t.Errorf("request after restart differs:\n got %+v\nwant %+v", got, claimed)
		}
		if stale, err := s.StaleResetting(ctx, -time.Second); err != nil || len(stale) != 1 {
			t.Errorf("StaleResetting after restart = %d, %v; want the claimed request", len(stale), err)
		}
		if after := wantVerified(t, s); after != before {
			t.Errorf("Verify after restart = %+v, want %+v", after, before)
		}
		if sealed, _, err := s.LoadSecret(ctx, "partner_refresh_token"); err != nil || string(sealed) != "sealed-bytes" {
			t.Errorf("LoadSecret after restart: err %v, value kept = %v", err, string(sealed) == "sealed-bytes")
		}
	})
}

func TestStore_Secrets(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		ctx := context.Background()
		const name = "partner_refresh_token"

		if _, _, err := s.LoadSecret(ctx, name); !errors.Is(err, ErrNotFound) {
			t.Fatalf("LoadSecret before any save: err = %v, want ErrNotFound", err)
		}
		first := []byte{0, 1, 2, 0xff} // ciphertext is binary
		if err := s.SaveSecret(ctx, name, first, t0); err != nil {
			t.Fatalf("SaveSecret: %v", err)
		}
		check := func(want []byte, wantIssued time.Time) {
			t.Helper()
			got, issued, err := s.LoadSecret(ctx, name)
			if err != nil {
				t.Fatalf("LoadSecret: %v", err)
			}
			if !bytes.Equal(got, want) || !issued.Equal(normTime(wantIssued)) {
				t.Errorf("LoadSecret: value matches = %v, issued %v, want issued %v", bytes.Equal(got, want), issued, wantIssued)
			}
		}
		check(first, t0)

		newer := []byte("newer")
		if err := s.SaveSecret(ctx, name, newer, t0.Add(time.Hour)); err != nil {
			t.Fatalf("SaveSecret newer: %v", err)
		}
		check(newer, t0.Add(time.Hour))

		// Another replica finishing an older refresh later must not win.
		if err := s.SaveSecret(ctx, name, []byte("older"), t0.Add(time.Minute)); err != nil {
			t.Fatalf("SaveSecret older: %v", err)
		}
		check(newer, t0.Add(time.Hour))

		if err := s.SaveSecret(ctx, name, nil, t0); err == nil {
			t.Errorf("SaveSecret of an empty value succeeded")
		}
	})
}
