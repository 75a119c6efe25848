package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/internal/dbtest"
	"github.com/locksmithbot/locksmith/internal/fakepartner"
	"github.com/locksmithbot/locksmith/internal/fakeslack"
)

// Issue #5: the audit trail and operator tooling.

func (h *harness) events() []approvals.Event {
	h.t.Helper()
	var out []approvals.Event
	if err := h.app.store.Events(context.Background(), approvals.EventFilter{}, func(e approvals.Event) error {
		out = append(out, e)
		return nil
	}); err != nil {
		h.t.Fatal(err)
	}
	return out
}

func outcomesOf(events []approvals.Event, match func(approvals.Event) bool) []string {
	var out []string
	for _, e := range events {
		if match(e) {
			out = append(out, string(e.Outcome))
		}
	}
	return out
}

func TestAudit_OneRowPerOutcome(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		h := newHarness(t, harnessOptions{approval: true, dsn: dsn})
		h.start()

		// Refusals are audited with who and why.
		h.slash(mallory, "contoso.onmicrosoft.com "+plainUPN)
		h.slash(dave, "contoso.onmicrosoft.com "+plainUPN)
		// Request → approve → reset.
		card := h.request(alice, "contoso.onmicrosoft.com "+plainUPN+" INC-1")
		done := buttonValue(t, card.Blocks, actApprove)
		h.click(bob, card, actApprove)
		h.click(alice, h.dmWithButton(alice, actReset), actReset)
		// Deny, withdraw.
		card = h.request(alice, "contoso.onmicrosoft.com "+helpdeskUPN)
		denied := buttonValue(t, card.Blocks, actApprove)
		h.deny(bob, card, "wrong user")
		card = h.request(alice, "contoso.onmicrosoft.com "+helpdeskUPN)
		cancelled := buttonValue(t, card.Blocks, actApprove)
		h.click(alice, h.dmWithButton(alice, actCancel), actCancel)

		events := h.events()
		byRequest := func(id string) []string {
			return outcomesOf(events, func(e approvals.Event) bool { return e.RequestID == id })
		}
		for id, want := range map[string]string{
			done:      "requested approved reset_intent reset_done",
			denied:    "requested denied",
			cancelled: "requested cancelled",
		} {
			if got := strings.Join(byRequest(id), " "); got != want {
				t.Errorf("request %s audited as %q, want %q", id, got, want)
			}
		}
		refusals := outcomesOf(events, func(e approvals.Event) bool { return e.Outcome == approvals.OutcomeRefused })
		if len(refusals) != 2 {
			t.Errorf("%d refusal rows, want 2 (no grant, other customer)", len(refusals))
		}
		pw := h.lastResetPassword()
		for _, e := range events {
			if e.Time.IsZero() || e.ActorID == "" || e.CorrelationID == "" || e.Hash == "" {
				t.Errorf("row %d lacks time, actor, correlation ID or hash: %+v", e.Seq, e)
			}
			if e.RequestID != "" && (e.TenantID != contosoTenant || e.CustomerDomain == "" || e.TargetObjectID == "" || e.TargetUPN == "") {
				t.Errorf("row %d lacks customer or target: %+v", e.Seq, e)
			}
			raw, _ := json.Marshal(e)
			if pw != "" && strings.Contains(string(raw), pw) {
				t.Fatalf("row %d holds the password", e.Seq)
			}
		}
		// The reset rows carry the requester as actor and the approver on approval.
		for _, e := range events {
			if e.RequestID == done && e.Outcome == approvals.OutcomeApproved && e.ActorID != bob {
				t.Errorf("approval row actor %s, want %s", e.ActorID, bob)
			}
		}
		// Every outcome is mirrored to the audit channel, never with the password.
		h.waitFor("audit channel posts", func() bool { return len(h.slack.Messages(auditChannel)) >= len(events) })
		for _, m := range h.slack.Messages(auditChannel) {
			if strings.Contains(m.Text+string(m.Blocks), pw) {
				t.Fatal("audit channel message holds the password")
			}
		}
		if rep, err := h.app.store.Verify(context.Background()); err != nil || !rep.OK {
			t.Fatalf("verify: %+v %v", rep, err)
		}
	})
}

func TestAudit_NoApprovalFlowRows(t *testing.T) {
	h := newHarness(t, harnessOptions{approval: false})
	h.start()
	h.slash(alice, "contoso.onmicrosoft.com "+plainUPN+" INC-2")
	got := strings.Join(outcomesOf(h.events(), func(e approvals.Event) bool { return e.TargetUPN == plainUPN }), " ")
	if got != "reset_intent reset_done" {
		t.Fatalf("no-approval reset audited as %q", got)
	}
}

