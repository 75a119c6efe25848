package main

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/locksmithbot/locksmith/internal/dbtest"
	"github.com/locksmithbot/locksmith/internal/fakeslack"
)

// twoReplicas runs two locksmith processes on one new PostgreSQL database and
// one fake Slack, and waits until both are connected.
func twoReplicas(t *testing.T, approval bool) *harness {
	t.Helper()
	if testing.Short() {
		t.Skip("runs locksmith as child processes")
	}
	h := newHarness(t, harnessOptions{approval: approval, dsn: dbtest.Postgres(t)})
	h.spawn("run")
	h.spawn("run")
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	if err := h.slack.WaitLiveConnections(ctx, 2); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestProcess_TwoReplicas runs two locksmith processes on one PostgreSQL
// database and one Slack app. The fake spreads envelopes over both sockets, as
// Slack does, so requests and clicks land on different replicas; simultaneous
// clicks on the two replicas still give one transition and at most one reset.
func TestProcess_TwoReplicas(t *testing.T) {
	h := twoReplicas(t, true)

	clickOn := func(user string, msg fakeslack.Message, actionID string) (string, string) {
		value := buttonValue(t, msg.Blocks, actionID)
		env, err := h.slack.Click(h.ctx(), user, fakeslack.MessageRef{Channel: msg.Channel, TS: msg.TS}, actionID, value)
		if err != nil {
			t.Fatal(err)
		}
		return env, h.replyTo(env)
	}
	conn := func(env string) int {
		c, ok := h.slack.EnvelopeConnection(env)
		if !ok {
			t.Fatalf("envelope %s not delivered", env)
		}
		return c
	}

	// One flow whose steps are handled by different replicas.
	card := h.request(alice, "contoso.onmicrosoft.com "+plainUPN+" INC-8")
	envA, r := clickOn(bob, card, actApprove)
	if !strings.Contains(r, "Approved") {
		t.Fatalf("approve: %q", r)
	}
	resetDM := h.dmWithButton(alice, actReset)
	envB, r := clickOn(alice, resetDM, actReset)
	if !strings.Contains(r, "Done") {
		t.Fatalf("reset: %q", r)
	}
	if conn(envA) == conn(envB) {
		t.Fatalf("approve and reset both went to connection %d; want different replicas", conn(envA))
	}
	if h.patches() != 1 {
		t.Fatalf("%d PATCH calls, want 1", h.patches())
	}
	h.assertPasswordOnlyInEphemeral(alice, h.lastResetPassword())

	// Simultaneous clicks, one delivered to each replica: 50 trials each of
	// Approve vs Approve, Approve vs Deny, and Reset vs Reset.
	const trials = 50
	both := func(a, b func() (string, string)) (envs, replies [2]string) {
		var wg sync.WaitGroup
		start := make(chan struct{})
		for j, f := range []func() (string, string){a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				envs[j], replies[j] = f()
			}()
		}
		close(start)
		wg.Wait()
		if conn(envs[0]) == conn(envs[1]) {
			t.Fatalf("both clicks reached connection %d; want one per replica", conn(envs[0]))
		}
		return envs, replies
	}
	for i := 0; i < trials; i++ {
		card := h.request(alice, "contoso.onmicrosoft.com "+helpdeskUPN)
		_, replies := both(
			func() (string, string) { return clickOn(bob, card, actApprove) },
			func() (string, string) { return clickOn(grace, card, actApprove) })
		if strings.Count(replies[0]+replies[1], "Approved.") != 1 {
			t.Fatalf("approve vs approve, trial %d: replies %q", i, replies)
		}

		// The DM arrives from the outbox of either replica, just after the
		// reply: wait for this request's, not the last one's.
		resetDM := h.dmWithButtonFor(alice, actReset, buttonValue(t, card.Blocks, actApprove))
		before := h.patches()
		_, replies = both(
			func() (string, string) { return clickOn(alice, resetDM, actReset) },
			func() (string, string) { return clickOn(alice, resetDM, actReset) })
		if got := h.patches() - before; got != 1 || strings.Count(replies[0]+replies[1], "Done.") != 1 {
			t.Fatalf("reset vs reset, trial %d: %d PATCH calls (want 1), replies %q", i, got, replies)
		}

		card = h.request(alice, "contoso.onmicrosoft.com "+helpdeskUPN)
		form := h.openDenyForm(grace, card)
		_, replies = both(
			func() (string, string) { return clickOn(bob, card, actApprove) },
			func() (string, string) { return h.submitDeny(grace, form, card.Channel, "race") })
		if approved, denied := strings.Contains(replies[0], "Approved."), strings.Contains(replies[1], "Denied."); approved == denied {
			t.Fatalf("approve vs deny, trial %d: replies %q", i, replies)
		}
	}
	if u := h.slack.Unexpected(); len(u) > 0 {
		t.Errorf("fake Slack saw unexpected traffic: %v", u)
	}
}
