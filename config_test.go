package main

import (
	"bytes"
	"encoding/base64"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/commands"
	"github.com/locksmithbot/locksmith/messages"
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
		{"unknown key", goodPolicy + "\nbogus: 1\n", nil, []string{"bogus: unknown key (known: approval, audit, break_glass, grants, graph, limits, locale, password, policies), line 10"}},
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
		{"unknown languages", goodPolicy + "locale:\n  default: fr\n  channel: klingon\n", nil, []string{
			`locale.default: "fr" is not a language locksmith speaks (en or ja)`, `locale.channel: "klingon"`}},
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

func TestLoadConfig_Locale(t *testing.T) {
	for _, tc := range []struct {
		yaml                 string
		wantDefault, wantChn messages.Lang
	}{
		{"", messages.English, messages.English},
		{"locale:\n  default: ja\n", messages.Japanese, messages.Japanese},
		{"locale:\n  default: ja-JP\n  channel: en\n", messages.Japanese, messages.English},
		{"locale:\n  channel: ja_JP\n", messages.English, messages.Japanese},
	} {
		env := goodEnv(writePolicy(t, goodPolicy+tc.yaml))
		cfg, err := loadConfig(func(k string) string { return env[k] })
		if err != nil {
			t.Fatalf("%q: %v", tc.yaml, err)
		}
		if cfg.Policy.DefaultLang != tc.wantDefault || cfg.Policy.ChannelLang != tc.wantChn {
			t.Errorf("%q: default %q, channel %q; want %q, %q", tc.yaml, cfg.Policy.DefaultLang, cfg.Policy.ChannelLang, tc.wantDefault, tc.wantChn)
		}
	}
}

func TestExampleConfigIsValid(t *testing.T) {
	env := goodEnv("locksmith.example.yaml")
	if _, err := loadConfig(func(k string) string { return env[k] }); err != nil {
		t.Fatalf("locksmith.example.yaml does not load: %v", err)
	}
}

// Unknown keys are named by their path with the keys that would have been
// accepted there, next to the other problems, never as a Go type.
func TestLoadConfig_UnknownKeysByPath(t *testing.T) {
	env := goodEnv(writePolicy(t, `
approval:
  channel: C0123ABCD
  approvers: [U0ALICE]
grants:
  - slack_users: [U0ALICE]
    roles: ["User Administrator"]
    customers: ["*"]
    customer: ["*"]
  - slack_user: [U0BOB]
    roles: ["User Administrator"]
    customers: ["*"]
password:
  length: 8
`))
	_, err := loadConfig(func(k string) string { return env[k] })
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"approval.approvers: unknown key (known: channel, escalate_after, escalate_to, expires_after, remind_after, require_reason, required, use_within), line 4",
		"grants[0].customer: unknown key (known: actions, customers, roles, slack_usergroups, slack_users), line 9",
		"grants[1].slack_user: unknown key",
		"grants[1]: names no slack_users", // the other checks still ran
		"password.length: 8 is out of range",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "struct") {
		t.Errorf("error dumps a Go type:\n%v", err)
	}
}

func TestLoadConfig_WrongKindsByPath(t *testing.T) {
	for _, tc := range []struct{ policy, want string }{
		{"approval: C0123ABCD\n", `approval: line 1: expected keys (a mapping), found "C0123ABCD"`},
		{"approval:\n  required: maybe\n", `approval.required: line 2: "maybe" is not true or false`},
		{"grants:\n  slack_users: [U1]\n", "grants: line 2: expected a list, found keys"},
		{"grants:\n  - slack_users: U0ALICE\n", `grants[0].slack_users: line 2: expected a list, found "U0ALICE"`},
		{"password:\n  length: long\n", `password.length: line 2: "long" is not a whole number`},
	} {
		env := goodEnv(writePolicy(t, tc.policy))
		_, err := loadConfig(func(k string) string { return env[k] })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("policy %q: error = %v, want %q", tc.policy, err, tc.want)
		}
	}
}

