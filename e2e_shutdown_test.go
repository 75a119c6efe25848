package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/internal/dbtest"
	"github.com/locksmithbot/locksmith/internal/fakepartner"
	"github.com/locksmithbot/locksmith/internal/fakeslack"
)

// Issue #8: "finishes in-flight work" on SIGTERM. A reset already sent to
// Partner Center is delivered and recorded before the process exits, however
// short the drain deadline; work that has not reached Partner Center is
// stopped, and its requester told.

// shortDrain makes the drain deadline pass while a slow PATCH is in flight.
func shortDrain(t *testing.T) {
	old := drainTimeout
	drainTimeout = 200 * time.Millisecond
	t.Cleanup(func() { drainTimeout = old })
}

// outcomesIn reads the audit outcomes from the database after locksmith exited.
func outcomesIn(t *testing.T, dsn string) []approvals.Outcome {
	t.Helper()
	st, err := approvals.Open(context.Background(), dsn, approvals.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var out []approvals.Outcome
	if err := st.Events(context.Background(), approvals.EventFilter{}, func(e approvals.Event) error {
		out = append(out, e.Outcome)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestE2E_ShutdownFinishesResetSentToPartnerCenter(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		for _, approval := range []bool{false, true} {
			name := "without approval"
			if approval {
				name = "with approval"
			}
			t.Run(name, func(t *testing.T) {
				shortDrain(t)
				h := newHarness(t, harnessOptions{approval: approval, dsn: dsn})
				h.start()
				ctx := h.ctx()
				// The PATCH takes far longer than the drain deadline.
				h.pc.AddFault(fakepartner.Fault{Method: "PATCH", Delay: 3 * time.Second, Times: 1})
				var env string
				var err error
				if approval {
					card := h.request(alice, "contoso.onmicrosoft.com "+plainUPN+" INC-2")
					h.click(bob, card, actApprove)
					dm := h.dmWithButton(alice, actReset)
					env, err = h.slack.Click(ctx, alice, fakeslack.MessageRef{Channel: dm.Channel, TS: dm.TS}, actReset, buttonValue(t, dm.Blocks, actReset))
				} else {
					env, err = h.slack.SlashCommand(ctx, alice, helpdeskChannel, "/reset-password", "contoso.onmicrosoft.com "+plainUPN+" INC-2")
				}
				if err != nil {
					t.Fatal(err)
				}
				if _, err := h.pc.WaitCall(ctx, func(c fakepartner.Call) bool { return c.Method == "PATCH" }); err != nil {
					t.Fatalf("no PATCH: %v", err)
				}
				if err := h.stop(); err != nil { // SIGTERM while the PATCH is in flight
					t.Fatal(err)
				}
				// locksmith has exited. Everything below happened before that.
				h.assertPasswordOnlyInEphemeral(alice, h.lastResetPassword())
				var replied bool
				for _, p := range h.slack.ResponseURLPosts() {
					if p.EnvelopeID == env {
						replied = strings.Contains(string(p.Body), "in your DM")
					}
				}
				if !replied {
					t.Error("the requester was not told the reset was done")
				}
				outcomes := outcomesIn(t, dsn)
				if len(outcomes) == 0 || outcomes[len(outcomes)-1] != approvals.OutcomeResetDone {
					t.Errorf("audit outcomes = %v, want the last to be reset_done", outcomes)
				}
				if n := spooled(t, h); n != 0 {
					t.Errorf("%d outcome records left spooled; want them in the database", n)
				}
			})
		}
	})
}

// Work still looking things up when the drain deadline passes is stopped
// before Partner Center is asked to change anything, and the requester is told.
func TestE2E_ShutdownStopsWorkNotYetAtPartnerCenter(t *testing.T) {
	shortDrain(t)
	h := newHarness(t, harnessOptions{approval: false})
	h.start()
	ctx := h.ctx()
	h.pc.AddFault(fakepartner.Fault{Method: "GET", PathContains: "/users", Delay: 20 * time.Second, Times: 1})
	env, err := h.slack.SlashCommand(ctx, alice, helpdeskChannel, "/reset-password", "contoso.onmicrosoft.com "+plainUPN+" INC-3")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.pc.WaitCall(ctx, func(c fakepartner.Call) bool { return c.Method == "GET" && strings.Contains(c.Path, "/users") }); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("shutdown took %s; work not yet at Partner Center should not hold it", d)
	}
	if h.patches() != 0 {
		t.Error("a PATCH was sent after shutdown began")
	}
	var reply string
	for _, p := range h.slack.ResponseURLPosts() {
		if p.EnvelopeID == env {
			reply = string(p.Body)
		}
	}
	if !strings.Contains(reply, "before any password was changed") {
		t.Errorf("reply = %q, want the requester told nothing was changed", reply)
	}
}
