package commands

import (
	"context"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/internal/dbtest"
	"github.com/locksmithbot/locksmith/partner"
	"github.com/locksmithbot/locksmith/policy"
)

// Tests of approval policies in the workflow: which rule applies, who may
// approve under it, N approvals, tickets and reasons.

const (
	leads  = "S0LEADS"
	lead1  = "U0LEAD1"
	lead2  = "U0LEAD2"
	lead3  = "U0LEAD3"
	ticket = `INC-\d{3,}`
)

// adminsRule is a realistic policy: Contoso's administrators need two leads.
func adminsRule() policy.Rule {
	return policy.Rule{
		Name: "contoso-admins", Customers: []string{custDomain}, Tiers: []policy.Tier{policy.Privileged},
		Approvers:         policy.Principals{Usergroups: []string{leads}},
		ApprovalsRequired: 2,
		Ticket:            &policy.Ticket{Pattern: regexp.MustCompile(ticket), Link: "https://psa.example.com/tickets/{ticket}"},
		ExpiresAfter:      time.Hour, UseWithin: 10 * time.Minute,
	}
}

// withLeads makes S0LEADS hold lead1..lead3 and alice a Global Administrator
// (privileged tier), and installs rules.
func withLeads(h *harness, rules ...policy.Rule) *sync.Mutex {
	var mu sync.Mutex
	members := map[string][]string{helpdesk: {"U0OTHER", groupUser}, leads: {lead1, lead2, lead3}}
	h.groups.membersFn = func(_ context.Context, id string) ([]string, error) {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), members[id]...), nil
	}
	h.pc.userRolesFn = func(context.Context, string, string) ([]partner.DirectoryRole, error) {
		return []partner.DirectoryRole{globalAdmin}, nil
	}
	h.setPolicy(func(p *Policy) { p.Policies = rules })
	return &mu
}

func TestPolicy_TwoApprovalsFromNamedApprovers(t *testing.T) {
	h := newHarness(t, true)
	withLeads(h, adminsRule())
	reply := h.slash(requester, custDomain+" "+aliceUPN+" INC-4711 locked out")
	wantContains(t, "reply", reply, "Request sent for approval")
	cards := h.msg.Posted()
	if len(cards) != 1 {
		t.Fatalf("%d cards", len(cards))
	}
	c := cards[0]
	if c.ApprovalsRequired != 2 || len(c.Approvers) != 0 || c.Ticket != "INC-4711" || c.TicketURL != "https://psa.example.com/tickets/INC-4711" || c.PolicyName != "contoso-admins" {
		t.Fatalf("card = %+v", c)
	}
	id := c.RequestID
	r := h.get(id)
	if r.ApprovalsRequired != 2 || r.PolicyName != "contoso-admins" || r.Tier != "privileged" || !r.ExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("stored = %+v", r)
	}
	wantContains(t, "pending DM", h.noticesTo(requester)[0].Text, "needs 2 approvals", "<https://psa.example.com/tickets/INC-4711|INC-4711>")
	wantContains(t, "requested row", h.lastEvent(approvals.OutcomeRequested).Detail, "ticket INC-4711 https://psa.example.com/tickets/INC-4711", "policy contoso-admins")

	// approver holds PAA for contoso, but this policy names its approvers.
	reply = h.click(ActionApprove, id, approver)
	wantContains(t, "grant holder not named", reply, "only its approvers", "<!subteam^"+leads+">")
	h.wantState(id, approvals.StatePending)

	reply = h.click(ActionApprove, id, lead1)
	wantContains(t, "first approval", reply, "recorded (1 of 2)")
	h.wantState(id, approvals.StatePending)
	ups := h.msg.Updates()
	if len(ups) != 1 || !ups[0].Card.Buttons || !reflect.DeepEqual(ups[0].Card.Approvers, []string{lead1}) || !strings.Contains(ups[0].Card.Status, "1 of 2") {
		t.Fatalf("card after one approval = %+v", ups)
	}
	reply = h.click(ActionApprove, id, lead1)
	wantContains(t, "same lead again", reply, "already approved", "1 of 2")
	if got := h.get(id).ApprovalsCount; got != 1 {
		t.Fatalf("count after a second click = %d", got)
	}
	// The requester never counts, even as a lead.
	h.groups.membersFn = func(_ context.Context, id string) ([]string, error) {
		return map[string][]string{leads: {lead1, lead2, requester}}[id], nil
	}
	reply = h.click(ActionApprove, id, requester)
	wantContains(t, "requester", reply, "can't approve your own request")

	reply = h.click(ActionApprove, id, lead2)
	wantContains(t, "second approval", reply, "Approved.")
	r = h.get(id)
	if r.State != approvals.StateApproved || r.ApprovalsCount != 2 || !r.UseBy.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("after two approvals: %+v", r)
	}
	ups = h.msg.Updates()
	last := ups[len(ups)-1].Card
	if last.Buttons || !strings.Contains(last.Status, "<@"+lead1+"> and <@"+lead2+">") {
		t.Errorf("final card = %+v", last)
	}
	ns := h.noticesTo(requester)
	if n := ns[len(ns)-1]; n.ResetButton != id {
		t.Errorf("approved DM = %+v", n)
	}
	reply = h.click(ActionReset, id, requester)
	wantContains(t, "reset", reply, "Done")
	want := []approvals.Outcome{approvals.OutcomeRequested, approvals.OutcomeRefused, approvals.OutcomeApprovalRecorded,
		approvals.OutcomeRefused, approvals.OutcomeApproved, approvals.OutcomeResetIntent, approvals.OutcomeResetDone}
	if got := h.outcomes(); !reflect.DeepEqual(got, want) {
		t.Errorf("outcomes = %v\nwant %v", got, want)
	}
}

