package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/internal/dbtest"
	"github.com/locksmithbot/locksmith/internal/fakeslack"
)

// TestProcess_TwoReplicas runs two locksmith processes on one PostgreSQL
// database and one Slack app. The fake spreads envelopes over both sockets, as
// Slack does, so requests and clicks land on different replicas; simultaneous
// clicks on the two replicas still give one transition and at most one reset.
func TestProcess_TwoReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("runs locksmith as child processes")
	}
	dsn := dbtest.Postgres(t)
	h := newHarness(t, harnessOptions{approval: true, dsn: dsn})
	h.spawn("run")
	h.spawn("run")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.slack.WaitLiveConnections(ctx, 2); err != nil {
		t.Fatal(err)
	}

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

	// Simultaneous clicks, delivered to the two replicas.
	const trials = 10
	for i := 0; i < trials; i++ {
		card := h.request(alice, "contoso.onmicrosoft.com "+helpdeskUPN)
		var wg sync.WaitGroup
		replies := make([]string, 2)
		envs := make([]string, 2)
		for j, user := range []string{bob, grace} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				envs[j], replies[j] = clickOn(user, card, actApprove)
			}()
		}
		wg.Wait()
		if strings.Count(replies[0]+replies[1], "Approved.") != 1 {
			t.Fatalf("trial %d: replies %q", i, replies)
		}
		resetDM := h.dmWithButton(alice, actReset)
		before := h.patches()
		for j := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				envs[j], replies[j] = clickOn(alice, resetDM, actReset)
			}()
		}
		wg.Wait()
		if got := h.patches() - before; got != 1 {
			t.Fatalf("trial %d: %d PATCH calls from two reset clicks, want 1 (%q)", i, got, replies)
		}
		if conn(envs[0]) == conn(envs[1]) {
			t.Logf("trial %d: both reset clicks reached connection %d", i, conn(envs[0]))
		}
	}
	if u := h.slack.Unexpected(); len(u) > 0 {
		t.Errorf("fake Slack saw unexpected traffic: %v", u)
	}
}
