package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// runHealthcheck asks a running locksmith for /healthz (or /readyz with
// --ready) at LOCKSMITH_LISTEN and exits 0 on 200. It exists for container
// HEALTHCHECKs: the runtime image has no shell and no curl.
func runHealthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, _ io.Writer) error {
	fs := newFlagSet("locksmith healthcheck [--ready]", "Exits 0 when the locksmith at LOCKSMITH_LISTEN answers /healthz (with --ready: /readyz) with 200.", stdout)
	ready := fs.Bool("ready", false, "ask /readyz (Slack connected, database and Partner Center answering) instead of /healthz")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	listen := strings.TrimSpace(getenv("LOCKSMITH_LISTEN"))
	if listen == "" {
		listen = "127.0.0.1:9090"
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return &ConfigError{Problems: []string{fmt.Sprintf("LOCKSMITH_LISTEN: %q is not host:port (%v)", listen, err)}}
	}
	// A wildcard listen address is reached on loopback.
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	path := "/healthz"
	if *ready {
		path = "/readyz"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return &failure{msg: fmt.Sprintf("%s: %v", path, err)}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return &failure{msg: fmt.Sprintf("%s: %s: %s", path, resp.Status, strings.TrimSpace(string(body)))}
	}
	fmt.Fprintf(stdout, "%s: %s\n", path, strings.TrimSpace(string(body)))
	return nil
}
