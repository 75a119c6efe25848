package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/locksmithbot/locksmith/internal/fakepartner"
	"github.com/locksmithbot/locksmith/internal/fakeslack"
)

// checkPolicy names people, a group and channels that are not the example's
// placeholders; newCheckHarness adds them to the fake workspace.
const checkPolicy = `
approval:
  channel: C1APPROVE
grants:
  - slack_users: [U1TECH, U1LEAD]
    slack_usergroups: [S1DESK]
    roles: ["User Administrator"]
    customers: ["*"]
  - slack_users: [U1BOSS]
    slack_usergroups: [S1LEADS]
    roles: ["Privileged Authentication Administrator"]
    customers: ["*"]
audit:
  channel: C1AUDIT
`

func newCheckHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t, harnessOptions{approval: true})
	p := filepath.Join(t.TempDir(), "locksmith.yaml")
	if err := os.WriteFile(p, []byte(checkPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	h.env["LOCKSMITH_CONFIG"] = p
	for id, name := range map[string]string{"U1TECH": "Tess Tech", "U1LEAD": "Lee Lead", "U1BOSS": "Bo Boss"} {
		h.slack.AddUser(id, strings.ToLower(strings.Fields(name)[0]))
		h.slack.SetAccount(id, fakeslack.Account{RealName: name})
	}
	h.slack.AddUsergroup("S1DESK", "U1TECH")
	h.slack.AddUsergroup("S1LEADS", "U1BOSS")
	h.slack.AddChannel("C1APPROVE", "approvals")
	h.slack.AddChannel("C1AUDIT", "audit")
	return h
}

// check runs `locksmith check` and returns its exit code and output.
func (h *harness) check(args ...string) (int, string) {
	h.t.Helper()
	var out, errOut lockedBuffer
	code := run(context.Background(), append([]string{"check"}, args...), h.getenv, &out, &errOut)
	all := out.String() + errOut.String()
	for _, k := range []string{"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "PARTNER_CLIENT_SECRET", "PARTNER_REFRESH_TOKEN", "LOCKSMITH_SECRET_KEY"} {
		if v := h.env[k]; v != "" && strings.Contains(all, v) {
			h.t.Errorf("check printed the value of %s", k)
		}
	}
	if regexp.MustCompile(`eyJ[A-Za-z0-9_-]{10,}\.|rt-[A-Za-z0-9_-]{20,}`).MatchString(all) {
		h.t.Errorf("check printed a token:\n%s", all)
	}
	return code, out.String()
}

// checkFails runs check and fails the test unless it exits 1.
func (h *harness) checkFails(args ...string) string {
	h.t.Helper()
	code, out := h.check(args...)
	if code != exitFailed {
		h.t.Fatalf("check: exit %d, want 1:\n%s", code, out)
	}
	return out
}

// wantLine asserts a line of check's output that starts with item and
// contains every want.
func wantLine(t *testing.T, out, item string, want ...string) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, item) {
			continue
		}
		for _, w := range want {
			if !strings.Contains(line, w) {
				t.Errorf("line %q lacks %q", line, w)
			}
		}
		return
	}
	t.Errorf("no line for %q in:\n%s", item, out)
}

