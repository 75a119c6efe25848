package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/internal/fakeslack"
)

// `locksmith demo --local` needs no account: the real bot against the fake Slack
// and the sample Partner Center, one request played through approval to reset,
// each person's view, the password masked, the audit trail verified.
func TestDemo_LocalWalkthrough(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	code := run(ctx, []string{"demo", "--local"}, func(string) string { return "" }, &out, &errOut)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	got := out.String()
	for _, want := range []string{
		"== What Riley (the requester) saw ==",
		"== What Avery (the approver) saw ==",
		"== What the approval channel #approvals shows",
		"== What the audit channel #audit shows ==",
		"[DEMO] Request sent for approval in #approvals",
		"Approved. @Riley can now reset the password of alice.user@contoso.onmicrosoft.com",
		"*Status:* :lock: Reset done by @Riley",
		"`reset_done` by @Riley",
		"*Temporary password for Alice User*",
		"reset_done   by riley for alice.user@contoso.onmicrosoft.com",
		"audit trail verified: 4 rows, hash chain intact",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("walkthrough lacks %q", want)
		}
	}
	// The line after the delivery's heading is the password's code span: masked.
	lines := strings.Split(got, "\n")
	for i, l := range lines {
		if strings.Contains(l, "*Temporary password for") {
			if i+1 >= len(lines) || strings.TrimSpace(lines[i+1]) != "`••••••••••••` (masked here)" {
				t.Errorf("password line not masked: %q", lines[i+1])
			}
		}
	}
	// Every message anyone saw says DEMO: each view entry starts with the label.
	for i, l := range lines {
		if strings.HasPrefix(l, "  - ") && i+1 < len(lines) {
			next := strings.TrimSpace(lines[i+1])
			if !strings.HasPrefix(next, "[DEMO] ") && !strings.HasPrefix(next, "*DEMO* · ") {
				t.Errorf("message without the DEMO label: %q", next)
			}
		}
	}
	if errOut.Len() > 0 {
		t.Errorf("stderr: %s", errOut.String())
	}
	if t.Failed() {
		t.Logf("walkthrough:\n%s", got)
	}
}

// With real Partner Center settings in the environment the demo refuses to
// start, before touching the disk, naming each variable and never its value.
func TestDemo_RefusesPartnerVariables(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.db")
	old := environ
	environ = func() []string { return []string{"PATH=/bin", "PARTNER_TENANT_ID=x", "PARTNER_EXTRA=secret-value"} }
	defer func() { environ = old }()
	env := map[string]string{"PARTNER_TENANT_ID": "6c1f0e2a-8b4d-4f7e-9a3c-2d5b7e9f1a04", "PARTNER_CLIENT_SECRET": "s3cret-value", "PARTNER_EXTRA": "secret-value"}
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"demo", "--database", db}, func(k string) string { return env[k] }, &out, &errOut)
	if code != exitUsage {
		t.Fatalf("exit %d, want %d", code, exitUsage)
	}
	msg := errOut.String()
	for _, name := range []string{"PARTNER_TENANT_ID", "PARTNER_CLIENT_SECRET", "PARTNER_EXTRA"} {
		if !strings.Contains(msg, name) {
			t.Errorf("refusal does not name %s: %s", name, msg)
		}
	}
	if strings.Contains(msg, "s3cret-value") || strings.Contains(msg, "secret-value") {
		t.Errorf("refusal echoes a value: %s", msg)
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("the demo database was created")
	}
}

// Without --local the demo is the real bot in a Slack workspace (here the fake,
// standing in for a real one): its own database, the sample customers, and the
// DEMO label on what it posts.
func TestDemo_InAWorkspace(t *testing.T) {
	sl := fakeslack.New()
	defer sl.Close()
	sl.AddUser(alice, "alice")
	sl.AddChannel(helpdeskChannel, "helpdesk", alice)
	sl.AddChannel(approvalsChannel, "approvals", alice)
	dir := t.TempDir()
	policy := filepath.Join(dir, "locksmith.yaml")
	if err := os.WriteFile(policy, []byte("approval:\n  channel: C0APPROVALS\ngrants:\n  - slack_users: [U0ALICE]\n    roles: [\"User Administrator\"]\n    customers: [\"*\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "mine-demo.db")
	env := map[string]string{
		"SLACK_APP_TOKEN": fakeslack.AppToken, "SLACK_BOT_TOKEN": fakeslack.BotToken, "SLACK_API_URL": sl.APIURL(),
		"LOCKSMITH_CONFIG": policy, "LOCKSMITH_LISTEN": "127.0.0.1:0",
		"LOCKSMITH_DATABASE_URL": filepath.Join(dir, "production.db"), // not the demo's
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--database", db}, func(k string) string { return env[k] }, &out, &errOut)
	}()
	wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer wcancel()
	if err := sl.WaitConnected(wctx); err != nil {
		t.Fatalf("demo bot never connected: %v\n%s", err, errOut.String())
	}
	_, err := sl.SlashCommand(wctx, alice, helpdeskChannel, "/reset-password", "fabrikam.onmicrosoft.com fiona.finance@fabrikam.onmicrosoft.com INC-9")
	if err != nil {
		t.Fatal(err)
	}
	call, err := sl.WaitCall(wctx, "response_url", func(c fakeslack.Call) bool { return strings.Contains(string(c.JSON), "Request sent for approval") })
	if err != nil {
		t.Fatalf("no approval reply: %v\n%s", err, errOut.String())
	}
	var body struct{ Text string }
	_ = json.Unmarshal(call.JSON, &body)
	if !strings.HasPrefix(body.Text, "[DEMO] ") {
		t.Errorf("reply %q is not labelled", body.Text)
	}
	if msgs := sl.Messages(approvalsChannel); len(msgs) != 1 || !strings.HasPrefix(msgs[0].Text, "[DEMO] ") || !strings.Contains(string(msgs[0].Blocks), "Fiona Finance") {
		t.Errorf("approval card = %+v", msgs)
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("exit %d: %s", code, errOut.String())
		}
	case <-time.After(40 * time.Second):
		t.Fatal("demo did not stop")
	}
	if _, err := os.Stat(db); err != nil {
		t.Errorf("demo database: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "production.db")); err == nil {
		t.Error("the demo wrote to LOCKSMITH_DATABASE_URL")
	}
	if !strings.Contains(out.String(), "gus.global@fabrikam.onmicrosoft.com") {
		t.Errorf("the sample directory was not printed:\n%s", out.String())
	}
}