func TestLoadConfig_SecretKeyRules(t *testing.T) {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(250 - i) // high bytes, so standard and URL-safe encodings differ
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		env := goodEnv(writePolicy(t, goodPolicy))
		env["LOCKSMITH_SECRET_KEY"] = enc.EncodeToString(key)
		cfg, err := loadConfig(func(k string) string { return env[k] })
		if err != nil {
			t.Fatalf("key %q refused: %v", env["LOCKSMITH_SECRET_KEY"], err)
		}
		if !bytes.Equal(cfg.SecretKey, key) {
			t.Fatalf("key %q decoded wrong", env["LOCKSMITH_SECRET_KEY"])
		}
	}
	for value, want := range map[string]string{
		"not*base64*secretvalue": "LOCKSMITH_SECRET_KEY: is not base64 (standard or URL-safe)",
		base64.StdEncoding.EncodeToString([]byte("sixteen-byte-key")): "LOCKSMITH_SECRET_KEY: decodes to 16 bytes; it must be exactly 32",
	} {
		env := goodEnv(writePolicy(t, goodPolicy))
		env["LOCKSMITH_SECRET_KEY"] = value
		_, err := loadConfig(func(k string) string { return env[k] })
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("key %q: error = %v, want %q", value, err, want)
			continue
		}
		if strings.Contains(err.Error(), value) {
			t.Errorf("error echoes the key: %v", err)
		}
	}
}

// LOCKSMITH_DATABASE_URL is checked with the configuration, so neither run nor
// check creates a file named after a libpq string.
func TestLoadConfig_DatabaseURLRules(t *testing.T) {
	for dsn, want := range map[string]string{
		"host=db user=locksmith password=hunter2": "LOCKSMITH_DATABASE_URL: the database URL contains whitespace",
		"mysql://u:hunter2@db/locksmith":          `LOCKSMITH_DATABASE_URL: the database URL has an unknown scheme "mysql:"`,
	} {
		env := goodEnv(writePolicy(t, goodPolicy))
		env["LOCKSMITH_DATABASE_URL"] = dsn
		_, err := loadConfig(func(k string) string { return env[k] })
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error = %v, want %q", want, err, want)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error echoes the DSN: %v", err)
		}
	}
	for _, dsn := range []string{"/var/lib/locksmith/locksmith.db", "file:locksmith.db?_busy_timeout=500", "postgresql://u:p@db/locksmith"} {
		env := goodEnv(writePolicy(t, goodPolicy))
		env["LOCKSMITH_DATABASE_URL"] = dsn
		if _, err := loadConfig(func(k string) string { return env[k] }); err != nil {
			t.Errorf("%s refused: %v", dsn, err)
		}
	}
}

func TestLoadConfig_LogLevel(t *testing.T) {
	for v, want := range map[string]slog.Level{"": slog.LevelInfo, "debug": slog.LevelDebug, "WARN": slog.LevelWarn, "error": slog.LevelError} {
		env := goodEnv(writePolicy(t, goodPolicy))
		env["LOCKSMITH_LOG_LEVEL"] = v
		cfg, err := loadConfig(func(k string) string { return env[k] })
		if err != nil || cfg.LogLevel != want {
			t.Errorf("LOCKSMITH_LOG_LEVEL=%q: level %v, err %v; want %v", v, cfg.LogLevel, err, want)
		}
	}
	env := goodEnv(writePolicy(t, goodPolicy))
	env["LOCKSMITH_LOG_LEVEL"] = "verbose"
	if _, err := loadConfig(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), `LOCKSMITH_LOG_LEVEL: "verbose" is not a log level; use debug, info, warn or error`) {
		t.Errorf("error = %v", err)
	}
}

