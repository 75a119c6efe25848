package commands

import (
	"context"
	"github.com/locksmithbot/locksmith/messages"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/partner"
)

// Tests of the dry run: /reset-password check <customer> <user>.

func TestParse_Check(t *testing.T) {
	p := Parse("check "+custDomain+" "+aliceUPN, messages.English)
	if p.Reply != "" || !p.Check || p.Customer.Value != custDomain || p.User.Value != aliceUPN {
		t.Fatalf("Parse(check …, messages.English) = %+v", p)
	}
	if p := Parse("CHECK "+custDomain+" "+aliceUPN+" INC-1", messages.English); !strings.Contains(p.Reply, "takes only the customer and the user") {
		t.Errorf("check with a reason: %+v", p)
	}
	// A customer called "Check…" stays reachable: quoted, or when what follows
	// is not a customer and a user.
	if p := Parse(`"check" `+aliceUPN+" INC-1", messages.English); p.Check || p.Customer.Value != "check" || p.Reason != "INC-1" {
		t.Errorf("quoted check: %+v", p)
	}
	if p := Parse("check "+aliceUPN+" INC-1", messages.English); p.Check || p.Customer.Value != "check" || p.User.Value != aliceUPN {
		t.Errorf("check as a customer name: %+v", p)
	}
}

