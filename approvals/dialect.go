package approvals

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// dialect holds the few places where SQLite and PostgreSQL differ. Every SQL
// string in this package is written once, with ? placeholders, and passed
// through q.
type dialect struct {
	name   string // "sqlite" | "postgres"
	driver string // database/sql driver name
}

var (
	sqliteDialect   = dialect{name: "sqlite", driver: "sqlite"}
	postgresDialect = dialect{name: "postgres", driver: "pgx"}
)

func (d dialect) postgres() bool { return d.name == "postgres" }

// q rewrites ? placeholders as $1, $2, … for PostgreSQL. No SQL in this
// package has a ? inside a string literal.
func (d dialect) q(query string) string {
	if !d.postgres() {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// txOptions is how every write transaction begins. On PostgreSQL it pins READ
// COMMITTED, whatever default_transaction_isolation the database or role sets:
// the store serialises writers itself (the audit advisory lock, conditional
// updates), and relies on each statement seeing what committed before it ran.
// Under REPEATABLE READ or SERIALIZABLE the snapshot is taken before the
// advisory lock is granted, so an append would read a stale chain head and
// collide on seq, and a losing conditional update would fail with a
// serialization error instead of matching no row. SQLite transactions are
// always serializable, and the write lock is taken at BEGIN IMMEDIATE.
func (d dialect) txOptions() *sql.TxOptions {
	if d.postgres() {
		return &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	return nil
}

// dbNow is the database's current time as an SQL expression, in the form
// dialect.t stores times. Decisions that compare times written by different
// replicas (is this reset still running somewhere?) use it for both the
// stamp and the comparison, so that no replica's clock is involved.
// PostgreSQL: the time the statement began (not now(), which is the start of
// the transaction, before the audit lock was waited for). SQLite: 'now' to
// the millisecond, padded to sqliteTimeLayout's six digits so that text
// comparison with stored times stays chronological.
func (d dialect) dbNow() string {
	if d.postgres() {
		return "statement_timestamp()"
	}
	return "strftime('" + sqliteNowFormat + "', 'now')"
}

// dbNowMinus is dbNow minus age, as an SQL expression with one ? placeholder
// and the argument for it.
func (d dialect) dbNowMinus(age time.Duration) (string, any) {
	if d.postgres() {
		return "(statement_timestamp() - make_interval(secs => ?))", age.Seconds()
	}
	return "strftime('" + sqliteNowFormat + "', 'now', ?)", fmt.Sprintf("%+.6f seconds", -age.Seconds())
}

// sqliteNowFormat renders SQLite's clock as sqliteTimeLayout: %f is SS.SSS.
const sqliteNowFormat = "%Y-%m-%dT%H:%M:%f000Z"

// sqliteTimeLayout is fixed-width, so text comparison in SQL (expires_at <= ?)
// is chronological comparison.
const sqliteTimeLayout = "2006-01-02T15:04:05.000000Z"

// normTime is how every time is kept: UTC, to the microsecond, without a
// monotonic clock reading, so it survives a round trip through either backend
// unchanged.
func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// t turns a time into a query argument: TIMESTAMPTZ for PostgreSQL, fixed-width
// text for SQLite; the zero time is NULL.
func (d dialect) t(v time.Time) any {
	if v.IsZero() {
		return nil
	}
	v = normTime(v)
	if d.postgres() {
		return v
	}
	return v.Format(sqliteTimeLayout)
}

// timeCol scans a time column written by dialect.t on either backend.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.t = time.Time{}
	case time.Time:
		*c.t = normTime(v)
	case string:
		return c.parse(v)
	case []byte:
		return c.parse(string(v))
	default:
		return fmt.Errorf("approvals: cannot scan %T as a time", src)
	}
	return nil
}

func (c timeCol) parse(s string) error {
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("approvals: bad stored time %q: %w", s, err)
	}
	*c.t = normTime(v)
	return nil
}

// schemaTypes fill the type placeholders of the shared migration files.
func (d dialect) schemaTypes() *strings.Replacer {
	if d.postgres() {
		return strings.NewReplacer("{{TIME}}", "TIMESTAMPTZ", "{{BYTES}}", "BYTEA", "{{SERIAL}}", "BIGSERIAL PRIMARY KEY")
	}
	return strings.NewReplacer("{{TIME}}", "TEXT", "{{BYTES}}", "BLOB", "{{SERIAL}}", "INTEGER PRIMARY KEY AUTOINCREMENT")
}

