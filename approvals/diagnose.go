package approvals

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// explainOpenFailure says, for a SQLite file that could not be opened or
// written, why: SQLite itself answers "unable to open database file" or
// "attempt to write a readonly database" whatever the cause. It returns ""
// for PostgreSQL (its errors already say why) or when nothing is found.
func (d dialect) explainOpenFailure(driverDSN string) string {
	if d.postgres() {
		return ""
	}
	if why := sqliteFileProblem(sqlitePath(driverDSN)); why != "" {
		return " (" + why + ")"
	}
	return ""
}

// sqlitePath is the file a SQLite DSN names: the part before "?", without a
// "file:" prefix and an empty "//" authority.
func sqlitePath(driverDSN string) string {
	p, _, _ := strings.Cut(driverDSN, "?")
	if rest, ok := strings.CutPrefix(p, "file:"); ok {
		p = rest
		if strings.HasPrefix(p, "//") {
			p = strings.TrimPrefix(p, "//localhost")
			p = strings.TrimPrefix(p, "//")
			if !strings.HasPrefix(p, "/") {
				p = "/" + p
			}
		}
	}
	return p
}

// sqliteFileProblem looks at the file and its directory the way SQLite needs
// them: the directory must exist and be writable (SQLite creates the file and
// its -wal and -shm companions there), the file must be readable and writable.
func sqliteFileProblem(path string) string {
	if path == "" {
		return ""
	}
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "directory " + dir + " does not exist; create it or point LOCKSMITH_DATABASE_URL elsewhere"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied reaching directory " + dir
	case err != nil:
		return "directory " + dir + ": " + err.Error()
	case !st.IsDir():
		return dir + " is not a directory"
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return path + " is a directory, not a database file"
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err == nil {
		f.Close()
		// The file is fine; SQLite also writes path-wal and path-shm next to it.
		return accessProblem(dir, "directory "+dir)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return accessProblem(dir, "directory "+dir)
	}
	return fileError(err, path)
}

// accessProblem checks that the process may create files in dir.
func accessProblem(dir, what string) string {
	probe, err := os.CreateTemp(dir, ".locksmith-probe-*")
	if err != nil {
		return fileError(err, what)
	}
	probe.Close()
	os.Remove(probe.Name())
	return ""
}

func fileError(err error, what string) string {
	switch {
	case errors.Is(err, syscall.EROFS):
		return what + " is on a read-only file system"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied: " + what + " is not writable by this user"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return what + ": " + pe.Err.Error()
	}
	return what + ": " + err.Error()
}