// rawDB opens the SQLite file behind the store as an attacker (or a test
// injecting a failure) would.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestAudit_WriteFailureMeansNoReset(t *testing.T) {
	t.Run("without approval", func(t *testing.T) {
		dsn := dbtest.SQLite(t)
		h := newHarness(t, harnessOptions{approval: false, dsn: dsn})
		h.start()
		failAuditInserts(t, dsn)
		reply := h.slash(alice, "contoso.onmicrosoft.com "+plainUPN)
		if !strings.Contains(reply, "could not write its audit record") {
			t.Fatalf("reply = %q", reply)
		}
		if h.patches() != 0 {
			t.Fatal("Partner Center was written without a durable intent")
		}
	})
	t.Run("reset after approval", func(t *testing.T) {
		dsn := dbtest.SQLite(t)
		h := newHarness(t, harnessOptions{approval: true, dsn: dsn})
		h.start()
		card := h.request(alice, "contoso.onmicrosoft.com "+plainUPN)
		h.click(bob, card, actApprove)
		resetDM := h.dmWithButton(alice, actReset)
		failAuditInserts(t, dsn)
		reply := h.click(alice, resetDM, actReset)
		if !strings.Contains(reply, "did not reset") {
			t.Fatalf("reply = %q", reply)
		}
		if h.patches() != 0 {
			t.Fatal("Partner Center was written without a durable intent")
		}
		if st := h.requestState(buttonValue(t, resetDM.Blocks, actReset)); st != approvals.StateApproved {
			t.Fatalf("state %s, want approved (the claim rolled back with its audit row)", st)
		}
	})
}

func failAuditInserts(t *testing.T, path string) {
	t.Helper()
	if _, err := rawDB(t, path).Exec(`CREATE TRIGGER test_fail_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'disk full'); END`); err != nil {
		t.Fatal(err)
	}
}