func (h *harness) requestCount() int {
	h.t.Helper()
	counts, err := h.store.CountByState(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

// wantOnlyChecked asserts a dry run changed nothing and left exactly one row.
func (h *harness) wantOnlyChecked() approvals.Event {
	h.t.Helper()
	if got := h.outcomes(); !reflect.DeepEqual(got, []approvals.Outcome{approvals.OutcomeChecked}) {
		h.t.Fatalf("audit outcomes = %v; want one checked row", got)
	}
	if n := h.requestCount(); n != 0 {
		h.t.Errorf("%d requests recorded by a dry run", n)
	}
	if n := len(h.msg.Posted()) + len(h.msg.Notices()) + len(h.msg.Deliveries()) + h.pc.count("ResetPassword"); n != 0 {
		h.t.Errorf("a dry run posted, notified, delivered or reset (%d calls)", n)
	}
	return h.events()[0]
}

func TestCheck_UnderAPolicy(t *testing.T) {
	h := newHarness(t, true)
	withLeads(h, adminsRule()) // alice is a Global Administrator: privileged tier
	reply := h.slash(requester, "check "+custDomain+" "+aliceUPN)
	wantContains(t, "reply", reply,
		"Dry run: nothing was done", custName, tenantID, aliceUPN, "_Global Administrator_",
		"Role needed: *Privileged Authentication Administrator* (privileged tier)", "You hold *Privileged Authentication Administrator* for this customer: enough",
		"Policy: *contoso-admins*", "2 approvals from different people", "<!subteam^"+leads+"> (named by the policy)",
		"must contain a ticket matching `INC-\\d{3,}`, linked to your PSA", "expires after 1h0m0s", "within 10m0s",
		":warning: "+aliceUPN+" holds a privileged admin role")
	e := h.wantOnlyChecked()
	if e.ActorID != requester || e.TenantID != tenantID || e.TargetObjectID != aliceOID ||
		e.Detail != "needs Privileged Authentication Administrator; requester holds Privileged Authentication Administrator; policy contoso-admins; 2 approvals; privileged" {
		t.Errorf("checked row = %+v", e)
	}
}

func TestCheck_DefaultPolicyListsGrantHolders(t *testing.T) {
	h := newHarness(t, true)
	h.pc.userRolesFn = func(context.Context, string, string) ([]partner.DirectoryRole, error) {
		return []partner.DirectoryRole{helpdeskAdmin}, nil
	}
	reply := h.slash(uaApprover, "check "+custDomain+" "+aliceUPN)
	// Everyone whose grants give User Administrator for contoso except the asker.
	wantContains(t, "reply", reply, "Policy: *default*", "Needs 1 approval", "<@"+requester+">", "<@"+approver+">", "<!subteam^"+helpdesk+">",
		"(grants with *User Administrator* for this customer)", "Reason: optional")
	wantNotContains(t, "reply", reply, "<@"+uaApprover+">", "privileged admin role")
	h.wantOnlyChecked()
}

func TestCheck_RoleTooWeak(t *testing.T) {
	h := newHarness(t, true)
	h.pc.userRolesFn = func(context.Context, string, string) ([]partner.DirectoryRole, error) {
		return []partner.DirectoryRole{globalAdmin}, nil
	}
	reply := h.slash(uaApprover, "check "+custDomain+" "+aliceUPN)
	wantContains(t, "reply", reply, "You hold *User Administrator* for this customer: *not enough*", "<@"+requester+">", "<@"+approver+">")
	wantNotContains(t, "reply", reply, "<!subteam^"+helpdesk+">") // the helpdesk group holds only UA
	if e := h.wantOnlyChecked(); !strings.Contains(e.Detail, "requester holds User Administrator") {
		t.Errorf("detail = %q", e.Detail)
	}
}

func TestCheck_NoGrantProbesNothing(t *testing.T) {
	h := newHarness(t, true)
	reply := h.slash(stranger, "check "+custDomain+" "+aliceUPN)
	wantContains(t, "reply", reply, "not permitted")
	if n := h.pc.totalCalls(); n != 0 {
		t.Errorf("%d Partner Center calls for someone without a grant", n)
	}
	if e := h.wantOnlyChecked(); e.Detail != "would be refused: no grant" {
		t.Errorf("detail = %q", e.Detail)
	}
}

func TestCheck_SyncedUserWithoutApproval(t *testing.T) {
	h := newHarness(t, false)
	synced := alice
	when := t0.Add(-time.Hour)
	synced.LastDirectorySyncTime = &when
	h.pc.userByUPNFn = func(context.Context, string, string) (partner.User, error) { return synced, nil }
	reply := h.slash(requester, "check "+custDomain+" "+aliceUPN)
	wantContains(t, "reply", reply, "Approval is off", "would be refused", "synced from on-premises")
	if e := h.wantOnlyChecked(); !strings.Contains(e.Detail, "approval off; synced") {
		t.Errorf("detail = %q", e.Detail)
	}
}

func TestCheck_SaysWhetherBreakGlassIsOpen(t *testing.T) {
	h := newHarness(t, true)
	withBreakGlass(h)
	wantContains(t, "on the list", h.slash(requester, "check "+custDomain+" "+aliceUPN), "Break-glass: allowed for you")
	wantContains(t, "not on the list", h.slash(approver, "check "+custDomain+" "+aliceUPN), "you are not on the break-glass list")
	withLeads(h, adminsRule()) // BreakGlass false
	wantContains(t, "policy off", h.slash(requester, "check "+custDomain+" "+aliceUPN), "Break-glass: not allowed by this policy")
}

func TestParse_BreakGlassAndStatus(t *testing.T) {
	p := Parse(custDomain+" "+aliceUPN+" --BREAK-GLASS  CEO locked out", messages.English)
	if p.Reply != "" || !p.BreakGlass || p.Reason != "CEO locked out" {
		t.Errorf("--break-glass: %+v", p)
	}
	if p := Parse(custDomain+" "+aliceUPN+" locked out --break-glass", messages.English); p.BreakGlass {
		t.Errorf("--break-glass after the reason's first word counted: %+v", p)
	}
	if p := Parse("check "+custDomain+" "+aliceUPN+" --break-glass x", messages.English); p.Reply == "" {
		t.Errorf("check with --break-glass: %+v", p)
	}
	if p := Parse(" Status ", messages.English); !p.Status || p.Reply != "" {
		t.Errorf("status: %+v", p)
	}
	if p := Parse("status "+aliceUPN, messages.English); p.Status {
		t.Errorf("status with arguments is a request for customer \"status\": %+v", p)
	}
}

// The dry run reads in the requester's language, role names as Microsoft's
// Japanese documentation writes them; the audit row stays English.
func TestCheck_InJapanese(t *testing.T) {
	h := newHarness(t, true)
	withLeads(h, adminsRule())
	withLocales(h, map[string]string{requester: "ja-JP"})
	reply := h.slash(requester, "check "+custDomain+" "+aliceUPN)
	wantContains(t, "ja reply", reply,
		"*ドライ ラン: 何も実行していません。*", "必要なロール: *特権認証管理者* (階層: privileged)", "十分です。",
		"ポリシー: *contoso-admins*", "必要な承認: 2 件", "(ポリシーで指定)", "に一致するチケット番号が必要です (PSA にリンクされます)",
		"特権管理者ロールを持っています")
	wantNotContains(t, "ja reply", reply, "Dry run", "Policy:", "approvals")
	if e := h.wantOnlyChecked(); !strings.HasPrefix(e.Detail, "needs Privileged Authentication Administrator;") {
		t.Errorf("checked row = %+v", e)
	}
}
