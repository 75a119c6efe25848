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
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/commands"
	"github.com/locksmithbot/locksmith/internal/secret"
	"github.com/locksmithbot/locksmith/messages"
	"github.com/locksmithbot/locksmith/partner"
	"github.com/locksmithbot/locksmith/policy"
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
	// Delivery paces the Slack messages the outbox sends (LOCKSMITH_SLACK_*).
	Delivery commands.OutboxOptions

	Policy commands.Policy

	// Label marks every Slack message (`locksmith demo`: "DEMO"); not from the
	// environment.
	Label, LabelNote string
}

// fileConfig is locksmith.yaml as written; unknown keys are rejected.
type fileConfig struct {
	Approval struct {
		Required      *bool          `yaml:"required"`
		Channel       string         `yaml:"channel"`
		ExpiresAfter  string         `yaml:"expires_after"`
		UseWithin     string         `yaml:"use_within"`
		RequireReason bool           `yaml:"require_reason"`
		RemindAfter   string         `yaml:"remind_after"`
		EscalateAfter string         `yaml:"escalate_after"`
		EscalateTo    filePrincipals `yaml:"escalate_to"`
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
	Policies []filePolicy `yaml:"policies"`
	Limits   struct {
		PerRequester string `yaml:"per_requester"`
		PerCustomer  string `yaml:"per_customer"`
	} `yaml:"limits"`
	BreakGlass struct {
		SlackUsers       []string `yaml:"slack_users"`
		SlackUsergroups  []string `yaml:"slack_usergroups"`
		SecurityContacts []string `yaml:"security_contacts"`
		RemindEvery      string   `yaml:"remind_every"`
	} `yaml:"break_glass"`
	Graph  graphFileConfig `yaml:"graph"`
	Locale struct {
		Default string `yaml:"default"`
		Channel string `yaml:"channel"`
	} `yaml:"locale"`
}

// filePrincipals names Slack users and user groups by ID.
type filePrincipals struct {
	SlackUsers      []string `yaml:"slack_users"`
	SlackUsergroups []string `yaml:"slack_usergroups"`
}

// filePolicy is one entry of policies: in locksmith.yaml. Durations and
// require_reason left out are taken from the approval: block.
type filePolicy struct {
	Name              string         `yaml:"name"`
	Customers         []string       `yaml:"customers"`
	Tiers             []string       `yaml:"tiers"`
	Approvers         filePrincipals `yaml:"approvers"`
	ApprovalsRequired *int           `yaml:"approvals_required"`
	RequireReason     *bool          `yaml:"require_reason"`
	RequireTicket     *struct {
		Pattern string `yaml:"pattern"`
		Link    string `yaml:"link"`
	} `yaml:"require_ticket"`
	ExpiresAfter  string         `yaml:"expires_after"`
	UseWithin     string         `yaml:"use_within"`
	RemindAfter   string         `yaml:"remind_after"`
	EscalateAfter string         `yaml:"escalate_after"`
	EscalateTo    filePrincipals `yaml:"escalate_to"`
	BreakGlass    *bool          `yaml:"break_glass"`
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
	c.Delivery = parseDelivery(env, add)
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
	p.RemindAfter = duration("approval.remind_after", f.Approval.RemindAfter, 0)
	p.EscalateAfter = duration("approval.escalate_after", f.Approval.EscalateAfter, 0)
	p.EscalateTo = readPrincipals("approval.escalate_to", f.Approval.EscalateTo, add)
	switch {
	case p.ApprovalRequired && p.ApprovalChannel == "":
		add("approval.channel: required while approval.required is true (the channel ID, e.g. C0123ABCD, where approvers click)")
	case p.ApprovalChannel != "" && !slackChannelRE.MatchString(p.ApprovalChannel):
		add("approval.channel: %q is not a Slack channel ID (C… or G…; in Slack: channel details → About → Channel ID)", p.ApprovalChannel)
	}
	if p.AuditChannel != "" && !slackChannelRE.MatchString(p.AuditChannel) {
		add("audit.channel: %q is not a Slack channel ID (C… or G…)", p.AuditChannel)
	}
	lang := func(key, v string, def messages.Lang) messages.Lang {
		if strings.TrimSpace(v) == "" {
			return def
		}
		l, ok := messages.ParseLang(v)
		if !ok {
			add("%s: %q is not a language locksmith speaks (en or ja)", key, v)
		}
		return l
	}
	p.DefaultLang = lang("locale.default", f.Locale.Default, messages.English)
	p.ChannelLang = lang("locale.channel", f.Locale.Channel, p.DefaultLang)
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

	bg := f.BreakGlass
	p.BreakGlass.People = readPrincipals("break_glass", filePrincipals{SlackUsers: bg.SlackUsers, SlackUsergroups: bg.SlackUsergroups}, add)
	for j, u := range bg.SecurityContacts {
		if !slackUserRE.MatchString(u) {
			add("break_glass.security_contacts[%d]: %q is not a Slack user ID (U… or W…)", j, u)
		}
		p.BreakGlass.SecurityContacts = append(p.BreakGlass.SecurityContacts, u)
	}
	p.BreakGlass.RemindEvery = duration("break_glass.remind_every", bg.RemindEvery, time.Hour)
	if !p.BreakGlass.People.Empty() && len(p.BreakGlass.SecurityContacts) == 0 {
		add("break_glass.security_contacts: required when break_glass names people: someone must be told at once of every reset without approval")
	}
	if !p.BreakGlass.People.Empty() && !p.ApprovalRequired {
		add("break_glass: has no use while approval.required is false")
	}

	p.Limits.PerRequester = readLimit("limits.per_requester", f.Limits.PerRequester, add)
	p.Limits.PerCustomer = readLimit("limits.per_customer", f.Limits.PerCustomer, add)

	if len(f.Policies) > 0 && !p.ApprovalRequired {
		add("policies: approval policies need approval.required: true")
	}
	for i, fp := range f.Policies {
		p.Policies = append(p.Policies, readRule(i, fp, p, add, duration))
	}
	if len(problems) == 0 && p.ApprovalRequired {
		// Overlaps and contradictions between policies, each naming them.
		var pe *policy.Error
		if _, err := policy.New(commands.DefaultRule(&p), p.Policies); errors.As(err, &pe) {
			for _, pb := range pe.Problems {
				if strings.HasPrefix(pb, fmt.Sprintf("policy %q:", policy.DefaultName)) {
					add("approval: %s", strings.TrimPrefix(pb, fmt.Sprintf("policy %q: ", policy.DefaultName)))
					continue
				}
				add("policies: %s", pb)
			}
		} else if err != nil {
			add("policies: %v", err)
		}
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

// readRule turns one policies: entry into a rule, reporting problems by key.
func readRule(i int, fp filePolicy, def commands.Policy, add func(string, ...any), duration func(key, v string, def time.Duration) time.Duration) policy.Rule {
	key := fmt.Sprintf("policies[%d]", i)
	r := policy.Rule{Name: fp.Name, ApprovalsRequired: 1, RequireReason: def.RequireReason}
	switch {
	case fp.Name == "":
		add("%s.name: required (it names the policy on cards, in messages and in the audit trail)", key)
	case len(fp.Name) > 60 || strings.ContainsAny(fp.Name, "<>&*_`~|\n"):
		add("%s.name: %q must be at most 60 characters without < > & * _ ` ~ |", key, fp.Name)
	}
	for j, cst := range fp.Customers {
		if cst != "*" && !guidRE.MatchString(cst) && !domainRE.MatchString(cst) {
			add("%s.customers[%d]: %q is not \"*\", a tenant ID or a domain", key, j, cst)
		}
		r.Customers = append(r.Customers, strings.ToLower(cst))
	}
	for j, t := range fp.Tiers {
		switch tier := policy.Tier(strings.ToLower(t)); tier {
		case policy.Standard, policy.Privileged:
			r.Tiers = append(r.Tiers, tier)
		default:
			add("%s.tiers[%d]: %q is not %q or %q", key, j, t, policy.Standard, policy.Privileged)
		}
	}
	r.Approvers = readPrincipals(key+".approvers", fp.Approvers, add)
	if fp.ApprovalsRequired != nil {
		r.ApprovalsRequired = *fp.ApprovalsRequired
	}
	if fp.RequireReason != nil {
		r.RequireReason = *fp.RequireReason
	}
	if t := fp.RequireTicket; t != nil {
		re, err := regexp.Compile(t.Pattern)
		switch {
		case t.Pattern == "":
			add("%s.require_ticket.pattern: required (a regular expression such as 'INC-[0-9]+')", key)
		case err != nil:
			add("%s.require_ticket.pattern: %v", key, err)
		default:
			r.Ticket = &policy.Ticket{Pattern: re, Link: t.Link}
		}
	}
	r.ExpiresAfter = duration(key+".expires_after", fp.ExpiresAfter, def.ExpiresAfter)
	r.UseWithin = duration(key+".use_within", fp.UseWithin, def.UseWithin)
	r.RemindAfter = duration(key+".remind_after", fp.RemindAfter, def.RemindAfter)
	r.EscalateAfter = duration(key+".escalate_after", fp.EscalateAfter, 0)
	r.EscalateTo = readPrincipals(key+".escalate_to", fp.EscalateTo, add)
	r.BreakGlass = fp.BreakGlass == nil || *fp.BreakGlass
	return r
}

// readPrincipals checks Slack user and user-group IDs.
func readPrincipals(key string, fp filePrincipals, add func(string, ...any)) policy.Principals {
	var p policy.Principals
	for j, u := range fp.SlackUsers {
		if !slackUserRE.MatchString(u) {
			add("%s.slack_users[%d]: %q is not a Slack user ID (U… or W…)", key, j, u)
		}
		p.Users = append(p.Users, u)
	}
	for j, g := range fp.SlackUsergroups {
		if !slackUsergroupRE.MatchString(g) {
			add("%s.slack_usergroups[%d]: %q is not a Slack user group ID (S…)", key, j, g)
		}
		p.Usergroups = append(p.Usergroups, g)
	}
	return p
}

// readLimit parses "10/1h": at most 10 in any hour. Empty is no limit.
func readLimit(key, v string, add func(string, ...any)) commands.Limit {
	if v == "" {
		return commands.Limit{}
	}
	n, w, ok := strings.Cut(v, "/")
	count, err := strconv.Atoi(strings.TrimSpace(n))
	window, werr := time.ParseDuration(strings.TrimSpace(w))
	switch {
	case !ok || err != nil || werr != nil:
		add("%s: %q is not a limit; write a count and a window, e.g. 10/1h", key, v)
	case count < 1 || count > 10000:
		add("%s: %d is out of range (1 to 10000)", key, count)
	case window < time.Minute || window > 7*24*time.Hour:
		add("%s: window %s is out of range (1m to 168h)", key, window)
	default:
		return commands.Limit{N: count, Window: window}
	}
	return commands.Limit{}
}

// parseDelivery reads how the outbox paces Slack messages. The defaults
// follow Slack's posting limit (about one message a second per channel, short
// bursts tolerated) and are generous about queueing: before the outbox, a
// burst beyond a few requests failed outright.
func parseDelivery(env func(name, def string) string, add func(string, ...any)) commands.OutboxOptions {
	var o commands.OutboxOptions
	if v := env("LOCKSMITH_SLACK_POST_INTERVAL", ""); v != "" {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil || d < 0:
			add("LOCKSMITH_SLACK_POST_INTERVAL: %q is not a duration like 1s (0 turns pacing off)", v)
		case d == 0:
			o.PaceInterval = -1 // off; Retry-After is still honoured
		default:
			o.PaceInterval = d
		}
	}
	positive := func(name string, dst *int) {
		if v := env(name, ""); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				add("%s: %q is not a whole number of at least 1", name, v)
				return
			}
			*dst = n
		}
	}
	positive("LOCKSMITH_SLACK_POST_BURST", &o.PaceBurst)
	positive("LOCKSMITH_SLACK_QUEUE_LIMIT", &o.MaxQueued)
	return o
}
