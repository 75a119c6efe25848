package main

import (
	"strings"
	"testing"

	"github.com/locksmithbot/locksmith/internal/dbtest"
	"github.com/locksmithbot/locksmith/internal/fakeslack"
)

// Issue #11: the App Home. Opening it publishes your Home; transitions that
// concern you refresh it; its buttons work like those in cards and DMs; and
// when the DM with Reset password now cannot be delivered, the requester
// still has the button in their Home.
func TestE2E_AppHome(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		h := newHarness(t, harnessOptions{approval: true, dsn: dsn})
		h.start()
		home := func(user, want string) fakeslack.View {
			t.Helper()
			var v fakeslack.View
			h.waitFor(user+"'s Home showing "+want, func() bool {
				var ok bool
				v, ok = h.slack.HomeView(user)
				return ok && strings.Contains(plain(v.Blocks), want)
			})
			return v
		}
		for _, u := range []string{alice, bob} {
			if _, err := h.slack.OpenHome(h.ctx(), u); err != nil {
				t.Fatal(err)
			}
		}
		home(alice, "You have no requests")
		card := h.request(alice, "contoso.onmicrosoft.com "+plainUPN+" INC-11")
		id := buttonValue(t, card.Blocks, actApprove)
		home(alice, "waiting for approval")
		v := home(bob, "Approve")

		// The approval DM cannot be delivered: Slack refuses chat.postMessage
		// to the DM for a while (the card update is chat.update).
		h.slack.Fail("chat.postMessage", fakeslack.Failure{Error: "channel_not_found", Times: 1000})
		env, err := h.slack.ClickInView(h.ctx(), bob, v.ID, actApprove, id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.slack.WaitAck(h.ctx(), env); err != nil {
			t.Fatal(err)
		}
		h.waitFor("bob's reply in his DM", func() bool {
			for _, e := range h.slack.Ephemerals(h.slack.DMChannel(bob), bob) {
				if strings.Contains(e.Text, "Approved.") {
					return true
				}
			}
			return false
		})
		v = home(alice, "Reset password now")
		for _, m := range h.dms(alice) {
			if hasButton(m.Blocks, actReset) {
				t.Fatal("the DM with the Reset button was delivered after all; the test proves nothing")
			}
		}
		h.slack.ClearFailures("chat.postMessage")
		if env, err = h.slack.ClickInView(h.ctx(), alice, v.ID, actReset, id); err != nil {
			t.Fatal(err)
		}
		if _, err := h.slack.WaitAck(h.ctx(), env); err != nil {
			t.Fatal(err)
		}
		h.waitFor("the reset", func() bool { return h.lastResetPassword() != "" })
		h.waitFor("the password in alice's DM", func() bool {
			return len(h.slack.Ephemerals(h.slack.DMChannel(alice), alice)) >= 2 // the password, then the reply
		})
		h.assertPasswordOnlyInEphemeral(alice, h.lastResetPassword())
		home(alice, "password reset")
		home(bob, "Recently decided by you")
		if u := h.slack.Unexpected(); len(u) > 0 {
			t.Errorf("fake Slack saw unexpected traffic: %v", u)
		}
	})
}
