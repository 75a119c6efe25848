package main

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/commands"
	"github.com/locksmithbot/locksmith/internal/secret"
	"github.com/locksmithbot/locksmith/partner"
)

// Config is everything locksmith needs to run: secrets and endpoints from the
// environment, policy from locksmith.yaml (README.md "Configuration").
type Config struct {
	SlackAppToken secret.Token
	SlackBotToken secret.Token
	SlackAPIURL   string

	PartnerCenterURL    string
	AuthorityHost       string
	PartnerTenantID     string
	PartnerClientID     string
	PartnerSecret       secret.Token
	PartnerRefreshToken secret.Token
	GraphURL            string // GRAPH_URL: Microsoft Graph base, for national clouds and tests

	ConfigPath  string
	DatabaseURL string
	SpoolDir    string // outcome records the database refused, kept until it takes them
	Listen      string
	SecretKey   []byte // 32 bytes, or nil: refresh tokens then stay in memory only
	LogLevel    slog.Level

	Policy commands.Policy

	// Label marks every Slack message (`locksmith demo`: "DEMO"); not from the
	// environment.
	Label, LabelNote string
}

// fileConfig is locksmith.yaml as written; unknown keys are rejected.
type fileConfig struct {
	Approval struct {
		Required      *bool  `yaml:"required"`
		Channel       string `yaml:"channel"`
		ExpiresAfter  string `yaml:"expires_after"`
		UseWithin     string `yaml:"use_within"`
		RequireReason bool   `yaml:"require_reason"`
	} `yaml:"approval"`
	Password struct {
		Length *int `yaml:"length"`
	} `yaml:"password"`
	Grants []struct {
		SlackUsers      []string `yaml:"slack_users"`
		SlackUsergroups []string `yaml:"slack_usergroups"`
		Roles           []string `yaml:"roles"`
		Customers       []string `yaml:"customers"`
		Actions         []string `yaml:"actions"`
	} `yaml:"grants"`
	Audit struct {
		Channel string `yaml:"channel"`
	} `yaml:"audit"`
	Graph graphFileConfig `yaml:"graph"`
}

// Slack ID shapes. Slack documents the prefixes, not a grammar; these accept
// every real ID and reject names, e-mail addresses and <@U…> mentions, the usual
// mistakes.
var (
	slackUserRE      = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)
	slackUsergroupRE = regexp.MustCompile(`^S[A-Z0-9]{2,20}$`)
	slackChannelRE   = regexp.MustCompile(`^[CG][A-Z0-9]{2,20}$`)
	guidRE           = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	domainRE         = regexp.MustCompile(`^(?i:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.(?i:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?))+$`)
)

// ConfigError lists every problem found, each naming its key, so an operator
// fixes them in one pass instead of one restart per mistake.
type ConfigError struct{ Problems []string }

func (e *ConfigError) Error() string {
	return "invalid configuration:\n  - " + strings.Join(e.Problems, "\n  - ")
}

// loadConfig reads the environment (through getenv, so tests need no os.Setenv)
// and the policy file, and validates everything.
func loadConfig(getenv func(string) string) (Config, error) {
	return loadConfigFor(getenv, true)
}