// TestAudit_VerifyCommand builds a real trail, then tampers with a copy of it in
// each way an insider might, and runs `locksmith audit verify` on each.
func TestAudit_VerifyCommand(t *testing.T) {
	dsn := dbtest.SQLite(t)
	h := newHarness(t, harnessOptions{approval: true, dsn: dsn})
	h.start()
	for i := 0; i < 2; i++ {
		card := h.request(alice, "contoso.onmicrosoft.com "+plainUPN+" INC-3")
		h.click(bob, card, actApprove)
		h.click(alice, h.dmWithButton(alice, actReset), actReset)
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	verify := func(path string) (int, string) {
		var out, errOut lockedBuffer
		code := run(context.Background(), []string{"audit", "verify"}, func(k string) string {
			if k == "LOCKSMITH_DATABASE_URL" {
				return path
			}
			return ""
		}, &out, &errOut)
		return code, out.String() + errOut.String()
	}
	if code, out := verify(dsn); code != 0 || !strings.Contains(out, "intact") {
		t.Fatalf("intact trail: exit %d, %s", code, out)
	}

	const cols = "at, actor_id, actor_name, tenant_id, customer_domain, target_object_id, target_upn, request_id, correlation_id, outcome, detail, prev_hash, hash"
	// want names the row verify must report: the tampered one, or for a
	// deletion the row after the gap.
	tampers := map[string][]string{
		"edited row":  {`UPDATE audit_events SET actor_id = 'U0MALLORY' WHERE seq = 3`},
		"deleted row": {`DELETE FROM audit_events WHERE seq = 3`},
		"reordered rows": {
			`CREATE TEMP TABLE r3 AS SELECT * FROM audit_events WHERE seq = 3`,
			`CREATE TEMP TABLE r4 AS SELECT * FROM audit_events WHERE seq = 4`,
			`UPDATE audit_events SET (` + cols + `) = (SELECT ` + cols + ` FROM r4) WHERE seq = 3`,
			`UPDATE audit_events SET (` + cols + `) = (SELECT ` + cols + ` FROM r3) WHERE seq = 4`,
		},
		"inserted row": {
			`UPDATE audit_events SET seq = seq + 1000 WHERE seq >= 3`,
			`UPDATE audit_events SET seq = seq - 999 WHERE seq >= 1003`,
			`INSERT INTO audit_events (seq, ` + cols + `) SELECT 3, ` + cols + ` FROM audit_events WHERE seq = 2`,
		},
	}
	for name, stmts := range tampers {
		t.Run(name, func(t *testing.T) {
			path := copyFile(t, dsn)
			db := rawDB(t, path)
			for _, s := range append([]string{`DROP TRIGGER audit_events_no_update`, `DROP TRIGGER audit_events_no_delete`}, stmts...) {
				if _, err := db.Exec(s); err != nil {
					t.Fatalf("%s: %v", s, err)
				}
			}
			db.Close()
			want := "row 3"
			if name == "deleted row" {
				want = "row 4"
			}
			code, out := verify(path)
			if code != exitFailed || !strings.Contains(out, want) {
				t.Fatalf("exit %d, output %q; want exit 1 naming %s", code, out, want)
			}
		})
	}
}

func copyFile(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir() + "/copy.db"
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestAudit_ExportCommand(t *testing.T) {
	dsn := dbtest.SQLite(t)
	h := newHarness(t, harnessOptions{approval: false, dsn: dsn})
	h.start()
	h.slash(alice, "contoso.onmicrosoft.com "+plainUPN)
	h.slash(dave, "fabrikam.onmicrosoft.com "+fabrikamUser)
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	export := func(args ...string) []map[string]any {
		var out, errOut lockedBuffer
		code := run(context.Background(), append([]string{"audit", "export"}, args...), func(k string) string {
			if k == "LOCKSMITH_DATABASE_URL" {
				return dsn
			}
			return ""
		}, &out, &errOut)
		if code != 0 {
			t.Fatalf("export %v: exit %d: %s", args, code, errOut.String())
		}
		var rows []map[string]any
		for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			if line == "" {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			rows = append(rows, m)
		}
		return rows
	}
	all := export()
	if len(all) != 4 {
		t.Fatalf("%d rows, want 4 (two intents, two outcomes)", len(all))
	}
	for _, r := range export("--customer", "fabrikam.onmicrosoft.com") {
		if r["customer_domain"] != "fabrikam.onmicrosoft.com" {
			t.Fatalf("--customer let through %v", r)
		}
	}
	if n := len(export("--customer", fabrikamTenant)); n != 2 {
		t.Fatalf("--customer by tenant ID: %d rows, want 2", n)
	}
	if n := len(export("--since", "1h")); n != 4 {
		t.Fatalf("--since 1h: %d rows", n)
	}
	if n := len(export("--since", "2999-01-01")); n != 0 {
		t.Fatalf("--since in the future: %d rows", n)
	}
}

// TestTokens_RotatedRefreshTokenSurvivesRestart: after a restart locksmith
// redeems the newest stored refresh token, not the one in the environment, and
// the database holds it only encrypted.
func TestTokens_RotatedRefreshTokenSurvivesRestart(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		h := newHarness(t, harnessOptions{approval: false, dsn: dsn})
		h.start()
		h.slash(alice, "contoso.onmicrosoft.com "+plainUPN)
		if err := h.stop(); err != nil {
			t.Fatal(err)
		}
		calls := h.pc.TokenCalls()
		if len(calls) == 0 {
			t.Fatal("no token call")
		}
		newest := calls[len(calls)-1].IssuedRefreshToken
		envToken := h.env["PARTNER_REFRESH_TOKEN"]

		h.start()
		h.slash(alice, "contoso.onmicrosoft.com "+plainUPN)
		after := h.pc.TokenCalls()[len(calls):]
		if len(after) == 0 {
			t.Fatal("no token call after restart")
		}
		used := after[0].Form.Get("refresh_token")
		if used == envToken {
			t.Fatal("after a restart locksmith went back to PARTNER_REFRESH_TOKEN")
		}
		if used != newest {
			t.Fatal("after a restart locksmith did not use the newest rotated refresh token")
		}
	})
}

// TestCheck runs `locksmith check` against the fakes: without a secret key it
// warns that rotated tokens are not kept, and a dead refresh token fails it.
func TestCheck(t *testing.T) {
	h := newCheckHarness(t)
	delete(h.env, "LOCKSMITH_SECRET_KEY")
	code, out := h.check()
	if code != 0 {
		t.Fatalf("check: exit %d\n%s", code, out)
	}
	for _, want := range []string{"configuration: OK", "Slack bot token: OK", "Partner Center token: OK", "warning: LOCKSMITH_SECRET_KEY is not set", "90 days"} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
	h.pc.RevokeRefreshTokens(700082)
	if code, out = h.check(); code != exitFailed {
		t.Fatalf("check with a dead refresh token: exit %d, want 1\n%s", code, out)
	}
	if !strings.Contains(out, "Partner Center token: FAIL") {
		t.Fatalf("check output:\n%s", out)
	}
}

