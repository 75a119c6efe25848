package main

import (
	"bytes"
	"context"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersion_Command(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, func(string) string { return "" }, &out, &errb)
		if code != exitOK {
			t.Fatalf("%v: exit %d, stderr %q", args, code, errb.String())
		}
		// No configuration is needed, and the Go version is always known.
		if !strings.HasPrefix(out.String(), "locksmith ") || !strings.Contains(out.String(), runtime.Version()) {
			t.Errorf("%v printed %q", args, out.String())
		}
	}
}

func TestVersion_FromBuildInfo(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/locksmithbot/locksmith", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "0123456789abcdef"},
			{Key: "vcs.time", Value: "2026-11-30T12:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	got := buildInfoFrom(bi).String()
	if want := "locksmith v1.2.3 revision 0123456789abcdef (2026-11-30T12:00:00Z) with uncommitted changes, go1.26.8"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	got = buildInfoFrom(&debug.BuildInfo{GoVersion: "go1.26.8"}).String()
	if !strings.Contains(got, "(devel)") || !strings.Contains(got, "no VCS information") {
		t.Errorf("without VCS: %q", got)
	}
}