// loadConfigFor reads what the bot needs when forBot, else only the Partner
// Center app and the database: `locksmith login` talks to neither Slack nor
// the policy, and an operator may sign in before setting those up.
func loadConfigFor(getenv func(string) string, forBot bool) (Config, error) {
	var problems []string
	add := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	env := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}

	c := Config{
		SlackAPIURL:      env("SLACK_API_URL", "https://slack.com/api/"),
		PartnerCenterURL: env("PARTNER_CENTER_URL", "https://api.partnercenter.microsoft.com"),
		AuthorityHost:    env("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.com/"),
		GraphURL:         env("GRAPH_URL", "https://graph.microsoft.com"),
		PartnerTenantID:  env("PARTNER_TENANT_ID", ""),
		PartnerClientID:  env("PARTNER_CLIENT_ID", ""),
		ConfigPath:       env("LOCKSMITH_CONFIG", "locksmith.yaml"),
		DatabaseURL:      env("LOCKSMITH_DATABASE_URL", "locksmith.db"),
		SpoolDir:         env("LOCKSMITH_SPOOL_DIR", "locksmith-spool"),
		Listen:           env("LOCKSMITH_LISTEN", "127.0.0.1:9090"),
	}

	appToken, botToken := env("SLACK_APP_TOKEN", ""), env("SLACK_BOT_TOKEN", "")
	switch {
	case !forBot:
	case appToken == "":
		add("SLACK_APP_TOKEN: not set (the app-level token, xapp-…, with connections:write; Basic Information → App-Level Tokens)")
	case !strings.HasPrefix(appToken, "xapp-"):
		add("SLACK_APP_TOKEN: must start with xapp- (an app-level token, not the bot token)")
	}
	switch {
	case !forBot:
	case botToken == "":
		add("SLACK_BOT_TOKEN: not set (the bot token, xoxb-…; OAuth & Permissions after installing the app)")
	case !strings.HasPrefix(botToken, "xoxb-"):
		add("SLACK_BOT_TOKEN: must start with xoxb-")
	}
	c.SlackAppToken, c.SlackBotToken = secret.NewToken(appToken), secret.NewToken(botToken)

	checkURL := func(name, v string) {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			add("%s: %q is not an http(s) URL", name, v)
		}
	}
	checkURL("SLACK_API_URL", c.SlackAPIURL)
	checkURL("PARTNER_CENTER_URL", c.PartnerCenterURL)
	checkURL("AZURE_AUTHORITY_HOST", c.AuthorityHost)
	checkURL("GRAPH_URL", c.GraphURL)
	if !strings.HasSuffix(c.SlackAPIURL, "/") {
		c.SlackAPIURL += "/"
	}
	if !strings.HasSuffix(c.AuthorityHost, "/") {
		c.AuthorityHost += "/"
	}

	switch {
	case c.PartnerTenantID == "":
		add("PARTNER_TENANT_ID: not set (your partner tenant's ID, a GUID)")
	case !guidRE.MatchString(c.PartnerTenantID):
		add("PARTNER_TENANT_ID: %q is not a GUID", c.PartnerTenantID)
	}
	switch {
	case c.PartnerClientID == "":
		add("PARTNER_CLIENT_ID: not set (the application (client) ID of locksmith's app registration)")
	case !guidRE.MatchString(c.PartnerClientID):
		add("PARTNER_CLIENT_ID: %q is not a GUID", c.PartnerClientID)
	}
	if v := env("PARTNER_CLIENT_SECRET", ""); v == "" {
		add("PARTNER_CLIENT_SECRET: not set (a client secret of that app registration)")
	} else {
		c.PartnerSecret = secret.NewToken(v)
	}
	// Optional since `locksmith login` stores the token in the database; without
	// LOCKSMITH_SECRET_KEY nothing can be stored, so then it is required.
	c.PartnerRefreshToken = secret.NewToken(env("PARTNER_REFRESH_TOKEN", ""))
	if c.PartnerRefreshToken.IsZero() && env("LOCKSMITH_SECRET_KEY", "") == "" && forBot {
		add("PARTNER_REFRESH_TOKEN: not set, and without LOCKSMITH_SECRET_KEY no signed-in token can be stored either: set LOCKSMITH_SECRET_KEY and run `locksmith login`, or set PARTNER_REFRESH_TOKEN (see README)")
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		add("LOCKSMITH_LISTEN: %q is not host:port (%v)", c.Listen, err)
	}
	if v := env("LOCKSMITH_SECRET_KEY", ""); v != "" {
		key, err := decodeSecretKey(v)
		if err != nil {
			add("LOCKSMITH_SECRET_KEY: %v", err)
		} else {
			c.SecretKey = key
		}
	}
	if err := approvals.CheckDSN(c.DatabaseURL); err != nil {
		add("LOCKSMITH_DATABASE_URL: %s", strings.TrimPrefix(err.Error(), "approvals: "))
	}
	if lvl, err := parseLogLevel(env("LOCKSMITH_LOG_LEVEL", "info")); err != nil {
		add("LOCKSMITH_LOG_LEVEL: %v", err)
	} else {
		c.LogLevel = lvl
	}

	if forBot {
		pol, filePbs := readPolicy(c.ConfigPath)
		problems = append(problems, filePbs...)
		c.Policy = pol
	}
	if len(problems) > 0 {
		return c, &ConfigError{Problems: problems}
	}
	return c, nil
}

