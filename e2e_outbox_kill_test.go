package main

import (
	"context"
	"strings"
	"testing"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/internal/dbtest"
	"github.com/locksmithbot/locksmith/internal/fakeslack"
)

// A Slack message a state change owes is written with the change,
// so a locksmith killed while Slack refuses it delivers it after the restart,
// once. Each test makes Slack refuse one message, lets locksmith try it, kills
// locksmith with SIGKILL, lets Slack answer again and restarts locksmith on
// the same database.

// openStore opens the database the child processes use, so the test can watch
// the outbox.
func openStore(t *testing.T, dsn string) *approvals.Store {
	t.Helper()
	store, err := approvals.Open(context.Background(), dsn, approvals.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// waitRetrying waits until the newest message of kind about requestID was
// tried, refused and put back to wait for its retry. A kill then finds
// nothing mid-send: a message being sent when its process dies is only
// taken over after the lease (45 s), which other tests cover.
func (h *harness) waitRetrying(store *approvals.Store, requestID, kind string) {
	h.t.Helper()
	h.waitFor("a refused "+kind+" waiting for its retry", func() bool {
		state, lastErr, ok, err := store.MessageState(context.Background(), requestID, kind)
		return err == nil && ok && state == approvals.OutboxPending && lastErr != ""
	})
}

// waitOutboxEmpty waits until no owed message is pending or being sent: what
// the restarted locksmith was going to send, it has sent.
func (h *harness) waitOutboxEmpty(store *approvals.Store) {
	h.t.Helper()
	h.waitFor("the outbox to empty", func() bool {
		q, err := store.Queued(context.Background())
		return err == nil && len(q) == 0
	})
}

// dmsWith lists the DMs to user that match.
func (h *harness) dmsWith(user string, match func(fakeslack.Message) bool) []fakeslack.Message {
	var out []fakeslack.Message
	for _, m := range h.dms(user) {
		if match(m) {
			out = append(out, m)
		}
	}
	return out
}

func verifyAudit(t *testing.T, store *approvals.Store) {
	t.Helper()
	if rep, err := store.Verify(context.Background()); err != nil || !rep.OK {
		t.Fatalf("audit chain after the kill: %+v, %v", rep, err)
	}
}

// The approval's DM with *Reset password now* is refused, locksmith dies; the
// restarted locksmith sends it once, and it resets.
func TestProcess_KilledWhileApprovalDMRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("runs locksmith as a child process")
	}
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		h := newHarness(t, harnessOptions{approval: true, dsn: dsn})
		p := h.spawn("run")
		h.waitConnections(1)
		store := openStore(t, dsn)

		card := h.request(alice, "contoso.onmicrosoft.com "+plainUPN+" INC-1301")
		id := buttonValue(t, card.Blocks, actApprove)
		h.dmWithButton(alice, actCancel) // the pending notice went before Slack failed
		dm := h.slack.DMChannel(alice)
		before := h.postsTo(dm)
		h.slack.Fail("chat.postMessage", fakeslack.Failure{Status: 500, Times: -1, Channel: dm})
		if r := h.click(bob, card, actApprove); !strings.Contains(r, "Approved") {
			t.Fatalf("approve reply = %q", r)
		}
		h.waitRetrying(store, id, approvals.MessageDM)
		if h.postsTo(dm) == before {
			t.Fatal("the outbox says the DM was refused, but Slack saw no attempt")
		}
		p.kill9(t)
		h.slack.ClearFailures("chat.postMessage")

		h.spawn("run")
		h.waitConnections(2)
		resetDM := h.dmWithButton(alice, actReset)
		h.waitOutboxEmpty(store)
		if n := len(h.dmsWith(alice, func(m fakeslack.Message) bool { return hasButton(m.Blocks, actReset) })); n != 1 {
			t.Fatalf("%d DMs with Reset password now, want 1", n)
		}
		if got := buttonValue(t, resetDM.Blocks, actReset); got != id {
			t.Fatalf("the Reset button is for %s, want %s", got, id)
		}
		if r := h.click(alice, resetDM, actReset); !strings.Contains(r, "Done") {
			t.Fatalf("reset reply = %q", r)
		}
		if n := h.patches(); n != 1 {
			t.Fatalf("%d PATCH calls, want 1", n)
		}
		h.assertPasswordOnlyInEphemeral(alice, h.lastResetPassword())
		verifyAudit(t, store)
	})
}

