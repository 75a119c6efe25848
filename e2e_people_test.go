package main

import (
	"strings"
	"testing"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/internal/fakeslack"
)

// A grant that names a deactivated, bot or guest account gives it nothing: the
// running bot asks Slack who each requester is and refuses, before Partner
// Center is asked anything, with an audit row saying why.
func TestE2E_NonMemberAccountsRefusedEvenWhenGranted(t *testing.T) {
	for name, acct := range map[string]fakeslack.Account{
		"deactivated": {Deleted: true},
		"bot":         {Bot: true},
		"guest":       {Restricted: true},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{approval: true})
			h.slack.SetAccount(alice, acct)
			h.start()
			reply := h.slash(alice, "contoso.onmicrosoft.com "+plainUPN)
			if !strings.Contains(reply, "active full members") || !strings.Contains(reply, "Nothing was done") {
				t.Fatalf("reply %q", reply)
			}
			if n := len(h.pc.Calls()); n != 0 {
				t.Errorf("Partner Center called %d times for a refused account", n)
			}
			if n := len(h.slack.Messages(approvalsChannel)); n != 0 {
				t.Errorf("%d approval cards posted", n)
			}
			ev := h.events()
			if len(ev) != 1 || ev[0].Outcome != approvals.OutcomeRefused || !strings.Contains(ev[0].Detail, "U0ALICE is a") {
				t.Errorf("audit rows = %+v, want one refusal naming the account", ev)
			}
		})
	}
}

// An approver whose account became a guest can no longer approve; Slack not
// answering users.info refuses too (fail closed).
func TestE2E_ApproverAccountCheckedAndFailsClosed(t *testing.T) {
	h := newHarness(t, harnessOptions{approval: true})
	h.start()
	card := h.request(alice, "contoso.onmicrosoft.com "+plainUPN)
	h.slack.SetAccount(bob, fakeslack.Account{UltraRestricted: true})
	if reply := h.click(bob, card, actApprove); !strings.Contains(reply, "single-channel guest") {
		t.Fatalf("guest approver: reply %q", reply)
	}
	h.slack.Fail("users.info", fakeslack.Failure{Error: "internal_error", Times: -1})
	if reply := h.click(carol, card, actApprove); !strings.Contains(reply, "could not check your permissions") {
		t.Fatalf("users.info failing: reply %q", reply)
	}
	h.slack.ClearFailures("users.info")
	if reply := h.click(carol, card, actApprove); !strings.HasPrefix(reply, "Approved.") {
		t.Fatalf("carol, an active member: reply %q", reply)
	}
}

// The audit trail names people by their real name from Slack, not by the
// handle in the payload (deprecated by Slack, and anyone can change theirs).
func TestE2E_AuditRecordsRealNames(t *testing.T) {
	h := newHarness(t, harnessOptions{approval: true})
	h.slack.SetAccount(alice, fakeslack.Account{RealName: "Alice Liddell"})
	h.slack.SetAccount(bob, fakeslack.Account{RealName: "Bob Marley"})
	h.start()
	card := h.request(alice, "contoso.onmicrosoft.com "+plainUPN)
	h.click(bob, card, actApprove)
	names := map[string]string{}
	for _, e := range h.events() {
		names[e.ActorID] = e.ActorName
	}
	if names[alice] != "Alice Liddell" || names[bob] != "Bob Marley" {
		t.Errorf("audit actor names = %v, want the real names", names)
	}
}

// A user group Slack cannot read takes away only the grants that name it.
func TestE2E_BrokenUsergroupFailsOnlyItsGrants(t *testing.T) {
	h := newHarness(t, harnessOptions{approval: false})
	h.slack.Fail("usergroups.users.list", fakeslack.Failure{Error: "no_such_subteam", Times: -1})
	h.start()
	// carol's grant names no group, but deciding whether grants[0] names her
	// needs the broken group: before, that failed her request too.
	if reply := h.slash(carol, "contoso.onmicrosoft.com "+plainUPN); !strings.Contains(reply, "was reset") {
		t.Fatalf("carol, granted by another grant: reply %q", reply)
	}
	if reply := h.slash(grace, "contoso.onmicrosoft.com "+plainUPN); !strings.Contains(reply, "could not check your permissions") {
		t.Fatalf("grace, granted only through the broken group: reply %q", reply)
	}
}

// An app installed from an older manifest, without users:read, keeps working
// as it did before locksmith checked account kinds (an upgrade must not lock
// every technician out), and the operator is told at start-up.
func TestE2E_MissingUsersReadScopeLoggedAtStart(t *testing.T) {
	h := newHarness(t, harnessOptions{approval: true})
	h.slack.Fail("users.info", fakeslack.Failure{Error: "missing_scope", Times: -1})
	h.start()
	h.waitFor("the missing scope in the log", func() bool { return strings.Contains(h.logs.String(), "lacks the users:read scope") })
	if reply := h.slash(alice, "contoso.onmicrosoft.com "+plainUPN); strings.Contains(reply, "could not check your permissions") {
		t.Fatalf("reply %q: without users:read a granted technician is refused", reply)
	}
	h.waitFor("the approval card", func() bool { return len(h.slack.Messages(approvalsChannel)) > 0 })
}
