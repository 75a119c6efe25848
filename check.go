package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/bot"
	"github.com/locksmithbot/locksmith/partner"
	"github.com/locksmithbot/locksmith/policy"
)

// checkTimeout bounds the whole of `locksmith check`.
const checkTimeout = 60 * time.Second

// runCheck proves, item by item, what `locksmith run` needs: the database, the
// two Slack tokens, every person, user group and channel the configuration
// names, and Partner Center. Each item prints one line, OK or FAIL; a FAIL
// names the variable or configuration key to change. Nothing is changed in
// Slack or Partner Center, except that --post-test posts a test message to each
// channel and deletes it again. No secret is printed.
func runCheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("locksmith check", "Proves what `locksmith run` needs: database, Slack tokens, the people, user groups and channels in locksmith.yaml, and Partner Center. Exit 1 if anything fails.", stdout)
	postTest := fs.Bool("post-test", false, "post a short test message to the approval and audit channels, then delete it")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	c := &checker{out: stdout, cfg: cfg, postTest: *postTest}
	c.ok("configuration", fmt.Sprintf("%s; %d grants; approval required: %t", cfg.ConfigPath, len(cfg.Policy.Grants), cfg.Policy.ApprovalRequired))

	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: max(slog.LevelWarn, cfg.LogLevel)}))
	m := newMetrics()
	tokens := partner.TokenStore(partner.NewMemoryTokenStore())
	var sealed *sealedTokenStore
	store, err := approvals.Open(ctx, cfg.DatabaseURL, approvals.Options{Logger: log})
	if err != nil {
		c.fail("database", strings.TrimPrefix(err.Error(), "approvals: "), "LOCKSMITH_DATABASE_URL")
	} else {
		defer store.Close()
		c.ok("database", store.Dialect())
		if cfg.SecretKey != nil {
			// The bot resumes from the newest sealed refresh token; check must
			// use (and keep) that one too, or it would redeem an older one.
			if sealed, err = newSealedTokenStore(store, cfg.SecretKey, cfg.PartnerRefreshToken, log); err != nil {
				return err
			}
			tokens = sealed
		}
	}
	b, err := newSlackBot(cfg, log, m)
	if err != nil {
		return err
	}
	pc, err := newPartnerClient(cfg, tokens, log, m)
	if err != nil {
		return err
	}

	c.placeholders()
	c.slack(ctx, b)
	if choice, ok := refreshTokenChoice(ctx, sealed, cfg); ok {
		c.ok("Partner Center refresh token", choice)
	} else {
		c.fail("Partner Center refresh token", choice, "run `locksmith login`, or set PARTNER_REFRESH_TOKEN")
	}
	c.partnerCenter(ctx, pc)
	if cfg.SecretKey == nil {
		fmt.Fprintln(stdout, "warning: LOCKSMITH_SECRET_KEY is not set, so rotated refresh tokens are kept in memory only. After a restart locksmith starts again from PARTNER_REFRESH_TOKEN, which Entra expires after 90 days without use; set the key to persist the newest token (encrypted).")
	}
	if c.failed > 0 {
		return &failure{msg: fmt.Sprintf("check failed: %d item(s) to fix", c.failed)}
	}
	fmt.Fprintln(stdout, "all checks passed")
	return nil
}

// checker prints the lines of `locksmith check` and counts the failures.
type checker struct {
	out      io.Writer
	cfg      Config
	postTest bool
	failed   int
	// placeholder holds the Slack IDs already reported as the example's
	// placeholders, so they are not looked up in Slack as well.
	placeholder map[string]bool
}

func (c *checker) ok(item, detail string) {
	if detail != "" {
		detail = " (" + detail + ")"
	}
	fmt.Fprintf(c.out, "%s: OK%s\n", item, detail)
}

// fail prints item's failure: what is wrong and what to change.
func (c *checker) fail(item, why, fix string) {
	c.failed++
	fmt.Fprintf(c.out, "%s: FAIL: %s (fix: %s)\n", item, why, fix)
}

// examplePlaceholders are the Slack IDs in locksmith.example.yaml. They look
// like real IDs, so a copied file that was not edited passes every syntax
// check; Slack would then answer user_not_found or channel_not_found, which
// does not say "you forgot to edit the example".
var examplePlaceholders = []string{"C0APPROVALS", "C0AUDIT", "U0ALICE", "U0BOB", "U0LEAD", "S0HELPDESK",
	"S0LEADS", "S0FABRIKAMTEAM", "U0CTO", "U0CISO"}