// DefaultSQLiteFile is where the store lives when no DSN is given.
const DefaultSQLiteFile = "locksmith.db"

// sqliteParams are added to every SQLite DSN unless the DSN sets them itself.
//   - WAL lets readers run while one connection writes.
//   - busy_timeout makes a writer wait for the write lock (another replica on
//     the same file) instead of failing at once.
//   - _txlock=immediate makes every transaction BEGIN IMMEDIATE: it takes the
//     write lock up front, so two writers never both read and then deadlock
//     trying to upgrade; it is also what serialises audit appends on SQLite.
var sqliteParams = [][2]string{
	{"_journal_mode", "WAL"},
	{"_busy_timeout", "10000"},
	{"_foreign_keys", "on"},
	{"_txlock", "immediate"},
}

// parseDSN picks the backend from the DSN and returns what to hand the driver.
// "" is the SQLite file locksmith.db; postgres:// and postgresql:// URLs are
// PostgreSQL; anything else is a SQLite path or file: URI.
func parseDSN(dsn string) (dialect, string, error) {
	if err := CheckDSN(dsn); err != nil {
		return dialect{}, "", err
	}
	switch {
	case isPostgresURL(dsn):
		return postgresDialect, dsn, nil
	case dsn == "":
		dsn = DefaultSQLiteFile
	case dsn == ":memory:" || strings.Contains(dsn, "mode=memory"):
		// Each pooled connection would get its own empty database, and
		// everything would be lost on restart (guarantee 5).
		return dialect{}, "", fmt.Errorf("approvals: an in-memory SQLite database is not supported; give a file path")
	}
	path, query, _ := strings.Cut(dsn, "?")
	vals, err := url.ParseQuery(query)
	if err != nil {
		return dialect{}, "", fmt.Errorf("approvals: SQLite DSN parameters: %w", err)
	}
	for _, p := range sqliteParams {
		if !vals.Has(p[0]) {
			vals.Set(p[0], p[1])
		}
	}
	return sqliteDialect, path + "?" + vals.Encode(), nil
}

func isPostgresURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// schemeRE matches a URI scheme at the start of a DSN ("mysql:", "sqlite3:").
// A single letter is a Windows drive ("C:"), not a scheme.
var schemeRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]+):`)

// CheckDSN says whether dsn is one of the forms Open accepts: "" (the default
// file), a SQLite file path, a SQLite file: URI, or a postgres:// or
// postgresql:// URL. Anything else is refused before the disk is touched: an
// unknown scheme, or text with whitespace or an "=" outside a query string,
// which is what a libpq "host=… password=…" string looks like and would
// otherwise become the name of a new SQLite file. The error never repeats the
// DSN: it may hold a password.
func CheckDSN(dsn string) error {
	if isPostgresURL(dsn) {
		u, err := url.Parse(dsn)
		if err != nil {
			// url.Error quotes the whole URL; keep only the reason.
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return fmt.Errorf("approvals: the PostgreSQL URL does not parse (%v); percent-encode special characters in the password", err)
		}
		if u.Host == "" && !u.Query().Has("host") {
			return errors.New("approvals: the PostgreSQL URL names no host (postgres://user:password@host:5432/dbname)")
		}
		return nil
	}
	if strings.IndexFunc(dsn, unicode.IsSpace) >= 0 {
		return errors.New("approvals: the database URL contains whitespace; use a SQLite file path, a file: URI or a postgres:// URL (a libpq key=value string is not accepted)")
	}
	if m := schemeRE.FindStringSubmatch(dsn); m != nil && !strings.EqualFold(m[1], "file") {
		return fmt.Errorf("approvals: the database URL has an unknown scheme %q; use a SQLite file path, a file: URI or a postgres:// URL", strings.ToLower(m[1])+":")
	}
	if path, _, _ := strings.Cut(dsn, "?"); strings.Contains(path, "=") {
		return errors.New("approvals: the database URL contains \"=\" outside a query string; use a SQLite file path, a file: URI or a postgres:// URL (a libpq key=value string is not accepted)")
	}
	return nil
}