// TestAudit_FailurePathRows covers the outcomes the happy paths do not reach:
// a rejected reset, a transient failure that keeps the approval, a password
// Slack would not show, an expiry, and a reset interrupted by a crash.
func TestAudit_FailurePathRows(t *testing.T) {
	dsn := dbtest.SQLite(t)
	h := newHarness(t, harnessOptions{approval: true, dsn: dsn})
	h.start()
	ctx := context.Background()
	approved := func(target string) (string, fakeslack.Message) {
		card := h.request(alice, "contoso.onmicrosoft.com "+target)
		h.click(bob, card, actApprove)
		dm := h.dmWithButton(alice, actReset)
		return buttonValue(t, dm.Blocks, actReset), dm
	}
	rows := func(id string) string {
		return strings.Join(outcomesOf(h.events(), func(e approvals.Event) bool { return e.RequestID == id }), " ")
	}

	t.Run("rejected by Partner Center", func(t *testing.T) {
		defer h.use(t)()
		id, dm := approved(plainUPN)
		h.pc.AddFault(fakepartner.Fault{Method: "PATCH", PathContains: "/resetpassword", Status: 400, Code: "800002", Description: "Invalid request input", Times: 1})
		if r := h.click(alice, dm, actReset); !strings.Contains(r, "*not* reset") || !strings.Contains(r, "HTTP 400, code 800002") || strings.Contains(r, "Invalid request input") {
			t.Fatalf("reply = %q", r)
		}
		if got := rows(id); got != "requested approved reset_intent reset_failed" {
			t.Fatalf("rows %q", got)
		}
	})
	t.Run("transient failure keeps the approval", func(t *testing.T) {
		defer h.use(t)()
		id, dm := approved(plainUPN)
		h.pc.AddFault(fakepartner.Fault{Method: "PATCH", Status: 503})
		r := h.click(alice, dm, actReset)
		h.pc.ClearFaults()
		if !strings.Contains(r, "approval still stands") {
			t.Fatalf("reply = %q", r)
		}
		if got := rows(id); got != "requested approved reset_intent reset_released" {
			t.Fatalf("rows %q", got)
		}
		if r := h.click(alice, dm, actReset); !strings.Contains(r, "Done") {
			t.Fatalf("second try: %q", r)
		}
	})
	t.Run("password could not be shown", func(t *testing.T) {
		defer h.use(t)()
		id, dm := approved(plainUPN)
		h.slack.Fail("chat.postEphemeral", fakeslack.Failure{Error: "messages_tab_disabled", Times: 1})
		if r := h.click(alice, dm, actReset); !strings.Contains(r, "password is lost") {
			t.Fatalf("reply = %q", r)
		}
		if got := rows(id); got != "requested approved reset_intent reset_done delivery_failed" {
			t.Fatalf("rows %q", got)
		}
	})
	t.Run("expired", func(t *testing.T) {
		defer h.use(t)()
		card := h.request(alice, "contoso.onmicrosoft.com "+plainUPN)
		id := buttonValue(t, card.Blocks, actApprove)
		h.clock.Advance(time.Hour)
		if err := h.app.svc.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if got := rows(id); got != "requested expired" {
			t.Fatalf("rows %q", got)
		}
	})
	t.Run("interrupted by a crash", func(t *testing.T) {
		defer h.use(t)()
		id, _ := approved(plainUPN)
		// What a replica that died right after claiming leaves behind.
		if _, err := h.app.store.ClaimReset(ctx, id, alice, "crashed-correlation"); err != nil {
			t.Fatal(err)
		}
		// Ten minutes ago by the database's clock, which decides staleness.
		if _, err := rawDB(t, dsn).Exec(`UPDATE requests SET claimed_at = strftime('%Y-%m-%dT%H:%M:%f000Z', 'now', '-600 seconds') WHERE id = ?`, id); err != nil {
			t.Fatal(err)
		}
		if err := h.app.svc.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if got := rows(id); got != "requested approved reset_intent reset_unknown" {
			t.Fatalf("rows %q", got)
		}
		h.dmContaining(alice, "does not know whether the reset happened")
	})
	if rep, err := h.app.store.Verify(ctx); err != nil || !rep.OK {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}

// TestTokens_ScheduledRefresh: with nobody resetting anything, locksmith still
// redeems (and so renews) the refresh token on schedule.
func TestTokens_ScheduledRefresh(t *testing.T) {
	defer func(d time.Duration) { tokenKeepAlive = d }(tokenKeepAlive)
	tokenKeepAlive = 20 * time.Millisecond
	h := newHarness(t, harnessOptions{approval: true})
	h.start()
	h.waitFor("scheduled refreshes", func() bool { return len(h.pc.TokenCalls()) >= 4 })
	calls := h.pc.TokenCalls()
	for i := 1; i < len(calls); i++ {
		if calls[i].Form.Get("refresh_token") != calls[i-1].IssuedRefreshToken {
			t.Fatalf("refresh %d did not use the token issued by refresh %d", i, i-1)
		}
	}
}