func (c *checker) placeholders() {
	c.placeholder = map[string]bool{}
	flag := func(key, id, what string) {
		if slices.Contains(examplePlaceholders, id) {
			c.placeholder[id] = true
			c.fail(key+" "+id, "this is the example file's placeholder, not a real "+what, key+" in "+c.cfg.ConfigPath)
		}
	}
	pol := c.cfg.Policy
	flag("approval.channel", pol.ApprovalChannel, "channel ID")
	flag("audit.channel", pol.AuditChannel, "channel ID")
	for i, g := range pol.Grants {
		for j, u := range g.Users {
			flag(fmt.Sprintf("grants[%d].slack_users[%d]", i, j), u, "member ID")
		}
		for j, s := range g.Usergroups {
			flag(fmt.Sprintf("grants[%d].slack_usergroups[%d]", i, j), s, "user group ID")
		}
	}
	principals := func(key string, p policy.Principals) {
		for j, u := range p.Users {
			flag(fmt.Sprintf("%s.slack_users[%d]", key, j), u, "member ID")
		}
		for j, s := range p.Usergroups {
			flag(fmt.Sprintf("%s.slack_usergroups[%d]", key, j), s, "user group ID")
		}
	}
	principals("approval.escalate_to", pol.EscalateTo)
	principals("break_glass", pol.BreakGlass.People)
	for j, u := range pol.BreakGlass.SecurityContacts {
		flag(fmt.Sprintf("break_glass.security_contacts[%d]", j), u, "member ID")
	}
	for i, r := range pol.Policies {
		principals(fmt.Sprintf("policies[%d].approvers", i), r.Approvers)
		principals(fmt.Sprintf("policies[%d].escalate_to", i), r.EscalateTo)
	}
}

