package commands

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/internal/secret"
	"github.com/locksmithbot/locksmith/partner"
)

// Tests of the flow without sign-off (approval.required: false).

func TestSlashCommand_NoApproval_ResetAndDeliver(t *testing.T) {
	h := newHarness(t, false)
	reply := h.slash(requester, slashText)
	wantContains(t, "reply", reply, ":white_check_mark:", aliceUPN, "*Contoso Ltd*", "visible only to you")

	resets := h.pc.resetCalls()
	if len(resets) != 1 {
		t.Fatalf("ResetPassword called %d times; want 1", len(resets))
	}
	want := resetCall{TenantID: tenantID, ObjectID: aliceOID, Password: canaryPassword, CorrelationID: "corr-slash-" + requester}
	if resets[0] != want {
		t.Errorf("ResetPassword got %+v; want %+v", resets[0], want)
	}
	ds := h.msg.Deliveries()
	if len(ds) != 1 {
		t.Fatalf("DeliverPassword called %d times; want 1", len(ds))
	}
	if ds[0].UserID != requester {
		t.Errorf("delivered to %s; want the requester %s", ds[0].UserID, requester)
	}
	if got := ds[0].Delivery.Password.Reveal(); got != canaryPassword {
		t.Errorf("delivered password %q; want the generated one, the same Partner Center set", got)
	}
	if d := ds[0].Delivery; d.UserPrincipalName != aliceUPN || d.UserDisplayName != alice.DisplayName || d.CustomerName != custName {
		t.Errorf("delivery = %+v; want alice at Contoso", d)
	}
	if got, want := h.outcomes(), []approvals.Outcome{approvals.OutcomeResetIntent, approvals.OutcomeResetDone}; !reflect.DeepEqual(got, want) {
		t.Errorf("audit outcomes = %v; want %v", got, want)
	}
	intent := h.lastEvent(approvals.OutcomeResetIntent)
	if intent.ActorID != requester || intent.TargetObjectID != aliceOID || intent.TenantID != tenantID || intent.CorrelationID != "corr-slash-"+requester {
		t.Errorf("intent row = %+v", intent)
	}
	wantContains(t, "intent detail", intent.Detail, "without sign-off", "INC-4711")
	if n := len(h.msg.Notices()); n != 0 {
		t.Errorf("%d notices sent; want none on success", n)
	}
	if n := len(h.msg.Posted()); n != 0 {
		t.Errorf("%d approval cards posted without sign-off", n)
	}
}

// The intent row is written before Partner Center is called (guarantee 2).
func TestSlashCommand_NoApproval_IntentBeforeReset(t *testing.T) {
	h := newHarness(t, false)
	var seen []approvals.Outcome
	h.pc.resetPasswordFn = func(context.Context, string, string, secret.Password) error {
		seen = h.outcomes()
		return nil
	}
	h.slash(requester, slashText)
	if !reflect.DeepEqual(seen, []approvals.Outcome{approvals.OutcomeResetIntent}) {
		t.Errorf("audit trail while Partner Center was resetting = %v; want just the intent", seen)
	}
}

func TestSlashCommand_NoApproval_DeliveryFails(t *testing.T) {
	h := newHarness(t, false)
	h.msg.deliverPasswordFn = func(context.Context, string, Delivery) error {
		return errors.New("slack: chat.postEphemeral: user_not_in_channel")
	}
	reply := h.slash(requester, slashText)
	wantContains(t, "reply", reply, "*was reset*", "password is lost", "Run the command again")

	if n := len(h.msg.Deliveries()); n != 1 {
		t.Errorf("DeliverPassword called %d times; want exactly 1 (never posted anywhere else)", n)
	}
	if n := h.pc.count("ResetPassword"); n != 1 {
		t.Errorf("ResetPassword called %d times; want 1", n)
	}
	ns := h.noticesTo(requester)
	if len(ns) != 1 {
		t.Fatalf("notices to the requester = %d; want 1", len(ns))
	}
	wantContains(t, "notice", ns[0].Text, aliceUPN, "*was reset*", "lost")
	if ns[0].ResetButton != "" {
		t.Errorf("lost-password notice carries a reset button")
	}
	e := h.lastEvent(approvals.OutcomeDeliveryFailed)
	if e.ActorID != requester || e.TargetObjectID != aliceOID {
		t.Errorf("delivery_failed row = %+v", e)
	}
	for _, o := range h.outcomes() {
		if o == approvals.OutcomeResetDone {
			t.Errorf("reset_done audited although the password never reached the requester: %v", h.outcomes())
		}
	}
	wantContains(t, "logs", h.logs.String(), "password delivery failed", "user_not_in_channel")
}