// readPolicy reads and validates locksmith.yaml.
func readPolicy(path string) (commands.Policy, []string) {
	var problems []string
	add := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return commands.Policy{}, []string{fmt.Sprintf("LOCKSMITH_CONFIG: %s does not exist (copy locksmith.example.yaml to %s and edit it)", path, path)}
	}
	if err != nil {
		return commands.Policy{}, []string{fmt.Sprintf("LOCKSMITH_CONFIG: %v", err)}
	}
	var f fileConfig
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(raw)).Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return commands.Policy{}, []string{fmt.Sprintf("%s: %v", path, strings.TrimPrefix(err.Error(), "yaml: "))}
	}
	if len(doc.Content) > 0 {
		// Unknown keys are reported alongside the other problems, so one edit
		// fixes everything; a value of the wrong kind stops here.
		problems = checkShape(doc.Content[0], reflect.TypeFor[fileConfig](), "")
		if err := doc.Content[0].Decode(&f); err != nil {
			if len(problems) > 0 {
				return commands.Policy{}, problems
			}
			return commands.Policy{}, []string{fmt.Sprintf("%s: %v", path, strings.TrimPrefix(err.Error(), "yaml: "))}
		}
	}

	p := commands.Policy{
		ApprovalRequired: f.Approval.Required == nil || *f.Approval.Required,
		ApprovalChannel:  f.Approval.Channel,
		RequireReason:    f.Approval.RequireReason,
		AuditChannel:     f.Audit.Channel,
		PasswordLength:   partner.DefaultPasswordLength,
	}
	duration := func(key, v string, def time.Duration) time.Duration {
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			add("%s: %q is not a duration (use e.g. 30m or 1h)", key, v)
		case d < time.Minute || d > 7*24*time.Hour:
			add("%s: %s is out of range (1m to 168h)", key, v)
		}
		return d
	}
	p.ExpiresAfter = duration("approval.expires_after", f.Approval.ExpiresAfter, 30*time.Minute)
	p.UseWithin = duration("approval.use_within", f.Approval.UseWithin, 15*time.Minute)
	switch {
	case p.ApprovalRequired && p.ApprovalChannel == "":
		add("approval.channel: required while approval.required is true (the channel ID, e.g. C0123ABCD, where approvers click)")
	case p.ApprovalChannel != "" && !slackChannelRE.MatchString(p.ApprovalChannel):
		add("approval.channel: %q is not a Slack channel ID (C… or G…; in Slack: channel details → About → Channel ID)", p.ApprovalChannel)
	}
	if p.AuditChannel != "" && !slackChannelRE.MatchString(p.AuditChannel) {
		add("audit.channel: %q is not a Slack channel ID (C… or G…)", p.AuditChannel)
	}
	if f.Password.Length != nil {
		p.PasswordLength = *f.Password.Length
		if p.PasswordLength < partner.MinPasswordLength || p.PasswordLength > partner.MaxPasswordLength {
			add("password.length: %d is out of range (%d to %d)", p.PasswordLength, partner.MinPasswordLength, partner.MaxPasswordLength)
		}
	}

	p.Graph = readGraphPolicy(f.Graph, add)
	if len(f.Grants) == 0 {
		add("grants: none configured, so nobody could reset anything; add at least one grant")
	}
	for i, g := range f.Grants {
		key := fmt.Sprintf("grants[%d]", i)
		var grant commands.Grant
		if len(g.SlackUsers) == 0 && len(g.SlackUsergroups) == 0 {
			add("%s: names no slack_users and no slack_usergroups", key)
		}
		for j, u := range g.SlackUsers {
			if !slackUserRE.MatchString(u) {
				add("%s.slack_users[%d]: %q is not a Slack user ID (U… or W…; in Slack: profile → ⋮ → Copy member ID)", key, j, u)
			}
			grant.Users = append(grant.Users, u)
		}
		for j, gr := range g.SlackUsergroups {
			if !slackUsergroupRE.MatchString(gr) {
				add("%s.slack_usergroups[%d]: %q is not a Slack user group ID (S…)", key, j, gr)
			}
			grant.Usergroups = append(grant.Usergroups, gr)
		}
		if len(g.Roles) == 0 {
			add("%s.roles: empty; give %q and/or %q", key, partner.RoleUserAdministrator, partner.RolePrivilegedAuthenticationAdministrator)
		}
		for j, r := range g.Roles {
			switch {
			case strings.EqualFold(r, string(partner.RoleUserAdministrator)):
				grant.Roles = append(grant.Roles, partner.RoleUserAdministrator)
			case strings.EqualFold(r, string(partner.RolePrivilegedAuthenticationAdministrator)):
				grant.Roles = append(grant.Roles, partner.RolePrivilegedAuthenticationAdministrator)
			default:
				add("%s.roles[%d]: %q is not a role locksmith knows; use %q or %q", key, j, r, partner.RoleUserAdministrator, partner.RolePrivilegedAuthenticationAdministrator)
			}
		}
		if len(g.Customers) == 0 {
			add(`%s.customers: empty; use ["*"] for every customer, or tenant IDs / domains`, key)
		}
		for j, cst := range g.Customers {
			if cst != "*" && !guidRE.MatchString(cst) && !domainRE.MatchString(cst) {
				add("%s.customers[%d]: %q is not \"*\", a tenant ID or a domain", key, j, cst)
			}
			grant.Customers = append(grant.Customers, strings.ToLower(cst))
		}
		grant.Actions = readActions(key, g.Actions, p.Graph.Enabled, add)
		p.Grants = append(p.Grants, grant)
	}
	return p, problems
}