// Under the default policy (no policies configured) nothing changes: one
// approval by a grant holder, the card shows no policy fields.
func TestPolicy_DefaultRuleIsTodaysBehaviour(t *testing.T) {
	h := newHarness(t, true)
	withLeads(h, adminsRule())
	h.pc.userRolesFn = func(context.Context, string, string) ([]partner.DirectoryRole, error) { return nil, nil } // standard tier
	id := h.approved()
	c := h.msg.Posted()[0]
	if c.ApprovalsRequired != 0 || c.PolicyName != "" || c.Ticket != "" {
		t.Errorf("default-policy card shows policy fields: %+v", c)
	}
	if r := h.get(id); r.PolicyName != policy.DefaultName || r.Tier != "standard" || r.ApprovalsRequired != 1 {
		t.Errorf("stored = %+v", r)
	}
}

func TestPolicy_TicketRequired(t *testing.T) {
	h := newHarness(t, true)
	withLeads(h, adminsRule())
	reply := h.slash(requester, custDomain+" "+aliceUPN+" locked out, no ticket yet")
	wantContains(t, "reply", reply, "contoso-admins", "needs a ticket reference", "INC-")
	if n := len(h.msg.Posted()); n != 0 {
		t.Fatalf("%d cards posted without a ticket", n)
	}
	wantContains(t, "refusal row", h.lastEvent(approvals.OutcomeRefused).Detail, "reason or ticket missing")
}

func TestPolicy_ReasonRequiredForOneCustomerOnly(t *testing.T) {
	h := newHarness(t, true)
	strict := policy.Rule{Name: "contoso-strict", Customers: []string{tenantID}, ApprovalsRequired: 1, RequireReason: true, ExpiresAfter: time.Hour, UseWithin: time.Hour}
	h.setPolicy(func(p *Policy) { p.Policies = []policy.Rule{strict} })
	reply := h.slash(requester, custDomain+" "+aliceUPN)
	wantContains(t, "reply", reply, "contoso-strict", "needs a reason")
	if n := len(h.msg.Posted()); n != 0 {
		t.Fatalf("%d cards posted", n)
	}
	// Everywhere else the default (no reason needed) still applies.
	h.setPolicy(func(p *Policy) {
		strict.Customers = []string{"fabrikam.onmicrosoft.com"}
		p.Policies = []policy.Rule{strict}
	})
	reply = h.slash(requester, custDomain+" "+aliceUPN)
	wantContains(t, "reply", reply, "Request sent for approval")
}

func TestPolicy_AmbiguousPoliciesRefuse(t *testing.T) {
	h := newHarness(t, true)
	byID := policy.Rule{Name: "by-id", Customers: []string{tenantID}, ApprovalsRequired: 1, ExpiresAfter: time.Hour, UseWithin: time.Hour}
	byDomain := byID
	byDomain.Name, byDomain.Customers = "by-domain", []string{custDomain}
	h.setPolicy(func(p *Policy) { p.Policies = []policy.Rule{byID, byDomain} })
	reply := h.slash(requester, slashText)
	wantContains(t, "reply", reply, "ambiguous", "by-id", "by-domain", "tell your operator")
	if n := len(h.msg.Posted()); n != 0 {
		t.Fatalf("%d cards posted", n)
	}
}

