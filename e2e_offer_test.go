package main

import (
	"strings"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/internal/dbtest"
	"github.com/locksmithbot/locksmith/internal/fakeslack"
)

// Issue #8: the DM carrying *Reset password now* is the only place the button
// appears; a refused DM is retried, and a requester who cannot be reached is
// shown on the approval card and in the trail.

// postsTo counts chat.postMessage calls to a channel.
func (h *harness) postsTo(channel string) int {
	n := 0
	for _, c := range h.slack.Calls() {
		if c.Method == "chat.postMessage" && c.Form.Get("channel") == channel {
			n++
		}
	}
	return n
}

func TestE2E_ResetButtonDMRetried(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		h := newHarness(t, harnessOptions{approval: true, dsn: dsn})
		h.start()
		dm := h.slack.DMChannel(alice)

		t.Run("a refused DM is retried until it goes through", func(t *testing.T) {
			defer h.use(t)()
			card := h.request(alice, "contoso.onmicrosoft.com "+plainUPN+" INC-8")
			h.dmWithButton(alice, actCancel)
			before := h.postsTo(dm)
			h.slack.Fail("chat.postMessage", fakeslack.Failure{Error: "fatal_error", Channel: dm, Times: 2})
			if r := h.click(bob, card, actApprove); !strings.Contains(r, "Approved") {
				t.Fatalf("approve reply = %q", r)
			}
			resetDM := h.dmWithButton(alice, actReset)
			if n := h.postsTo(dm) - before; n != 3 {
				t.Errorf("%d DM attempts, want 3 (two refused, one delivered)", n)
			}
			if r := h.click(alice, resetDM, actReset); !strings.Contains(r, "Done") {
				t.Fatalf("reset reply = %q", r)
			}
		})

		t.Run("a requester who cannot be reached is shown on the card", func(t *testing.T) {
			defer h.use(t)()
			card := h.request(alice, "contoso.onmicrosoft.com "+plainUPN+" INC-9")
			id := buttonValue(t, card.Blocks, actApprove)
			h.dmWithButton(alice, actCancel)
			before := h.postsTo(dm)
			h.slack.Fail("chat.postMessage", fakeslack.Failure{Error: "fatal_error", Channel: dm, Times: -1})
			defer h.slack.ClearFailures("chat.postMessage")
			h.click(bob, card, actApprove)
			h.waitFor("a retried DM", func() bool { return h.postsTo(dm)-before >= 2 })
			h.clock.Advance(16 * time.Minute) // past use_within
			h.waitFor("the card to say the requester could not be reached", func() bool {
				return strings.Contains(plain(h.refreshed(card).Blocks), "could not reach <@"+alice+">")
			})
			var found bool
			for _, e := range h.events() {
				if e.RequestID == id && e.Outcome == approvals.OutcomeRequesterUnreachable {
					found = true
				}
			}
			if !found {
				t.Error("no requester_unreachable row in the audit trail")
			}
			if !strings.Contains(h.logs.String(), "requester could not be reached") {
				t.Error("not logged")
			}
		})
	})
}