func TestSlashCommand_NoApproval_PartnerErrors(t *testing.T) {
	tests := []struct {
		name       string
		err        *partner.Error
		want       []string
		wantDetail []string
		unknown    bool // the PATCH may have been applied: reset_unknown, not reset_failed
	}{
		{
			name:       "throttled asks to wait Retry-After seconds",
			err:        &partner.Error{Kind: partner.KindThrottled, Status: 429, RetryAfter: 30 * time.Second, CorrelationID: "corr-pc-1"},
			want:       []string{"throttling", "try again in 30 seconds", "corr-pc-1"},
			wantDetail: []string{"throttled", "status 429", "corr-pc-1"},
		},
		{
			name:       "unavailable: outcome unknown, asks to run again",
			err:        &partner.Error{Kind: partner.KindUnavailable, Status: 503, CorrelationID: "corr-pc-2"},
			want:       []string{"unavailable right now", "did not confirm", "may or may not have been changed"},
			wantDetail: []string{"outcome unknown", "unavailable", "status 503", "corr-pc-2"},
			unknown:    true,
		},
		{
			name:       "unauthorised points at the operator",
			err:        &partner.Error{Kind: partner.KindUnauthorised, Status: 401, Code: "invalid_grant", Description: "AADSTS700082: refresh token expired", CorrelationID: "corr-pc-3"},
			want:       []string{"an operator must fix them", "locksmith check"},
			wantDetail: []string{"unauthorised", "status 401", "corr-pc-3"},
		},
		{
			name:       "forbidden shows status and code, not Partner Center's description",
			err:        &partner.Error{Kind: partner.KindForbidden, Status: 403, Code: "2000", Description: "<!channel> no GDAP & <@U0BOSS>", CorrelationID: "corr-pc-4"},
			want:       []string{"Partner Center refused: HTTP 403, code 2000."},
			wantDetail: []string{"forbidden", "status 403", "code 2000", "corr-pc-4"},
		},
		{
			name:       "rejected shows the policy message",
			err:        &partner.Error{Kind: partner.KindRejected, Status: 400, Code: "1001", Description: "password does not meet complexity", CorrelationID: "corr-pc-5"},
			want:       []string{"rejected the request: HTTP 400, code 1001", "password policy"},
			wantDetail: []string{"rejected", "status 400", "code 1001", "corr-pc-5"},
		},
		{
			name:       "not found (user deleted meanwhile)",
			err:        &partner.Error{Kind: partner.KindNotFound, Status: 404, CorrelationID: "corr-pc-6"},
			want:       []string{"could not find it"},
			wantDetail: []string{"not found", "status 404", "corr-pc-6"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, false)
			h.pc.resetPasswordFn = func(context.Context, string, string, secret.Password) error { return tt.err }
			reply := h.slash(requester, slashText)
			outcome := approvals.OutcomeResetFailed
			if tt.unknown {
				outcome = approvals.OutcomeResetUnknown
			} else {
				wantContains(t, "reply", reply, "was *not* reset")
			}
			wantContains(t, "reply", reply, tt.want...)
			wantNotContains(t, "reply", reply, "<!channel>", "<@U0BOSS>", "GDAP &amp;", "complexity", "AADSTS")
			if n := len(h.msg.Deliveries()); n != 0 {
				t.Errorf("DeliverPassword called %d times after a failed reset", n)
			}
			if got, want := h.outcomes(), []approvals.Outcome{approvals.OutcomeResetIntent, outcome}; !reflect.DeepEqual(got, want) {
				t.Errorf("audit outcomes = %v; want %v", got, want)
			}
			e := h.lastEvent(outcome)
			wantContains(t, "reset_failed detail", e.Detail, tt.wantDetail...)
			wantNotContains(t, "reset_failed detail", e.Detail, "GDAP", "complexity", "AADSTS", "invalid_grant")
			if e.TargetObjectID != aliceOID || e.TenantID != tenantID || e.ActorID != requester {
				t.Errorf("reset_failed row = %+v", e)
			}
		})
	}
}

