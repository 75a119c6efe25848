package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
)

// `locksmith healthcheck` is the container HEALTHCHECK: 0 while the process
// answers, 1 when it does not; --ready follows /readyz. A wildcard
// LOCKSMITH_LISTEN (as in the image) is reached on loopback.
func TestHealthcheck(t *testing.T) {
	h := newHarness(t, harnessOptions{approval: false})
	h.start()
	h.get("/healthz") // waits for the listener
	_, port, _ := net.SplitHostPort(h.app.opsAddr.Load().(string))
	check := func(args ...string) (int, string) {
		var out, errOut bytes.Buffer
		env := map[string]string{"LOCKSMITH_LISTEN": "0.0.0.0:" + port}
		code := run(context.Background(), append([]string{"healthcheck"}, args...), func(k string) string { return env[k] }, &out, &errOut)
		return code, out.String() + errOut.String()
	}
	if code, out := check(); code != exitOK || !strings.Contains(out, "/healthz: ok") {
		t.Fatalf("healthcheck = %d %q", code, out)
	}
	h.waitFor("ready", func() bool { code, _ := check("--ready"); return code == exitOK })

	h.app.store.Close()
	if code, out := check("--ready"); code != exitFailed || !strings.Contains(out, "database") {
		t.Errorf("--ready with the database closed = %d %q", code, out)
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if code, out := check(); code != exitFailed || !strings.Contains(out, "/healthz") {
		t.Errorf("healthcheck of a stopped locksmith = %d %q", code, out)
	}
}
