package main

import (
	"os"
	"strings"
	"testing"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/internal/dbtest"
)

func spooled(t *testing.T, h *harness) int {
	t.Helper()
	entries, err := os.ReadDir(h.env["LOCKSMITH_SPOOL_DIR"])
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") {
			n++
		}
	}
	return n
}

// When the outcome row cannot be written after Partner Center reset the
// password, the password is still delivered, and the outcome is recorded as
// soon as the store allows: here, at the next start.
func TestLate_OutcomeRecordedAfterRestart(t *testing.T) {
	dsn := dbtest.SQLite(t)
	h := newHarness(t, harnessOptions{approval: false, dsn: dsn})
	h.start()
	db := rawDB(t, dsn)
	if _, err := db.Exec(`CREATE TRIGGER test_fail_done BEFORE INSERT ON audit_events WHEN NEW.outcome = 'reset_done' BEGIN SELECT RAISE(ABORT, 'disk full'); END`); err != nil {
		t.Fatal(err)
	}
	reply := h.slash(alice, "contoso.onmicrosoft.com "+plainUPN+" INC-5")
	if !strings.Contains(reply, "was reset") {
		t.Fatalf("reply = %q: the password must still be delivered", reply)
	}
	h.assertPasswordOnlyInEphemeral(alice, h.lastResetPassword())
	if n := spooled(t, h); n != 1 {
		t.Fatalf("%d spooled records, want 1", n)
	}
	if strings.Contains(string(mustRead(t, h.env["LOCKSMITH_SPOOL_DIR"])), h.lastResetPassword()) {
		t.Fatal("the spool holds the password")
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DROP TRIGGER test_fail_done`); err != nil {
		t.Fatal(err)
	}
	h.start()
	h.waitFor("the late outcome row", func() bool {
		for _, e := range h.events() {
			if e.Outcome == approvals.OutcomeResetDone && strings.Contains(e.Detail, "recorded late") {
				return true
			}
		}
		return false
	})
	h.waitFor("the spool to empty", func() bool { return spooled(t, h) == 0 })
}

// The same after sign-off, with locksmith killed by SIGKILL: the request ends
// done (not "outcome unknown") once the store takes the write.
func TestLate_FinishRecordedAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("runs locksmith as a child process")
	}
	dsn := dbtest.SQLite(t)
	h := newHarness(t, harnessOptions{approval: true, dsn: dsn})
	p := h.spawn("run")
	h.waitConnections(1)
	card := h.request(alice, "contoso.onmicrosoft.com "+plainUPN+" INC-6")
	h.click(bob, card, actApprove)
	resetDM := h.dmWithButton(alice, actReset)
	id := buttonValue(t, resetDM.Blocks, actReset)

	db := rawDB(t, dsn)
	if _, err := db.Exec(`CREATE TRIGGER test_fail_finish BEFORE UPDATE ON requests WHEN NEW.state = 'done' BEGIN SELECT RAISE(ABORT, 'disk full'); END`); err != nil {
		t.Fatal(err)
	}
	if r := h.click(alice, resetDM, actReset); !strings.Contains(r, "Done") {
		t.Fatalf("reset reply = %q", r)
	}
	h.assertPasswordOnlyInEphemeral(alice, h.lastResetPassword())
	h.waitFor("the spooled finish", func() bool { return spooled(t, h) == 1 })
	p.kill9(t)
	if _, err := db.Exec(`DROP TRIGGER test_fail_finish`); err != nil {
		t.Fatal(err)
	}

	h.spawn("run")
	h.waitConnections(2)
	h.waitFor("request done", func() bool {
		var state string
		_ = db.QueryRow(`SELECT state FROM requests WHERE id = ?`, id).Scan(&state)
		return state == string(approvals.StateDone)
	})
	h.waitFor("the spool to empty", func() bool { return spooled(t, h) == 0 })
	if h.patches() != 1 {
		t.Fatalf("%d PATCH calls, want 1", h.patches())
	}
}

func mustRead(t *testing.T, dir string) []byte {
	t.Helper()
	var all []byte
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		b, _ := os.ReadFile(dir + "/" + e.Name())
		all = append(all, b...)
	}
	return all
}