// slackCode is Slack's error code in err ("" when there is none).
func slackCode(err error) string {
	var ae *bot.APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

// scopeFix is what to change when Slack says a scope is missing.
func scopeFix(err error, scopes, otherwise string) string {
	if slackCode(err) == "missing_scope" {
		return "add the " + scopes + " scope to the Slack app (manifest.yaml), then reinstall it"
	}
	return otherwise
}

func (c *checker) slack(ctx context.Context, b *bot.Bot) {
	if err := b.ProbeSocket(ctx); err != nil {
		c.fail("Slack app token", err.Error(), "SLACK_APP_TOKEN (an app-level token, xapp-…, with connections:write; and Socket Mode enabled in the app)")
	} else {
		c.ok("Slack app token", "Socket Mode connection opened and closed")
	}
	ws, err := b.AuthTest(ctx)
	if err != nil {
		c.fail("Slack bot token", err.Error(), "SLACK_BOT_TOKEN (the Bot User OAuth Token, xoxb-…)")
		fmt.Fprintln(c.out, "Slack people, user groups and channels: not checked until the bot token works")
		return
	}
	c.ok("Slack bot token", fmt.Sprintf("workspace %s, %s; bot user %s", ws.Team, ws.TeamID, ws.BotUserID))

	pol := c.cfg.Policy
	for i, g := range pol.Grants {
		for j, id := range g.Users {
			if !c.placeholder[id] {
				c.person(ctx, b, fmt.Sprintf("grants[%d].slack_users[%d]", i, j), id)
			}
		}
		for j, id := range g.Usergroups {
			if !c.placeholder[id] {
				c.usergroup(ctx, b, fmt.Sprintf("grants[%d].slack_usergroups[%d]", i, j), i, id)
			}
		}
	}
	if pol.ApprovalChannel != "" && !c.placeholder[pol.ApprovalChannel] {
		c.channel(ctx, b, "approval.channel", pol.ApprovalChannel)
	}
	if pol.AuditChannel != "" && !c.placeholder[pol.AuditChannel] {
		c.channel(ctx, b, "audit.channel", pol.AuditChannel)
	}
}

func (c *checker) person(ctx context.Context, b *bot.Bot, key, id string) {
	item := key + " " + id
	p, err := b.Person(ctx, id)
	switch {
	case slackCode(err) == "user_not_found":
		c.fail(item, "no such user in this workspace", key+" in "+c.cfg.ConfigPath+": the member ID from the person's profile (⋮ → Copy member ID)")
	case err != nil:
		c.fail(item, err.Error(), scopeFix(err, "users:read", "SLACK_BOT_TOKEN, or retry if Slack was unavailable"))
	case p.Problem() != "":
		c.fail(item, "is "+p.Problem()+"; locksmith refuses such accounts even when a grant names them", "remove it from "+key+" in "+c.cfg.ConfigPath)
	default:
		c.ok(item, "active member "+p.RealName)
	}
}

// usergroup checks one group of grant i. A broken group fails only that grant
// at run time, and the line says so.
func (c *checker) usergroup(ctx context.Context, b *bot.Bot, key string, grant int, id string) {
	item := key + " " + id
	members, err := b.Members(ctx, id)
	switch {
	case slackCode(err) == "no_such_subteam":
		c.fail(item, fmt.Sprintf("no such user group (or it is disabled); grants[%d] gives nobody anything through it", grant), key+" in "+c.cfg.ConfigPath)
	case err != nil:
		c.fail(item, fmt.Sprintf("%v; grants[%d] cannot be used through this group", err, grant), scopeFix(err, "usergroups:read", "SLACK_BOT_TOKEN, or retry if Slack was unavailable"))
	case len(members) == 0:
		c.fail(item, fmt.Sprintf("the user group has no members; grants[%d] gives nobody anything through it", grant), "add people to the group in Slack, or change "+key+" in "+c.cfg.ConfigPath)
	default:
		c.ok(item, fmt.Sprintf("%d members", len(members)))
	}
}

func (c *checker) channel(ctx context.Context, b *bot.Bot, key, id string) {
	item := key + " " + id
	fixKey := key + " in " + c.cfg.ConfigPath
	if c.postTest {
		err := b.PostTest(ctx, id, "locksmith check: test message, deleted at once")
		switch code := slackCode(err); {
		case code == "not_in_channel":
			c.fail(item, "locksmith is not a member of the channel", "invite it there (/invite @locksmith), or change "+fixKey)
		case code == "channel_not_found":
			c.fail(item, "no such channel, or a private channel locksmith was not invited to", fixKey+", or /invite @locksmith in the channel")
		case err != nil:
			c.fail(item, err.Error(), scopeFix(err, "chat:write", fixKey))
		default:
			c.ok(item, "test message posted and deleted")
		}
		return
	}
	ch, err := b.ChannelInfo(ctx, id)
	switch {
	case slackCode(err) == "channel_not_found":
		c.fail(item, "no such channel, or a private channel locksmith was not invited to", fixKey+", or /invite @locksmith in the channel")
	case err != nil:
		c.fail(item, err.Error(), scopeFix(err, "channels:read and groups:read", fixKey)+"; or run check --post-test")
	case !ch.IsMember:
		c.fail(item, "#"+ch.Name+": locksmith is not a member, so it cannot post there", "/invite @locksmith in #"+ch.Name+", or change "+fixKey)
	default:
		c.ok(item, "#"+ch.Name+"; locksmith is a member (check --post-test also posts and deletes a test message)")
	}
}

func (c *checker) partnerCenter(ctx context.Context, pc *partner.Client) {
	if err := pc.CheckAuth(ctx); err != nil {
		c.fail("Partner Center token", err.Error(), "`locksmith login` (or PARTNER_REFRESH_TOKEN), PARTNER_CLIENT_ID, PARTNER_CLIENT_SECRET or PARTNER_TENANT_ID, as the message says")
		return
	}
	id, err := pc.Identity(ctx) // the token just issued, from the cache
	switch {
	case err != nil:
		// A token was issued but its claims cannot be read: not fatal to run.
		c.ok("Partner Center token", "issued; "+err.Error())
	case !strings.EqualFold(id.TenantID, c.cfg.PartnerTenantID):
		c.fail("Partner Center token", fmt.Sprintf("issued for %s in tenant %s, not the partner tenant", orUnknown(id.Username), orUnknown(id.TenantID)),
			"PARTNER_TENANT_ID, or `locksmith login` as the partner tenant's service account")
	case !id.MFA:
		c.fail("Partner Center token", fmt.Sprintf("issued for %s without multi-factor authentication; Partner Center refuses App+User calls without it", orUnknown(id.Username)),
			"`locksmith login`: sign in again, completing MFA (or a new PARTNER_REFRESH_TOKEN)")
	default:
		c.ok("Partner Center token", fmt.Sprintf("account %s <%s>, tenant %s, MFA: yes", orUnknown(id.Name), orUnknown(id.Username), id.TenantID))
	}
	cust, found, err := pc.FirstCustomer(ctx)
	switch {
	case err != nil:
		c.fail("Partner Center API", err.Error(), "the app registration's Partner Center API permission (user_impersonation, admin consent), and the service account's Partner Center role")
	case !found:
		c.ok("Partner Center API", "customers can be listed; there are none yet")
	default:
		c.ok("Partner Center API", fmt.Sprintf("customers can be listed; the first is %s, %s", printable(cust.Name), printable(cust.Domain)))
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

// printable drops control and format characters from directory text before it
// reaches the operator's terminal, where they could rewrite the screen.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, s)
}
