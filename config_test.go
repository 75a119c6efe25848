package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/locksmithbot/locksmith/partner"
)

func writePolicy(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "locksmith.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func goodEnv(cfgPath string) map[string]string {
	return map[string]string{
		"SLACK_APP_TOKEN":       "xapp-1-A1-1-abc",
		"SLACK_BOT_TOKEN":       "xoxb-1-abc",
		"PARTNER_TENANT_ID":     "11111111-2222-4333-8444-555555555555",
		"PARTNER_CLIENT_ID":     "11111111-2222-4333-8444-666666666666",
		"PARTNER_CLIENT_SECRET": "s3cret",
		"PARTNER_REFRESH_TOKEN": "rt",
		"LOCKSMITH_CONFIG":      cfgPath,
	}
}

const goodPolicy = `
approval:
  channel: C0APPROVALS
grants:
  - slack_users: [U0ALICE]
    slack_usergroups: [S0HELPDESK]
    roles: ["User Administrator", "privileged authentication administrator"]
    customers: ["*", "Contoso.onmicrosoft.com", "11111111-2222-4333-8444-555555555555"]
`

func TestLoadConfig_Good(t *testing.T) {
	env := goodEnv(writePolicy(t, goodPolicy))
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Policy
	if !p.ApprovalRequired || p.ExpiresAfter.String() != "30m0s" || p.UseWithin.String() != "15m0s" || p.PasswordLength != 16 {
		t.Fatalf("defaults not applied: %+v", p)
	}
	if len(p.Grants) != 1 || len(p.Grants[0].Roles) != 2 || p.Grants[0].Roles[1] != partner.RolePrivilegedAuthenticationAdministrator {
		t.Fatalf("grants: %+v", p.Grants)
	}
	if p.Grants[0].Customers[1] != "contoso.onmicrosoft.com" {
		t.Fatalf("customers not normalised: %v", p.Grants[0].Customers)
	}
	if cfg.SlackAPIURL != "https://slack.com/api/" || cfg.DatabaseURL != "locksmith.db" || cfg.Listen != "127.0.0.1:9090" {
		t.Fatalf("env defaults: %+v", cfg)
	}
	if strings.Contains(strings.Join([]string{cfg.PartnerSecret.String(), cfg.SlackBotToken.String()}, ""), "s3cret") {
		t.Fatal("secrets print")
	}
}

func TestLoadConfig_EveryProblemNamed(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		env    map[string]string
		want   []string
	}{
		{"unknown key", goodPolicy + "\nbogus: 1\n", nil, []string{"field bogus not found"}},
		{"bad values", `
approval:
  channel: approvals
  expires_after: "30"
  use_within: 1s
password:
  length: 8
grants:
  - slack_users: [alice@example.com]
    slack_usergroups: [helpdesk]
    roles: [Global Administrator]
    customers: ["not a domain"]
  - roles: []
audit:
  channel: "#audit"
`, nil, []string{
			"approval.channel", "approval.expires_after: \"30\" is not a duration", "approval.use_within", "password.length: 8",
			"grants[0].slack_users[0]", "grants[0].slack_usergroups[0]", "grants[0].roles[0]", "grants[0].customers[0]",
			"grants[1]: names no slack_users", "grants[1].roles: empty", "grants[1].customers: empty", "audit.channel",
		}},
		{"approval required without channel", "grants:\n  - slack_users: [U1]\n    roles: [User Administrator]\n    customers: ['*']\n", nil, []string{"approval.channel: required"}},
		{"no grants", "approval:\n  required: false\n", nil, []string{"grants: none configured"}},
		{"tokens swapped", goodPolicy, map[string]string{"SLACK_APP_TOKEN": "xoxb-1", "SLACK_BOT_TOKEN": "xapp-1", "PARTNER_TENANT_ID": "contoso", "LOCKSMITH_SECRET_KEY": "short", "LOCKSMITH_LISTEN": "9090"},
			[]string{"SLACK_APP_TOKEN: must start with xapp-", "SLACK_BOT_TOKEN: must start with xoxb-", "PARTNER_TENANT_ID: \"contoso\" is not a GUID", "LOCKSMITH_SECRET_KEY", "LOCKSMITH_LISTEN"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := goodEnv(writePolicy(t, tt.policy))
			for k, v := range tt.env {
				env[k] = v
			}
			_, err := loadConfig(func(k string) string { return env[k] })
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Error("error echoes a secret")
			}
		})
	}
}

func TestExampleConfigIsValid(t *testing.T) {
	env := goodEnv("locksmith.example.yaml")
	if _, err := loadConfig(func(k string) string { return env[k] }); err != nil {
		t.Fatalf("locksmith.example.yaml does not load: %v", err)
	}
}