func TestLoadConfig_SlackPacing(t *testing.T) {
	load := func(vars map[string]string) (Config, error) {
		env := goodEnv(writePolicy(t, goodPolicy))
		for k, v := range vars {
			env[k] = v
		}
		return loadConfig(func(k string) string { return env[k] })
	}
	// Unset: the defaults (zero values, filled in by commands).
	cfg, err := load(nil)
	if err != nil || cfg.Delivery != (commands.OutboxOptions{}) {
		t.Fatalf("defaults: %+v, %v", cfg.Delivery, err)
	}
	cfg, err = load(map[string]string{"LOCKSMITH_SLACK_POST_INTERVAL": "1500ms", "LOCKSMITH_SLACK_POST_BURST": "5", "LOCKSMITH_SLACK_QUEUE_LIMIT": "2000"})
	if err != nil || cfg.Delivery.PaceInterval != 1500*time.Millisecond || cfg.Delivery.PaceBurst != 5 || cfg.Delivery.MaxQueued != 2000 {
		t.Fatalf("set: %+v, %v", cfg.Delivery, err)
	}
	cfg, err = load(map[string]string{"LOCKSMITH_SLACK_POST_INTERVAL": "0"})
	if err != nil || cfg.Delivery.PaceInterval >= 0 {
		t.Fatalf("0 should turn pacing off: %+v, %v", cfg.Delivery, err)
	}
	_, err = load(map[string]string{"LOCKSMITH_SLACK_POST_INTERVAL": "fast", "LOCKSMITH_SLACK_POST_BURST": "0", "LOCKSMITH_SLACK_QUEUE_LIMIT": "-3"})
	for _, want := range []string{
		`LOCKSMITH_SLACK_POST_INTERVAL: "fast" is not a duration`,
		`LOCKSMITH_SLACK_POST_BURST: "0" is not a whole number of at least 1`,
		`LOCKSMITH_SLACK_QUEUE_LIMIT: "-3" is not a whole number of at least 1`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error = %v; want it to say %s", err, want)
		}
	}
}

const policiesYAML = goodPolicy + `
policies:
  - name: contoso-admins
    customers: [contoso.onmicrosoft.com]
    tiers: [privileged]
    approvers: {slack_usergroups: [S0LEADS]}
    approvals_required: 2
    require_ticket: {pattern: 'INC-[0-9]+', link: 'https://psa.example.com/tickets/{ticket}'}
    use_within: 10m
  - name: everyone-privileged
    customers: ["*"]
    tiers: [privileged]
    require_reason: true
`

func TestLoadConfig_Policies(t *testing.T) {
	env := goodEnv(writePolicy(t, policiesYAML))
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	ps := cfg.Policy.Policies
	if len(ps) != 2 {
		t.Fatalf("policies = %+v", ps)
	}
	a := ps[0]
	if a.Name != "contoso-admins" || a.ApprovalsRequired != 2 || a.Approvers.Usergroups[0] != "S0LEADS" || a.Ticket == nil ||
		a.UseWithin.String() != "10m0s" || a.ExpiresAfter.String() != "30m0s" || a.RequireReason {
		t.Fatalf("contoso-admins = %+v (durations and require_reason not set are the approval: block's)", a)
	}
	if b := ps[1]; !b.RequireReason || b.ApprovalsRequired != 1 {
		t.Fatalf("everyone-privileged = %+v", b)
	}
}

func TestLoadConfig_PolicyProblemsNamed(t *testing.T) {
	tests := map[string]struct{ yaml, want string }{
		"overlap": {policiesYAML + `  - name: again
    customers: ["*"]
`, `policies: policies "everyone-privileged" and "again" both apply to customer "*", tier privileged`},
		"contradiction": {goodPolicy + `
policies:
  - name: two-of-one
    customers: ["*"]
    approvers: {slack_users: [U0LEAD]}
    approvals_required: 2
`, `policy "two-of-one": approvals_required is 2 but approvers names only 1 people`},
		"bad keys": {goodPolicy + `
policies:
  - customers: [not a domain]
    tiers: [admins]
    approvers: {slack_users: [bob]}
    require_ticket: {pattern: '('}
    expires_after: soon
`, "policies[0].name: required"},
		"without approval": {`
approval:
  required: false
grants:
  - slack_users: [U0ALICE]
    roles: ["User Administrator"]
    customers: ["*"]
policies:
  - name: p
    customers: ["*"]
`, "approval policies need approval.required: true"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			env := goodEnv(writePolicy(t, tt.yaml))
			_, err := loadConfig(func(k string) string { return env[k] })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v\nwant it to contain %q", err, tt.want)
			}
			if name == "bad keys" {
				for _, w := range []string{"policies[0].customers[0]", "policies[0].tiers[0]", "policies[0].approvers.slack_users[0]", "policies[0].require_ticket.pattern", "policies[0].expires_after"} {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error lacks %q:\n%v", w, err)
					}
				}
			}
		})
	}
}