func TestCheck_AllGood(t *testing.T) {
	h := newCheckHarness(t)
	code, out := h.check()
	if code != exitOK {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	wantLine(t, out, "configuration: OK")
	wantLine(t, out, "database: OK")
	wantLine(t, out, "Slack app token: OK", "Socket Mode connection opened and closed")
	wantLine(t, out, "Slack bot token: OK", "workspace Fake, "+fakeslack.TeamID)
	wantLine(t, out, "grants[0].slack_users[0] U1TECH: OK", "Tess Tech")
	wantLine(t, out, "grants[1].slack_users[0] U1BOSS: OK", "Bo Boss")
	wantLine(t, out, "grants[0].slack_usergroups[0] S1DESK: OK", "1 members")
	wantLine(t, out, "approval.channel C1APPROVE: OK", "#approvals", "member")
	wantLine(t, out, "audit.channel C1AUDIT: OK", "#audit")
	wantLine(t, out, "Partner Center token: OK", fakepartner.DefaultAccount.UPN, "tenant "+fakepartner.TenantID, "MFA: yes")
	wantLine(t, out, "Partner Center API: OK", "the first is Contoso")
	wantLine(t, out, "all checks passed")
	if n := h.slack.CallCount("chat.postMessage"); n != 0 {
		t.Errorf("check without --post-test posted %d messages", n)
	}
	if u := h.slack.Unexpected(); len(u) > 0 {
		t.Errorf("fake Slack saw: %v", u)
	}
}

func TestCheck_SlackAppToken(t *testing.T) {
	for name, breakIt := range map[string]func(h *harness){
		"refused":         func(h *harness) { h.slack.Fail("apps.connections.open", fakeslack.Failure{Error: "invalid_auth"}) },
		"revoked":         func(h *harness) { h.slack.Fail("apps.connections.open", fakeslack.Failure{Error: "token_revoked"}) },
		"WebSocket fails": func(h *harness) { h.slack.RefuseSockets(1) },
	} {
		t.Run(name, func(t *testing.T) {
			h := newCheckHarness(t)
			breakIt(h)
			out := h.checkFails()
			wantLine(t, out, "Slack app token: FAIL", "fix: SLACK_APP_TOKEN")
			wantLine(t, out, "Slack bot token: OK") // the other token is judged on its own
		})
	}
}

func TestCheck_SlackBotToken(t *testing.T) {
	h := newCheckHarness(t)
	h.slack.Fail("auth.test", fakeslack.Failure{Error: "invalid_auth"})
	out := h.checkFails()
	wantLine(t, out, "Slack bot token: FAIL", "invalid_auth", "fix: SLACK_BOT_TOKEN")
	wantLine(t, out, "Slack app token: OK")
}

func TestCheck_People(t *testing.T) {
	for name, tc := range map[string]struct {
		account fakeslack.Account
		want    string
	}{
		"deactivated":          {fakeslack.Account{Deleted: true}, "is a deactivated account"},
		"bot":                  {fakeslack.Account{Bot: true}, "is a bot"},
		"guest":                {fakeslack.Account{Restricted: true}, "is a guest"},
		"single-channel guest": {fakeslack.Account{UltraRestricted: true}, "is a single-channel guest"},
	} {
		t.Run(name, func(t *testing.T) {
			h := newCheckHarness(t)
			h.slack.SetAccount("U1LEAD", tc.account)
			out := h.checkFails()
			wantLine(t, out, "grants[0].slack_users[1] U1LEAD: FAIL", tc.want, "fix: remove it from grants[0].slack_users")
			wantLine(t, out, "grants[0].slack_users[0] U1TECH: OK")
		})
	}
	t.Run("not in the workspace", func(t *testing.T) {
		h := newCheckHarness(t)
		h.slack.SetAccount("U1LEAD", fakeslack.Account{})
		p := h.env["LOCKSMITH_CONFIG"]
		if err := os.WriteFile(p, []byte(strings.Replace(checkPolicy, "U1LEAD", "U1GHOST", 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		out := h.checkFails()
		wantLine(t, out, "grants[0].slack_users[1] U1GHOST: FAIL", "no such user", "fix: grants[0].slack_users[1]")
	})
}

func TestCheck_Usergroups(t *testing.T) {
	t.Run("missing", func(t *testing.T) {
		h := newCheckHarness(t)
		h.slack.Fail("usergroups.users.list", fakeslack.Failure{Error: "no_such_subteam"})
		out := h.checkFails()
		wantLine(t, out, "grants[0].slack_usergroups[0] S1DESK: FAIL", "no such user group", "grants[0] gives nobody anything", "fix: grants[0].slack_usergroups[0]")
		wantLine(t, out, "grants[1].slack_usergroups[0] S1LEADS: OK")
	})
	t.Run("empty", func(t *testing.T) {
		h := newCheckHarness(t)
		h.slack.AddUsergroup("S1LEADS")
		out := h.checkFails()
		wantLine(t, out, "grants[1].slack_usergroups[0] S1LEADS: FAIL", "no members", "grants[1]", "fix: add people to the group")
	})
	t.Run("scope missing", func(t *testing.T) {
		h := newCheckHarness(t)
		h.slack.Fail("usergroups.users.list", fakeslack.Failure{Error: "missing_scope", Times: -1})
		_, out := h.check()
		wantLine(t, out, "grants[0].slack_usergroups[0] S1DESK: FAIL", "fix: add the usergroups:read scope")
	})
}

func TestCheck_Channels(t *testing.T) {
	t.Run("bot not a member", func(t *testing.T) {
		h := newCheckHarness(t)
		h.slack.SetBotMember("C1APPROVE", false)
		out := h.checkFails()
		wantLine(t, out, "approval.channel C1APPROVE: FAIL", "not a member", "fix: /invite @locksmith in #approvals, or change approval.channel")
		wantLine(t, out, "audit.channel C1AUDIT: OK")
	})
	t.Run("private channel not invited to", func(t *testing.T) {
		h := newCheckHarness(t)
		h.slack.SetPrivate("C1AUDIT", true)
		h.slack.SetBotMember("C1AUDIT", false)
		_, out := h.check()
		wantLine(t, out, "audit.channel C1AUDIT: FAIL", "no such channel", "fix: audit.channel")
	})
	t.Run("post-test", func(t *testing.T) {
		h := newCheckHarness(t)
		code, out := h.check("--post-test")
		if code != exitOK {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		wantLine(t, out, "approval.channel C1APPROVE: OK", "test message posted and deleted")
		wantLine(t, out, "audit.channel C1AUDIT: OK", "test message posted and deleted")
		if n := h.slack.CallCount("chat.delete"); n != 2 {
			t.Errorf("chat.delete calls = %d, want 2", n)
		}
		if len(h.slack.Messages("C1APPROVE"))+len(h.slack.Messages("C1AUDIT")) != 0 {
			t.Error("a test message was left behind")
		}
	})
	t.Run("post-test refused", func(t *testing.T) {
		h := newCheckHarness(t)
		h.slack.SetBotMember("C1AUDIT", false)
		out := h.checkFails("--post-test")
		wantLine(t, out, "audit.channel C1AUDIT: FAIL", "not a member", "fix: invite it there (/invite @locksmith), or change audit.channel")
	})
}

func TestCheck_PartnerCenter(t *testing.T) {
	t.Run("refresh token expired", func(t *testing.T) {
		h := newCheckHarness(t)
		h.pc.RevokeRefreshTokens(700082)
		out := h.checkFails()
		wantLine(t, out, "Partner Center token: FAIL", "PARTNER_REFRESH_TOKEN")
	})
	t.Run("signed in without MFA", func(t *testing.T) {
		h := newCheckHarness(t)
		h.pc.SetAccount(fakepartner.SignedInAccount{Name: "Svc", UPN: "svc@partner.onmicrosoft.com", NoMFA: true})
		_, out := h.check()
		wantLine(t, out, "Partner Center token: FAIL", "svc@partner.onmicrosoft.com", "without multi-factor", "fix: `locksmith login`")
	})
	t.Run("token from another tenant", func(t *testing.T) {
		h := newCheckHarness(t)
		h.pc.SetAccount(fakepartner.SignedInAccount{Name: "Guest", UPN: "someone@other.onmicrosoft.com", TenantID: "99999999-0000-4000-8000-000000000000"})
		_, out := h.check()
		wantLine(t, out, "Partner Center token: FAIL", "tenant 99999999-0000-4000-8000-000000000000", "fix: PARTNER_TENANT_ID")
	})
	t.Run("no API permission", func(t *testing.T) {
		h := newCheckHarness(t)
		h.pc.AddFault(fakepartner.Fault{Method: http.MethodGet, PathContains: "/v1/customers", Status: http.StatusForbidden})
		out := h.checkFails()
		wantLine(t, out, "Partner Center token: OK")
		wantLine(t, out, "Partner Center API: FAIL", "fix: the app registration's Partner Center API permission")
	})
}

// An example file copied but not edited is flagged key by key, and its IDs are
// not looked up in Slack (which would only say "not found").
func TestCheck_ExamplePlaceholders(t *testing.T) {
	h := newCheckHarness(t)
	h.env["LOCKSMITH_CONFIG"] = "locksmith.example.yaml"
	out := h.checkFails()
	for _, item := range []string{
		"approval.channel C0APPROVALS", "audit.channel C0AUDIT", "grants[0].slack_users[0] U0ALICE",
		"grants[0].slack_users[1] U0BOB", "grants[0].slack_usergroups[0] S0HELPDESK", "grants[1].slack_users[0] U0LEAD",
	} {
		key, _, _ := strings.Cut(item, " ")
		wantLine(t, out, item+": FAIL", "example file's placeholder", "fix: "+key+" in locksmith.example.yaml")
	}
	for _, c := range h.slack.Calls() {
		if slices.Contains(examplePlaceholders, c.Form.Get("user")) || slices.Contains(examplePlaceholders, c.Form.Get("usergroup")) || slices.Contains(examplePlaceholders, c.Form.Get("channel")) {
			t.Errorf("placeholder looked up in Slack: %s %v", c.Method, c.Form)
		}
	}
}

// The placeholder list is the example file's Slack IDs, all of them.
func TestCheck_PlaceholderListMatchesExample(t *testing.T) {
	raw, err := os.ReadFile("locksmith.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range regexp.MustCompile(`\b[UWCGS]0[A-Z0-9]+\b`).FindAllString(string(raw), -1) {
		if !slices.Contains(ids, m) && m != "C0123ABCD" {
			ids = append(ids, m)
		}
	}
	slices.Sort(ids)
	want := slices.Sorted(slices.Values(examplePlaceholders))
	if !slices.Equal(ids, want) {
		t.Errorf("Slack IDs in locksmith.example.yaml = %v, examplePlaceholders = %v", ids, want)
	}
}

// A database that cannot be opened is one FAIL line; the other items are
// still checked.
func TestCheck_Database(t *testing.T) {
	h := newCheckHarness(t)
	h.env["LOCKSMITH_DATABASE_URL"] = filepath.Join(t.TempDir(), "missing", "locksmith.db")
	out := h.checkFails()
	wantLine(t, out, "database: FAIL", "does not exist", "fix: LOCKSMITH_DATABASE_URL")
	wantLine(t, out, "Slack bot token: OK")
	wantLine(t, out, "Partner Center API: OK")
}