// An approver who leaves the leads group takes their approval with them.
func TestPolicy_ApproverRemovedBeforeReset(t *testing.T) {
	h := newHarness(t, true)
	withLeads(h, adminsRule())
	h.slash(requester, custDomain+" "+aliceUPN+" INC-4711")
	id := h.msg.Posted()[0].RequestID
	h.click(ActionApprove, id, lead1)
	h.click(ActionApprove, id, lead2)
	h.wantState(id, approvals.StateApproved)
	h.groups.membersFn = func(_ context.Context, id string) ([]string, error) {
		return map[string][]string{leads: {lead2, lead3}}[id], nil
	}
	reply := h.click(ActionReset, id, requester)
	wantContains(t, "reset", reply, "approval by <@"+lead1+"> no longer counts")
	if n := h.pc.count("ResetPassword"); n != 0 {
		t.Fatalf("reset despite a revoked approver")
	}
}

func TestPolicy_SetPolicyRejectsBadRules(t *testing.T) {
	h := newHarness(t, true)
	a, b := adminsRule(), adminsRule()
	b.Name = "again"
	err := h.svc.SetPolicy(Policy{ApprovalRequired: true, ApprovalChannel: approvalChannel, Policies: []policy.Rule{a, b}})
	if err == nil || !strings.Contains(err.Error(), `"contoso-admins" and "again"`) {
		t.Errorf("SetPolicy(overlapping) = %v", err)
	}
	err = h.svc.SetPolicy(Policy{ApprovalRequired: false, Policies: []policy.Rule{a}})
	if err == nil {
		t.Error("SetPolicy accepted policies without approval")
	}
}

// The reason given in the deny form reaches the card, the requester and the
// audit trail, escaped.
func TestDeny_WithReason(t *testing.T) {
	h := newHarness(t, true)
	id := h.request()
	r := h.svc.Action(context.Background(), Action{Kind: ActionDeny, RequestID: id, UserID: approver, UserName: "bob",
		Reason: "  wrong user:\n call <@U0ALL> & check  ", CorrelationID: "corr-deny"})
	wantContains(t, "reply", r.Text, "Denied.")
	h.wantState(id, approvals.StateDenied)
	e := h.lastEvent(approvals.OutcomeDenied)
	if e.ActorID != approver || e.Detail != "wrong user: call <@U0ALL> & check" {
		t.Errorf("denied row = %+v", e)
	}
	ns := h.noticesTo(requester)
	wantContains(t, "requester DM", ns[len(ns)-1].Text, "denied your request", ": wrong user: call &lt;@U0ALL&gt; &amp; check")
	ups := h.msg.Updates()
	wantContains(t, "card", ups[len(ups)-1].Card.Status, "Denied by <@"+approver+">", "wrong user: call &lt;@U0ALL&gt;")
	if got := h.get(id).Detail; got != "wrong user: call <@U0ALL> & check" {
		t.Errorf("stored detail = %q", got)
	}
}

// Two approvals needed, three leads clicking Approve at once through two
// replicas (two Services, two Stores, one database), 50 times: every trial
// ends approved by exactly one transition, with two distinct approvers, one
// approved audit row, and one "Approved." reply.
func TestPolicy_ConcurrentApprovalsTwoReplicas(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		h := newHarnessOn(t, true, dsn)
		withLeads(h, adminsRule())
		services := []*Service{h.svc, h.replica()}
		const trials = 50
		for trial := 0; trial < trials; trial++ {
			h.slash(requester, custDomain+" "+aliceUPN+" INC-4711")
			cards := h.msg.Posted()
			id := cards[len(cards)-1].RequestID
			var wg sync.WaitGroup
			var mu sync.Mutex
			var replies []string
			start := make(chan struct{})
			for i, lead := range []string{lead1, lead2, lead3} {
				svc := services[i%2]
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					r := svc.Action(context.Background(), Action{Kind: ActionApprove, RequestID: id, UserID: lead, UserName: lead, CorrelationID: "corr-" + lead})
					mu.Lock()
					replies = append(replies, r.Text)
					mu.Unlock()
				}()
			}
			close(start)
			wg.Wait()
			r := h.get(id)
			all := strings.Join(replies, "\n")
			if r.State != approvals.StateApproved || r.ApprovalsCount != 2 || len(r.Approvals) != 2 || r.Approvals[0].ApproverID == r.Approvals[1].ApproverID ||
				strings.Count(all, "Approved.") != 1 || strings.Count(all, "recorded (1 of 2)") != 1 {
				t.Fatalf("trial %d: %+v\nreplies:\n%s", trial, r, all)
			}
			var approved int
			for _, e := range h.events() {
				if e.RequestID == id && e.Outcome == approvals.OutcomeApproved {
					approved++
				}
			}
			if approved != 1 {
				t.Fatalf("trial %d: %d approved rows", trial, approved)
			}
		}
	})
}

