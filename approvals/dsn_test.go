package approvals

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A DSN Open cannot use is refused with the rule it broke, before anything is
// created on disk, and without repeating the DSN (it may hold a password).
func TestCheckDSN_RefusesWhatIsNotAPathOrURL(t *testing.T) {
	for _, tc := range []struct{ name, dsn, want string }{
		{"libpq key=value", "host=db user=locksmith password=hunter2-pw dbname=x", "whitespace"},
		{"libpq without spaces", "password=hunter2-pw", `"="`},
		{"unknown scheme", "mysql://locksmith:hunter2-pw@db/x", `unknown scheme "mysql:"`},
		{"sqlite scheme", "sqlite3:hunter2-pw.db", `unknown scheme "sqlite3:"`},
		{"tab", "state\t.db", "whitespace"},
		{"postgres URL that does not parse", "postgres://u:hunter2-pw%zz@db/x", "does not parse"},
		{"postgres URL without host", "postgres:///x?user=hunter2-pw", "no host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			_, err := Open(context.Background(), tc.dsn, Options{})
			if err == nil {
				t.Fatalf("Open(%q) succeeded", tc.dsn)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error echoes the DSN: %v", err)
			}
			if entries, _ := os.ReadDir(dir); len(entries) > 0 {
				t.Errorf("Open created %v for a refused DSN", entries[0].Name())
			}
		})
	}
}

func TestCheckDSN_AcceptsEveryDocumentedForm(t *testing.T) {
	for _, dsn := range []string{
		"", "locksmith.db", "./data/locksmith.db", "/var/lib/locksmith/locksmith.db",
		"state.db?_busy_timeout=500", "file:state.db?mode=rwc", "file:///var/lib/locksmith/x.db",
		"postgres://u:p@db:5432/locksmith?sslmode=require", "postgresql://u@db/locksmith",
		"postgres:///locksmith?host=/var/run/postgresql", `C:\locksmith\locksmith.db`,
	} {
		if err := CheckDSN(dsn); err != nil {
			t.Errorf("CheckDSN(%q): %v", dsn, err)
		}
	}
}

func TestOpen_SaysWhyTheFileCannotBeOpened(t *testing.T) {
	base := t.TempDir()
	t.Run("missing directory", func(t *testing.T) {
		_, err := Open(context.Background(), filepath.Join(base, "nope", "locksmith.db"), Options{})
		if err == nil || !strings.Contains(err.Error(), "directory "+filepath.Join(base, "nope")+" does not exist") {
			t.Fatalf("error = %v, want it to name the missing directory", err)
		}
	})
	t.Run("path is a directory", func(t *testing.T) {
		_, err := Open(context.Background(), base, Options{})
		if err == nil || !strings.Contains(err.Error(), "is a directory") {
			t.Fatalf("error = %v, want it to say the path is a directory", err)
		}
	})
	t.Run("read-only directory", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root may write anywhere; file permissions cannot be tested")
		}
		dir := filepath.Join(base, "ro")
		if err := os.Mkdir(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		_, err := Open(context.Background(), filepath.Join(dir, "locksmith.db"), Options{})
		if err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Fatalf("error = %v, want permission denied", err)
		}
	})
	t.Run("unit tests of the diagnosis", func(t *testing.T) {
		for dsn, want := range map[string]string{
			"file:" + filepath.Join(base, "gone", "x.db") + "?mode=rwc": "does not exist",
			filepath.Join(base, "fine.db"):                              "",
		} {
			d, driverDSN, err := parseDSN(dsn)
			if err != nil {
				t.Fatal(err)
			}
			got := d.explainOpenFailure(driverDSN)
			if want == "" && got != "" || !strings.Contains(got, want) {
				t.Errorf("explainOpenFailure(%q) = %q, want %q", dsn, got, want)
			}
		}
	})
}