func TestSlashCommand_NoApproval_PasswordGenerationFails(t *testing.T) {
	h := newHarness(t, false)
	h.svc.genPW = func(int) (secret.Password, error) { return secret.Password{}, errors.New("entropy exhausted") }
	reply := h.slash(requester, slashText)
	wantContains(t, "reply", reply, "was *not* reset", "Something went wrong")
	if n := h.pc.count("ResetPassword"); n != 0 {
		t.Errorf("ResetPassword called %d times without a password", n)
	}
	wantContains(t, "reset_failed detail", h.lastEvent(approvals.OutcomeResetFailed).Detail, "no password could be generated")
}

func TestSlashCommand_RefusedBeforeReset(t *testing.T) {
	synced := time.Date(2026, 3, 1, 22, 15, 0, 0, time.UTC)
	tests := []struct {
		name       string
		setup      func(h *harness)
		want       []string
		wantDetail string
		wantCalls  map[string]int
	}{
		{
			name: "roles cannot be read: fail closed",
			setup: func(h *harness) {
				h.pc.userRolesFn = func(context.Context, string, string) ([]partner.DirectoryRole, error) {
					return nil, &partner.Error{Kind: partner.KindUnavailable, Status: 503, CorrelationID: "corr-roles"}
				}
			},
			want:       []string{"Could not read the user's admin roles", "cannot tell who may reset them", "unavailable"},
			wantDetail: "user not resolved: " + aliceUPN,
			wantCalls:  map[string]int{"UserRoles": 1, "ResetPassword": 0},
		},
		{
			name: "roles forbidden: fail closed",
			setup: func(h *harness) {
				h.pc.userRolesFn = func(context.Context, string, string) ([]partner.DirectoryRole, error) {
					return nil, &partner.Error{Kind: partner.KindForbidden, Status: 403}
				}
			},
			want:      []string{"Could not read the user's admin roles"},
			wantCalls: map[string]int{"ResetPassword": 0},
		},
		{
			name: "deleted user",
			setup: func(h *harness) {
				h.pc.userByUPNFn = func(context.Context, string, string) (partner.User, error) {
					u := alice
					u.State = "inactive"
					return u, nil
				}
			},
			want:       []string{aliceUPN, "is deleted", "state inactive", "restore the user first"},
			wantDetail: "user not resolved: " + aliceUPN,
			wantCalls:  map[string]int{"UserRoles": 0, "ResetPassword": 0},
		},
		{
			name: "synced user without approval",
			setup: func(h *harness) {
				h.pc.userByUPNFn = func(context.Context, string, string) (partner.User, error) {
					u := alice
					u.LastDirectorySyncTime = &synced
					return u, nil
				}
			},
			want:       []string{"synced from on-premises", "2026-03-01 22:15 UTC", "will not reset such a user"},
			wantDetail: "user synced from on-premises",
			wantCalls:  map[string]int{"UserRoles": 1, "ResetPassword": 0},
		},
		{
			name: "unknown user",
			setup: func(h *harness) {
				h.pc.userByUPNFn = func(context.Context, string, string) (partner.User, error) {
					return partner.User{}, &partner.Error{Kind: partner.KindNotFound, Status: 404}
				}
			},
			want:       []string{"No user `" + aliceUPN + "`"},
			wantDetail: "user not resolved: " + aliceUPN,
			wantCalls:  map[string]int{"UserRoles": 0, "ResetPassword": 0},
		},
		{
			name: "unknown customer",
			setup: func(h *harness) {
				h.pc.customersByDomainFn = func(context.Context, string) ([]partner.Customer, error) { return nil, nil }
			},
			want:       []string{"No customer of yours matches"},
			wantDetail: "customer not resolved: " + custDomain,
			wantCalls:  map[string]int{"UserByUPN": 0, "ResetPassword": 0},
		},
		{
			name: "ambiguous customer lists candidates and does nothing",
			setup: func(h *harness) {
				h.pc.customersByDomainFn = func(context.Context, string) ([]partner.Customer, error) {
					return []partner.Customer{contoso, {TenantID: "t2", Name: "<b>Contoso</b> Two", Domain: custDomain}}, nil
				}
			},
			want:      []string{"matches 2 customers", "&lt;b&gt;Contoso&lt;/b&gt; Two", "tenant `" + tenantID + "`"},
			wantCalls: map[string]int{"UserByUPN": 0, "ResetPassword": 0},
		},
		{
			name: "target needs PAA, requester holds only UA",
			setup: func(h *harness) {
				h.setPolicy(func(p *Policy) {
					p.Grants = []Grant{{Users: []string{requester}, Roles: []partner.Role{partner.RoleUserAdministrator}, Customers: []string{"*"}}}
				})
				h.pc.userRolesFn = func(context.Context, string, string) ([]partner.DirectoryRole, error) {
					return []partner.DirectoryRole{globalAdmin}, nil
				}
			},
			want:       []string{"You hold *User Administrator*", "_Global Administrator_", "needs *Privileged Authentication Administrator*"},
			wantDetail: "requester holds User Administrator; target needs Privileged Authentication Administrator",
			wantCalls:  map[string]int{"ResetPassword": 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, false)
			tt.setup(h)
			reply := h.slash(requester, slashText)
			wantContains(t, "reply", reply, tt.want...)
			for method, n := range tt.wantCalls {
				if got := h.pc.count(method); got != n {
					t.Errorf("%s called %d times; want %d", method, got, n)
				}
			}
			if n := len(h.msg.Deliveries()); n != 0 {
				t.Errorf("a password was delivered")
			}
			if got := h.outcomes(); !reflect.DeepEqual(got, []approvals.Outcome{approvals.OutcomeRefused}) {
				t.Errorf("audit outcomes = %v; want just one refusal", got)
			}
			if tt.wantDetail != "" {
				if got := h.lastEvent(approvals.OutcomeRefused).Detail; got != tt.wantDetail {
					t.Errorf("refusal detail = %q; want %q", got, tt.wantDetail)
				}
			}
		})
	}
}

// Every reply and notice so far must escape what the directory says about the
// user: a display name or UPN can hold markup.
func TestSlashCommand_DirectoryTextIsEscaped(t *testing.T) {
	h := newHarness(t, false)
	h.pc.customersByDomainFn = func(context.Context, string) ([]partner.Customer, error) {
		return []partner.Customer{{TenantID: tenantID, Name: "<!channel> Contoso", Domain: custDomain}}, nil
	}
	h.pc.userByUPNFn = func(context.Context, string, string) (partner.User, error) {
		u := alice
		u.UserPrincipalName = "<@U0BOSS>@contoso.onmicrosoft.com"
		return u, nil
	}
	reply := h.slash(requester, slashText)
	wantNotContains(t, "reply", reply, "<!channel>", "<@U0BOSS>")
	wantContains(t, "reply", reply, "&lt;!channel&gt; Contoso", "&lt;@U0BOSS&gt;")
	if !strings.Contains(reply, "was reset") {
		t.Errorf("reply = %q; want a reset", reply)
	}
}