// fakePeople answers users.info from a map; absent users are active members.
type fakePeople map[string]Person

func (f fakePeople) Person(_ context.Context, id string) (Person, error) {
	p, ok := f[id]
	if !ok {
		return Person{ID: id, RealName: id}, nil
	}
	return p, nil
}

// Named approvers and security contacts need no grant, but a live account.
func TestPolicy_NamedApproversNeedALiveAccount(t *testing.T) {
	h := newHarness(t, true)
	withLeads(h, adminsRule())
	withBreakGlass(h)
	h.svc.people = fakePeople{lead2: {ID: lead2, Deleted: true}, ciso: {ID: ciso, Restricted: true}}
	h.slash(requester, custDomain+" "+aliceUPN+" INC-4711")
	id := h.msg.Posted()[0].RequestID
	reply := h.click(ActionApprove, id, lead2)
	wantContains(t, "deactivated lead", reply, "a deactivated account", "Nothing was done")
	if got := h.get(id).ApprovalsCount; got != 0 {
		t.Fatalf("a deactivated lead's approval counted: %d", got)
	}
	// An approval by someone deactivated later no longer counts at reset.
	h.click(ActionApprove, id, lead1)
	h.click(ActionApprove, id, lead3)
	h.wantState(id, approvals.StateApproved)
	h.svc.people = fakePeople{lead2: {ID: lead2, Deleted: true}, lead3: {ID: lead3, Bot: true}, ciso: {ID: ciso, Restricted: true}}
	reply = h.click(ActionReset, id, requester)
	wantContains(t, "reset", reply, "approval by <@"+lead3+"> no longer counts", "a bot")
	if n := h.pc.count("ResetPassword"); n != 0 {
		t.Fatal("reset on an approval by a bot account")
	}

	h.svc.people = fakePeople{ciso: {ID: ciso, Restricted: true}}
	noBG := adminsRule()
	noBG.BreakGlass = true
	withLeads(h, noBG)
	if r := h.slash(requester, breakGlassText+" INC-4713"); !strings.Contains(r, "Done") {
		t.Fatalf("break-glass: %q", r)
	}
	bg := h.msg.Posted()[len(h.msg.Posted())-1].RequestID
	reply = h.click(ActionReview, bg, ciso)
	wantContains(t, "guest security contact", reply, "a guest")
	if r := h.get(bg); !r.ReviewedAt.IsZero() {
		t.Fatal("a guest acknowledged a break-glass reset")
	}
}

// A policy's refusals read in the person's language: the ticket the
// requester must give, and the approver a decider is not.
func TestPolicy_RefusalsInJapanese(t *testing.T) {
	h := newHarness(t, true)
	withLeads(h, adminsRule())
	withLocales(h, map[string]string{requester: "ja-JP", approver: "ja-JP"})
	reply := h.slash(requester, custDomain+" "+aliceUPN+" locked out, no ticket yet")
	wantContains(t, "ja ticket", reply, "ポリシー *contoso-admins* では、理由にチケット番号", "何も実行していません")

	h.slash(requester, custDomain+" "+aliceUPN+" INC-4711")
	id := h.msg.Posted()[0].RequestID
	reply = h.click(ActionApprove, id, requester)
	wantContains(t, "ja own request", reply, "自分の申請を承認することはできません")
	reply = h.click(ActionDeny, id, approver)
	wantContains(t, "ja not an approver", reply, "この申請を却下することはできません", "ポリシー *contoso-admins* では")
}

// Multi-approval progress reads in each reader's language.
func TestPolicy_ApprovalProgressInJapanese(t *testing.T) {
	h := newHarness(t, true)
	withLeads(h, adminsRule())
	withLocales(h, map[string]string{requester: "ja-JP", lead1: "ja-JP"})
	h.slash(requester, custDomain+" "+aliceUPN+" INC-4711")
	id := h.msg.Posted()[0].RequestID
	reply := h.click(ActionApprove, id, lead1)
	wantContains(t, "ja recorded", reply, "承認を記録しました (2 件中 1 件)", "別の承認者の承認が必要です")
	reply = h.click(ActionApprove, id, lead1)
	wantContains(t, "ja already approved", reply, "この申請はすでに承認済みです (2 件中 1 件)")
}
