package main

import (
	"strings"
	"testing"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/internal/dbtest"
)

// Issue #8: Slack redelivers an envelope when its ack was late or its socket
// dropped. A slash command is acted on once, decided in the database.

// redeliverTwice sends env again (with a new envelope_id and with the same one)
// and waits until every redelivery is acked and the harness's logs show jobsDone
// finished jobs in all (so the redeliveries have been worked on).
func (h *harness) redeliverTwice(env string, jobsDone int) {
	h.t.Helper()
	ctx := h.ctx()
	for _, newID := range []bool{true, false} {
		id, err := h.slack.Redeliver(ctx, env, "timeout", newID)
		if err != nil {
			h.t.Fatal(err)
		}
		if _, err := h.slack.WaitAck(ctx, id); err != nil {
			h.t.Fatalf("redelivery not acked: %v", err)
		}
	}
	h.waitJobsDone(jobsDone)
}

// waitJobsDone waits until the bot has finished n jobs in all.
func (h *harness) waitJobsDone(n int) {
	h.t.Helper()
	h.waitFor("the redeliveries to be worked on", func() bool {
		return strings.Count(h.logs.String(), `"msg":"workflow done"`) >= n
	})
}

func countOutcome(events []approvals.Event, o approvals.Outcome) int {
	n := 0
	for _, e := range events {
		if e.Outcome == o {
			n++
		}
	}
	return n
}

func TestE2E_RedeliveredSlashCommandActedOnOnce(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		t.Run("approval required: one request, one card", func(t *testing.T) {
			h := newHarness(t, harnessOptions{approval: true, dsn: dsn})
			h.start()
			env, err := h.slack.SlashCommand(h.ctx(), alice, helpdeskChannel, "/reset-password", "contoso.onmicrosoft.com "+plainUPN+" INC-7")
			if err != nil {
				t.Fatal(err)
			}
			// Redelivered while the first delivery may still be at work.
			h.redeliverTwice(env, 3)
			if r := h.replyTo(env); !strings.Contains(r, "Request sent for approval") {
				t.Fatalf("reply = %q", r)
			}
			h.waitFor("approval card", func() bool { return len(h.slack.Messages(approvalsChannel)) > 0 })
			if n := len(h.slack.Messages(approvalsChannel)); n != 1 {
				t.Errorf("%d approval cards, want 1", n)
			}
			if n := countOutcome(h.events(), approvals.OutcomeRequested); n != 1 {
				t.Errorf("%d requests recorded, want 1", n)
			}
			if n := strings.Count(h.logs.String(), "redelivered slash command ignored"); n != 2 {
				t.Errorf("%d deliveries logged as redeliveries, want 2", n)
			}
			if n := len(h.slack.ResponseURLPosts()); n != 1 {
				t.Errorf("%d replies, want 1 (the redeliveries stay silent)", n)
			}
		})

		t.Run("no approval: one reset, one password", func(t *testing.T) {
			h := newHarness(t, harnessOptions{approval: false, dsn: dsn})
			h.start()
			env, err := h.slack.SlashCommand(h.ctx(), alice, helpdeskChannel, "/reset-password", "contoso.onmicrosoft.com "+plainUPN+" INC-7")
			if err != nil {
				t.Fatal(err)
			}
			if r := h.replyTo(env); !strings.Contains(r, "was reset") {
				t.Fatalf("reply = %q", r)
			}
			h.redeliverTwice(env, 3)
			if n := h.patches(); n != 1 {
				t.Errorf("%d resets, want 1", n)
			}
			h.assertPasswordOnlyInEphemeral(alice, h.lastResetPassword())

			// A restart does not forget: the command is still claimed.
			if err := h.stop(); err != nil {
				t.Fatal(err)
			}
			h.start()
			h.redeliverTwice(env, 5)
			if n := h.patches(); n != 1 {
				t.Errorf("%d resets after a restart and redelivery, want 1", n)
			}
		})
	})
}

// Two replicas on one PostgreSQL database: the redelivery lands on the other
// replica's socket, which does not act on it either.
func TestProcess_RedeliveryToAnotherReplica(t *testing.T) {
	h := twoReplicas(t, false)
	ctx := h.ctx()
	env, err := h.slack.SlashCommand(ctx, alice, helpdeskChannel, "/reset-password", "contoso.onmicrosoft.com "+plainUPN+" INC-7")
	if err != nil {
		t.Fatal(err)
	}
	// At once, and with a new envelope ID: round-robin sends it to the other socket.
	again, err := h.slack.Redeliver(ctx, env, "timeout", true)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := h.slack.EnvelopeConnection(env)
	b, _ := h.slack.EnvelopeConnection(again)
	if a == b {
		t.Fatalf("both deliveries went to connection %d; want the two replicas", a)
	}
	if r := h.replyTo(env); !strings.Contains(r, "was reset") {
		t.Fatalf("reply = %q", r)
	}
	h.waitJobsDone(2)
	if n := h.patches(); n != 1 {
		t.Errorf("%d resets, want 1", n)
	}
	h.assertPasswordOnlyInEphemeral(alice, h.lastResetPassword())
}