// The denial's notice is refused, locksmith dies; the restarted locksmith
// tells the requester once, with the reason.
func TestProcess_KilledWhileDenialNoticeRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("runs locksmith as a child process")
	}
	const reason = "wrong customer, see INC-1302"
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		h := newHarness(t, harnessOptions{approval: true, dsn: dsn})
		p := h.spawn("run")
		h.waitConnections(1)
		store := openStore(t, dsn)

		card := h.request(alice, "contoso.onmicrosoft.com "+plainUPN+" INC-1302")
		id := buttonValue(t, card.Blocks, actApprove)
		h.dmWithButton(alice, actCancel)
		dm := h.slack.DMChannel(alice)
		h.slack.Fail("chat.postMessage", fakeslack.Failure{Status: 500, Times: -1, Channel: dm})
		if r := h.deny(bob, card, reason); !strings.Contains(r, "Denied") {
			t.Fatalf("deny reply = %q", r)
		}
		h.waitRetrying(store, id, approvals.MessageDM)
		p.kill9(t)
		h.slack.ClearFailures("chat.postMessage")

		h.spawn("run")
		h.waitConnections(2)
		h.dmContaining(alice, "denied your request")
		h.waitOutboxEmpty(store)
		denied := h.dmsWith(alice, func(m fakeslack.Message) bool { return strings.Contains(m.Text+plain(m.Blocks), "denied your request") })
		if len(denied) != 1 {
			t.Fatalf("%d denial notices, want 1", len(denied))
		}
		if !strings.Contains(denied[0].Text+plain(denied[0].Blocks), reason) {
			t.Fatalf("the denial notice lacks the reason: %q %s", denied[0].Text, denied[0].Blocks)
		}
		if st := h.requestStateIn(store, id); st != approvals.StateDenied {
			t.Fatalf("request state %s, want denied", st)
		}
		verifyAudit(t, store)
	})
}

// A new request's card is refused, locksmith dies; the restarted locksmith
// posts the card once, it can be approved, and the requester's pending notice
// (which waits for the card) arrives once.
func TestProcess_KilledWhileCardRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("runs locksmith as a child process")
	}
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		h := newHarness(t, harnessOptions{approval: true, dsn: dsn})
		p := h.spawn("run")
		h.waitConnections(1)
		store := openStore(t, dsn)

		h.slack.Fail("chat.postMessage", fakeslack.Failure{Status: 500, Times: -1, Channel: approvalsChannel})
		if r := h.slash(alice, "contoso.onmicrosoft.com "+plainUPN+" INC-1303"); !strings.Contains(r, "Request recorded") || !strings.Contains(r, "queued") {
			t.Fatalf("request reply = %q", r)
		}
		id := h.requestedID(store)
		h.waitRetrying(store, id, approvals.MessageCard)
		if h.postsTo(approvalsChannel) == 0 {
			t.Fatal("the outbox says the card was refused, but Slack saw no attempt")
		}
		if n := len(h.slack.Messages(approvalsChannel)); n != 0 {
			t.Fatalf("%d cards while Slack refuses them", n)
		}
		p.kill9(t)
		h.slack.ClearFailures("chat.postMessage")

		h.spawn("run")
		h.waitConnections(2)
		h.waitFor("the approval card", func() bool { return len(h.slack.Messages(approvalsChannel)) > 0 })
		h.dmWithButton(alice, actCancel)
		h.waitOutboxEmpty(store)
		if n := len(h.slack.Messages(approvalsChannel)); n != 1 {
			t.Fatalf("%d approval cards, want 1", n)
		}
		if n := len(h.dmsWith(alice, func(m fakeslack.Message) bool { return hasButton(m.Blocks, actCancel) })); n != 1 {
			t.Fatalf("%d pending notices, want 1", n)
		}
		card := h.card()
		if got := buttonValue(t, card.Blocks, actApprove); got != id {
			t.Fatalf("the card is for %s, want %s", got, id)
		}
		if r := h.click(bob, card, actApprove); !strings.Contains(r, "Approved") {
			t.Fatalf("approve reply = %q", r)
		}
		h.dmWithButton(alice, actReset)
		if n := len(h.slack.Messages(approvalsChannel)); n != 1 {
			t.Fatalf("%d approval cards after approving, want 1 (updated in place)", n)
		}
		verifyAudit(t, store)
	})
}

// requestedID is the ID of the only request recorded so far.
func (h *harness) requestedID(store *approvals.Store) string {
	h.t.Helper()
	var ids []string
	err := store.Events(context.Background(), approvals.EventFilter{}, func(e approvals.Event) error {
		if e.Outcome == approvals.OutcomeRequested {
			ids = append(ids, e.RequestID)
		}
		return nil
	})
	if err != nil || len(ids) != 1 {
		h.t.Fatalf("requests recorded: %v, %v; want one", ids, err)
	}
	return ids[0]
}

func (h *harness) requestStateIn(store *approvals.Store, id string) approvals.State {
	h.t.Helper()
	r, err := store.Get(context.Background(), id)
	if err != nil {
		h.t.Fatalf("get %s: %v", id, err)
	}
	return r.State
}