func TestLoadConfig_Limits(t *testing.T) {
	env := goodEnv(writePolicy(t, goodPolicy+"limits:\n  per_requester: 10/1h\n  per_customer: 20/30m\n"))
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if l := cfg.Policy.Limits; l.PerRequester.N != 10 || l.PerRequester.Window.String() != "1h0m0s" || l.PerCustomer.N != 20 || l.PerCustomer.Window.String() != "30m0s" {
		t.Fatalf("limits = %+v", l)
	}
	// Unset: no limit, as before limits existed.
	env = goodEnv(writePolicy(t, goodPolicy))
	if cfg, err = loadConfig(func(k string) string { return env[k] }); err != nil || cfg.Policy.Limits != (commands.Limits{}) {
		t.Fatalf("no limits: %+v %v", cfg.Policy.Limits, err)
	}
	env = goodEnv(writePolicy(t, goodPolicy+"limits:\n  per_requester: ten an hour\n  per_customer: 0/1h\n"))
	_, err = loadConfig(func(k string) string { return env[k] })
	for _, w := range []string{`limits.per_requester: "ten an hour" is not a limit`, "limits.per_customer: 0 is out of range"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q: %v", w, err)
		}
	}
}

func TestLoadConfig_Reminders(t *testing.T) {
	env := goodEnv(writePolicy(t, `
approval:
  channel: C0APPROVALS
  remind_after: 10m
  escalate_after: 20m
  escalate_to: {slack_usergroups: [S0MANAGERS]}
grants:
  - slack_users: [U0ALICE]
    roles: ["User Administrator"]
    customers: ["*"]
policies:
  - name: quick
    customers: [contoso.onmicrosoft.com]
    expires_after: 15m
    remind_after: 5m
  - name: inherits
    customers: [fabrikam.onmicrosoft.com]
`))
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Policy
	if p.RemindAfter.String() != "10m0s" || p.EscalateAfter.String() != "20m0s" || p.EscalateTo.Usergroups[0] != "S0MANAGERS" {
		t.Fatalf("default reminders: %+v", p)
	}
	if q := p.Policies[0]; q.RemindAfter.String() != "5m0s" || q.EscalateAfter != 0 {
		t.Fatalf("quick = %+v", q)
	}
	if q := p.Policies[1]; q.RemindAfter.String() != "10m0s" {
		t.Fatalf("inherits = %+v", q)
	}
	// A reminder after expiry can never be sent: named, under approval:.
	env = goodEnv(writePolicy(t, strings.Replace(goodPolicy, "channel: C0APPROVALS", "channel: C0APPROVALS\n  remind_after: 45m", 1)))
	_, err = loadConfig(func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), "approval: remind_after (45m0s) is not before expires_after (30m0s)") {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadConfig_BreakGlass(t *testing.T) {
	env := goodEnv(writePolicy(t, goodPolicy+`
break_glass:
  slack_users: [U0LEAD]
  slack_usergroups: [S0ONCALL]
  security_contacts: [U0CISO]
policies:
  - name: admins
    customers: ["*"]
    tiers: [privileged]
    break_glass: false
`))
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	bg := cfg.Policy.BreakGlass
	if bg.People.Users[0] != "U0LEAD" || bg.People.Usergroups[0] != "S0ONCALL" || bg.SecurityContacts[0] != "U0CISO" || bg.RemindEvery.String() != "1h0m0s" {
		t.Fatalf("break_glass = %+v", bg)
	}
	if cfg.Policy.Policies[0].BreakGlass {
		t.Error("break_glass: false not applied")
	}
	env = goodEnv(writePolicy(t, goodPolicy+"break_glass:\n  slack_users: [U0LEAD]\n"))
	if _, err := loadConfig(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "break_glass.security_contacts: required") {
		t.Fatalf("err = %v", err)
	}
}
