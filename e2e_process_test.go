package main

import (
	"context"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/internal/dbtest"
)

// childEnv makes the test binary act as the locksmith binary, so a test can run
// locksmith as a real process and kill -9 it.
const childEnv = "LOCKSMITH_TEST_RUN_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// process is locksmith running as a child process.
type process struct {
	cmd  *exec.Cmd
	logs *lockedBuffer
	done chan error
}

func (h *harness) spawn(args ...string) *process {
	h.t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = []string{childEnv + "=1", "PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range h.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &process{cmd: cmd, logs: h.logs, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = h.logs, h.logs
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	h.t.Cleanup(func() { _ = cmd.Process.Kill(); <-p.done })
	return p
}

func (p *process) kill9(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	p.done <- nil // for Cleanup
}

func (h *harness) waitConnections(n int) {
	h.t.Helper()
	h.waitFor("Slack connection", func() bool { return h.slack.Connections() >= n })
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	if err := h.slack.WaitConnected(ctx); err != nil {
		h.t.Fatal(err)
	}
}

// TestProcess_KillMidFlow kills locksmith with SIGKILL while a request is
// pending and again while it is approved; each restart on the same database
// carries the flow to exactly one reset.
func TestProcess_KillMidFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("runs locksmith as a child process")
	}
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		h := newHarness(t, harnessOptions{approval: true, dsn: dsn})
		p := h.spawn("run")
		h.waitConnections(1)

		card := h.request(alice, "contoso.onmicrosoft.com "+plainUPN+" INC-77")
		p.kill9(t) // pending

		p = h.spawn("run")
		h.waitConnections(2)
		if r := h.click(bob, card, actApprove); !strings.Contains(r, "Approved") {
			t.Fatalf("approve after restart: %q", r)
		}
		resetDM := h.dmWithButton(alice, actReset)
		p.kill9(t) // approved

		p = h.spawn("run")
		h.waitConnections(3)
		if r := h.click(alice, resetDM, actReset); !strings.Contains(r, "Done") {
			t.Fatalf("reset after restart: %q", r)
		}
		if h.patches() != 1 {
			t.Fatalf("%d PATCH calls, want 1", h.patches())
		}
		h.assertPasswordOnlyInEphemeral(alice, h.lastResetPassword())

		store, err := approvals.Open(context.Background(), dsn, approvals.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		id := buttonValue(t, resetDM.Blocks, actReset)
		if r, err := store.Get(context.Background(), id); err != nil || r.State != approvals.StateDone {
			t.Fatalf("request %s: state %v, err %v; want done", id, r.State, err)
		}
		if rep, err := store.Verify(context.Background()); err != nil || !rep.OK {
			t.Fatalf("audit chain after kills: %+v, %v", rep, err)
		}
		// SIGTERM: a clean exit with status 0.
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-p.done:
			p.done <- nil
			if err != nil {
				t.Fatalf("exit after SIGTERM: %v", err)
			}
		case <-time.After(testWait):
			t.Fatal("no exit after SIGTERM")
		}
	})
}

// TestProcess_NoConfiguration: `go run .` with nothing set lists every missing
// setting at once and exits 2.
func TestProcess_NoConfiguration(t *testing.T) {
	var out, errOut lockedBuffer
	dir := t.TempDir()
	code := run(context.Background(), nil, func(k string) string {
		if k == "LOCKSMITH_CONFIG" {
			return dir + "/locksmith.yaml"
		}
		return ""
	}, &out, &errOut)
	if code != exitUsage {
		t.Fatalf("exit %d, want %d", code, exitUsage)
	}
	for _, key := range []string{"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "PARTNER_TENANT_ID", "PARTNER_CLIENT_ID", "PARTNER_CLIENT_SECRET", "PARTNER_REFRESH_TOKEN", "LOCKSMITH_CONFIG"} {
		if !strings.Contains(errOut.String(), key) {
			t.Errorf("output does not name %s:\n%s", key, errOut.String())
		}
	}
}
