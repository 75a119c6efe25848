package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// buildInfo is what `locksmith version` prints and the locksmith_build_info
// metric carries: enough to tell which code a running binary was built from.
type buildInfo struct {
	Version   string // module version: a tag, a pseudo-version, or "(devel)"
	Revision  string // VCS commit, "" when built without VCS information
	Time      string // commit time (RFC 3339)
	Modified  bool   // built from a work tree with uncommitted changes
	GoVersion string
}

// readBuildInfo reads the build information the Go toolchain embeds in every
// binary (go build stamps the VCS fields when it builds inside a checkout).
func readBuildInfo() buildInfo {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return buildInfo{Version: "unknown", GoVersion: runtime.Version()}
	}
	return buildInfoFrom(bi)
}

func buildInfoFrom(bi *debug.BuildInfo) buildInfo {
	out := buildInfo{Version: bi.Main.Version, GoVersion: bi.GoVersion}
	if out.Version == "" {
		out.Version = "(devel)" // go test and go run leave it empty
	}
	if out.GoVersion == "" {
		out.GoVersion = runtime.Version()
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			out.Revision = s.Value
		case "vcs.time":
			out.Time = s.Value
		case "vcs.modified":
			out.Modified = s.Value == "true"
		}
	}
	return out
}

func (b buildInfo) String() string {
	s := "locksmith " + b.Version
	if b.Revision != "" {
		s += " revision " + b.Revision
		if b.Time != "" {
			s += " (" + b.Time + ")"
		}
		if b.Modified {
			s += " with uncommitted changes"
		}
	} else {
		s += " (no VCS information: built outside a git checkout, or with -buildvcs=false)"
	}
	return s + ", " + b.GoVersion
}

// runVersion prints the build information; it needs no configuration.
func runVersion(args []string, stdout io.Writer) error {
	fs := newFlagSet("locksmith version", "Prints the module version, the VCS revision the binary was built from, and the Go version.", stdout)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(stdout, readBuildInfo())
	return nil
}
