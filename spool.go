package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/locksmithbot/locksmith/commands"
)

// spool is the commands.Spool on local disk: one JSON file per outcome record
// the database refused. It lives outside the database on purpose: it is what
// remains when the database is the thing that is down. Files hold no secret
// (an audit row or a request ID and state), and are written atomically
// (temporary file, fsync, rename) so a crash leaves either the whole record or
// none.
type spool struct{ dir string }

var _ commands.Spool = spool{}

var spoolIDRE = regexp.MustCompile(`^[0-9a-f]{24}$`)

func (s spool) path(id string) (string, error) {
	if !spoolIDRE.MatchString(id) {
		return "", fmt.Errorf("spool: bad record id %q", id)
	}
	return filepath.Join(s.dir, id+".json"), nil
}

func (s spool) Put(w commands.LateWrite) error {
	p, err := s.path(w.ID)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return err
	}
	raw, err := json.Marshal(w)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(s.dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p)
}

func (s spool) Delete(id string) error {
	p, err := s.path(id)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func (s spool) List() ([]commands.LateWrite, error) {
	entries, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []commands.LateWrite
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".json") || !spoolIDRE.MatchString(strings.TrimSuffix(name, ".json")) {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(s.dir, name))
		if err != nil {
			return nil, err
		}
		var w commands.LateWrite
		if err := json.Unmarshal(raw, &w); err != nil {
			return nil, fmt.Errorf("spool: %s: %w", name, err)
		}
		out = append(out, w)
	}
	return out, nil
}