// secretKeySize is the AES-256 key length LOCKSMITH_SECRET_KEY must decode to.
const secretKeySize = 32

// decodeSecretKey accepts the key in standard or URL-safe base64, padded or
// not (`openssl rand -base64 32` gives the first, other tools the others). The
// error names the rule that failed and never the value.
func decodeSecretKey(v string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		key, err := enc.DecodeString(v)
		if err != nil {
			continue
		}
		if len(key) != secretKeySize {
			n := len(key)
			clear(key)
			return nil, fmt.Errorf("decodes to %d bytes; it must be exactly %d random bytes in base64 (e.g. `openssl rand -base64 32`)", n, secretKeySize)
		}
		return key, nil
	}
	return nil, fmt.Errorf("is not base64 (standard or URL-safe); it must be %d random bytes in base64 (e.g. `openssl rand -base64 32`)", secretKeySize)
}

// parseLogLevel reads LOCKSMITH_LOG_LEVEL.
func parseLogLevel(v string) (slog.Level, error) {
	switch strings.ToLower(v) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%q is not a log level; use debug, info, warn or error", v)
}

// checkShape walks the YAML document against the Go type it decodes into and
// reports, by key path, every key the type does not have (with the keys it
// does have) and every value of the wrong kind. yaml's own errors name Go
// types ("field approvers not found in type struct { … }"), which an operator
// cannot act on.
func checkShape(n *yaml.Node, t reflect.Type, path string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil // an empty section decodes to the zero value, as before
	}
	where := path
	if where == "" {
		where = "the top level"
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return []string{fmt.Sprintf("%s: line %d: expected keys (a mapping), found %s", where, n.Line, nodeKind(n))}
		}
		fields := map[string]reflect.Type{}
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			if name != "" && name != "-" {
				fields[name] = t.Field(i).Type
			}
		}
		known := slices.Sorted(maps.Keys(fields))
		var problems []string
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			key := k.Value
			if path != "" {
				key = path + "." + k.Value
			}
			ft, ok := fields[k.Value]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: unknown key (known: %s), line %d", key, strings.Join(known, ", "), k.Line))
				continue
			}
			problems = append(problems, checkShape(v, ft, key)...)
		}
		return problems
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return []string{fmt.Sprintf("%s: line %d: expected a list, found %s", where, n.Line, nodeKind(n))}
		}
		var problems []string
		for i, item := range n.Content {
			problems = append(problems, checkShape(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
		return problems
	default:
		if n.Kind != yaml.ScalarNode {
			return []string{fmt.Sprintf("%s: line %d: expected a single value, found %s", where, n.Line, nodeKind(n))}
		}
		var probe = reflect.New(t)
		if err := n.Decode(probe.Interface()); err != nil {
			return []string{fmt.Sprintf("%s: line %d: %q is not %s", where, n.Line, n.Value, kindName(t))}
		}
		return nil
	}
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "keys (a mapping)"
	case yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("%q", n.Value)
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "a whole number"
	}
	return "text"
}
