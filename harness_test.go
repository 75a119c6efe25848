package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/bot"
	"github.com/locksmithbot/locksmith/internal/dbtest"
	"github.com/locksmithbot/locksmith/internal/fakepartner"
	"github.com/locksmithbot/locksmith/internal/fakeslack"
)

// The end-to-end harness runs the real locksmith (config → app → bot with the
// real slack-go socketmode client, the real Partner Center client, the real
// store) against the in-process fakes of Slack and Partner Center.

// Seeded directory. IDs are fixed so failures read well.
const (
	contosoTenant  = "c0000000-0000-4000-8000-000000000001"
	contosoLtd     = "c0000000-0000-4000-8000-000000000002"
	fabrikamTenant = "c0000000-0000-4000-8000-000000000003"

	plainUserID  = "a0000000-0000-4000-8000-000000000001"
	plainUPN     = "alice.user@contoso.onmicrosoft.com"
	helpdeskID   = "a0000000-0000-4000-8000-000000000002"
	helpdeskUPN  = "helpdesk@contoso.onmicrosoft.com"
	globalID     = "a0000000-0000-4000-8000-000000000003"
	globalUPN    = "admin@contoso.onmicrosoft.com"
	syncedID     = "a0000000-0000-4000-8000-000000000004"
	syncedUPN    = "synced@contoso.onmicrosoft.com"
	fabrikamUser = "fab.user@fabrikam.onmicrosoft.com"

	roleHelpdesk = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	roleGlobal   = "62e90394-69f5-4237-9190-012177145e10"

	// Slack people.
	alice   = "U0ALICE"   // technician: User Administrator, all customers
	bob     = "U0BOB"     // technician: User Administrator, all customers
	carol   = "U0CAROL"   // lead: Privileged Authentication Administrator, all customers
	erin    = "U0ERIN"    // lead: Privileged Authentication Administrator, all customers
	grace   = "U0GRACE"   // in the S0HELPDESK user group: User Administrator, all customers
	dave    = "U0DAVE"    // User Administrator for Fabrikam only
	mallory = "U0MALLORY" // no grant

	helpdeskChannel  = "C0HELPDESK"
	approvalsChannel = "C0APPROVALS"
	auditChannel     = "C0AUDIT"
)

const policyTemplate = `
approval:
  required: %t
  channel: C0APPROVALS
  expires_after: 30m
  use_within: 15m
password:
  length: 20
grants:
  - slack_users: [U0ALICE, U0BOB]
    slack_usergroups: [S0HELPDESK]
    roles: ["User Administrator"]
    customers: ["*"]
  - slack_users: [U0CAROL, U0ERIN]
    roles: ["Privileged Authentication Administrator"]
    customers: ["*"]
  - slack_users: [U0DAVE]
    roles: ["User Administrator"]
    customers: ["fabrikam.onmicrosoft.com"]
audit:
  channel: C0AUDIT
`

// testWait bounds every wait in the end-to-end tests. Waits end as soon as
// their condition holds, so a generous bound costs nothing when things work;
// it only has to outlast a loaded two-core machine running -race.
const testWait = time.Minute

type harnessOptions struct {
	approval bool
	dsn      string // "" → a fresh SQLite file
}

type harness struct {
	t     testing.TB
	slack *fakeslack.Server
	pc    *fakepartner.Server
	env   map[string]string
	logs  *lockedBuffer
	clock *fakeClock

	mu     sync.Mutex
	app    *app
	cancel context.CancelFunc
	done   chan error
}

func newHarness(t testing.TB, o harnessOptions) *harness {
	t.Helper()
	h := &harness{t: t, logs: &lockedBuffer{}, clock: newFakeClock()}
	// Registered first, so it runs last: after locksmith has stopped.
	t.Cleanup(func() { checkLogLines(t, []byte(h.logs.String())) })

	h.slack = fakeslack.New()
	t.Cleanup(h.slack.Close)
	// Acks are checked against Slack's 3 s only by the benchmarks: a loaded
	// machine can delay any one of them, which says nothing about locksmith.
	h.slack.SetAckDeadline(testWait)
	h.slack.SetPingInterval(200 * time.Millisecond)
	for _, u := range []string{alice, bob, carol, erin, grace, dave, mallory} {
		h.slack.AddUser(u, strings.ToLower(strings.TrimPrefix(u, "U0")))
	}
	h.slack.AddChannel(helpdeskChannel, "helpdesk", alice, bob, carol, erin, grace, dave, mallory)
	h.slack.AddChannel(approvalsChannel, "approvals", alice, bob, carol, erin, grace, dave, mallory)
	h.slack.AddChannel(auditChannel, "audit")
	h.slack.AddUsergroup("S0HELPDESK", grace)

	h.pc = fakepartner.New()
	t.Cleanup(h.pc.Close)
	h.pc.SetPageSize(3)
	h.pc.AddCustomer(fakepartner.Customer{TenantID: contosoTenant, Name: "Contoso", Domain: "contoso.onmicrosoft.com", Relationship: "reseller"})
	h.pc.AddCustomer(fakepartner.Customer{TenantID: contosoLtd, Name: "Contoso Ltd", Domain: "contosoltd.onmicrosoft.com", Relationship: "reseller"})
	h.pc.AddCustomer(fakepartner.Customer{TenantID: fabrikamTenant, Name: "Fabrikam", Domain: "fabrikam.onmicrosoft.com", Relationship: "reseller"})
	synced := time.Date(2026, 11, 26, 22, 0, 0, 0, time.UTC)
	for i := 0; i < 5; i++ { // filler so that UPN lookups page
		h.pc.AddUser(contosoTenant, fakepartner.User{ObjectID: fmt.Sprintf("f0000000-0000-4000-8000-%012d", i), UPN: fmt.Sprintf("filler%d@contoso.onmicrosoft.com", i), DisplayName: fmt.Sprintf("Filler %d", i), State: "active"})
	}
	h.pc.AddUser(contosoTenant, fakepartner.User{ObjectID: plainUserID, UPN: plainUPN, FirstName: "Alice", LastName: "User", DisplayName: "Alice User", State: "active"})
	h.pc.AddUser(contosoTenant, fakepartner.User{ObjectID: helpdeskID, UPN: helpdeskUPN, DisplayName: "Helpdesk Person", State: "active", Roles: []fakepartner.Role{{TemplateID: roleHelpdesk}}})
	h.pc.AddUser(contosoTenant, fakepartner.User{ObjectID: globalID, UPN: globalUPN, DisplayName: "Global Admin", State: "active", Roles: []fakepartner.Role{{TemplateID: roleGlobal}}})
	h.pc.AddUser(contosoTenant, fakepartner.User{ObjectID: syncedID, UPN: syncedUPN, DisplayName: "Synced User", State: "active", LastDirectorySyncTime: &synced})
	h.pc.AddUser(fabrikamTenant, fakepartner.User{ObjectID: "b0000000-0000-4000-8000-000000000001", UPN: fabrikamUser, DisplayName: "Fab User", State: "active"})

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "locksmith.yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(policyTemplate, o.approval)), 0o600); err != nil {
		t.Fatal(err)
	}
	dsn := o.dsn
	if dsn == "" {
		dsn = dbtest.SQLite(t)
	}
	h.env = map[string]string{
		"SLACK_APP_TOKEN":        fakeslack.AppToken,
		"SLACK_BOT_TOKEN":        fakeslack.BotToken,
		"SLACK_API_URL":          h.slack.APIURL(),
		"PARTNER_CENTER_URL":     h.pc.URL(),
		"AZURE_AUTHORITY_HOST":   h.pc.AuthorityURL(),
		"PARTNER_TENANT_ID":      fakepartner.TenantID,
		"PARTNER_CLIENT_ID":      fakepartner.ClientID,
		"PARTNER_CLIENT_SECRET":  fakepartner.ClientSecret,
		"PARTNER_REFRESH_TOKEN":  h.pc.InitialRefreshToken(),
		"LOCKSMITH_CONFIG":       cfgPath,
		"LOCKSMITH_DATABASE_URL": dsn,
		"LOCKSMITH_LISTEN":       "127.0.0.1:0",
		"LOCKSMITH_SPOOL_DIR":    filepath.Join(dir, "spool"),
		"LOCKSMITH_SECRET_KEY":   "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
		// The fake Slack limits nothing unless a test asks it to, so pacing
		// would only slow the tests down; the burst test turns it back on.
		"LOCKSMITH_SLACK_POST_INTERVAL": "0",
	}
	return h
}

func (h *harness) getenv(k string) string { return h.env[k] }

// use points the harness at a subtest's t for the subtest's duration, so that
// failures are reported where they happen: defer h.use(t)().
func (h *harness) use(t testing.TB) (restore func()) {
	old := h.t
	h.t = t
	return func() { h.t = old }
}

// start wires and runs locksmith as `locksmith run` would, with the fake clock.
func (h *harness) start() {
	h.t.Helper()
	cfg, err := loadConfig(h.getenv)
	if err != nil {
		h.t.Fatalf("config: %v", err)
	}
	log := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	a, err := newApp(ctx, cfg, log, h.clock.Now)
	if err != nil {
		cancel()
		h.t.Fatalf("newApp: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		err := a.serve(ctx)
		a.store.Close()
		done <- err
	}()
	h.mu.Lock()
	h.app, h.cancel, h.done = a, cancel, done
	h.mu.Unlock()
	h.t.Cleanup(func() { h.stop() })
	wctx, wcancel := context.WithTimeout(context.Background(), testWait)
	defer wcancel()
	if err := h.slack.WaitConnected(wctx); err != nil {
		h.t.Fatalf("bot never connected: %v", err)
	}
}

// stop shuts locksmith down as SIGTERM would and returns serve's error.
func (h *harness) stop() error {
	h.mu.Lock()
	cancel, done := h.cancel, h.done
	h.cancel, h.done = nil, nil
	h.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case err := <-done:
		return err
	case <-time.After(testWait + bot.DefaultFinishTimeout):
		h.t.Fatal("locksmith did not stop")
		return nil
	}
}

func (h *harness) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	h.t.Cleanup(cancel)
	return ctx
}

// slash types /reset-password as user and returns locksmith's reply to them.
func (h *harness) slash(user, text string) string {
	h.t.Helper()
	env, err := h.slack.SlashCommand(h.ctx(), user, helpdeskChannel, "/reset-password", text)
	if err != nil {
		h.t.Fatalf("slash command: %v", err)
	}
	return h.replyTo(env)
}

// click presses a button of a message and returns the reply to the clicker.
func (h *harness) click(user string, msg fakeslack.Message, actionID string) string {
	h.t.Helper()
	value := buttonValue(h.t, msg.Blocks, actionID)
	env, err := h.slack.Click(h.ctx(), user, fakeslack.MessageRef{Channel: msg.Channel, TS: msg.TS}, actionID, value)
	if err != nil {
		h.t.Fatalf("click %s: %v", actionID, err)
	}
	return h.replyTo(env)
}

// openDenyForm clicks Deny on a card as user and returns the ID of the form
// (modal) locksmith opened for it.
func (h *harness) openDenyForm(user string, card fakeslack.Message) string {
	h.t.Helper()
	id := buttonValue(h.t, card.Blocks, "locksmith_deny")
	env, err := h.slack.Click(h.ctx(), user, fakeslack.MessageRef{Channel: card.Channel, TS: card.TS}, "locksmith_deny", id)
	if err != nil {
		h.t.Fatalf("click deny: %v", err)
	}
	if _, err := h.slack.WaitAck(h.ctx(), env); err != nil {
		h.t.Fatalf("deny click not acked: %v", err)
	}
	var viewID string
	h.waitFor("the deny form", func() bool {
		for _, v := range h.slack.Views() {
			if v.UserID == user && strings.Contains(v.PrivateMetadata, `"r":"`+id+`"`) {
				viewID = v.ID
				return true
			}
		}
		return false
	})
	return viewID
}

// submitDeny submits a deny form with a reason and returns the submission's
// envelope and the ephemeral reply locksmith posted where the card is.
func (h *harness) submitDeny(user, viewID, channel, reason string) (string, string) {
	h.t.Helper()
	before := len(h.slack.Ephemerals(channel, user))
	env, err := h.slack.SubmitView(h.ctx(), user, viewID, map[string]map[string]string{"locksmith_deny_reason": {"reason": reason}})
	if err != nil {
		h.t.Fatalf("submit deny: %v", err)
	}
	if _, err := h.slack.WaitAck(h.ctx(), env); err != nil {
		h.t.Fatalf("deny submission not acked: %v", err)
	}
	var reply string
	h.waitFor("the reply to a deny", func() bool {
		eph := h.slack.Ephemerals(channel, user)
		if len(eph) > before {
			reply = eph[before].Text
			return true
		}
		return false
	})
	return env, reply
}

// deny denies a card as user, with a reason, and returns the reply.
func (h *harness) deny(user string, card fakeslack.Message, reason string) string {
	h.t.Helper()
	_, reply := h.submitDeny(user, h.openDenyForm(user, card), card.Channel, reason)
	return reply
}

// replyTo waits for the envelope's ack and for the ephemeral reply posted to its
// response_url.
func (h *harness) replyTo(envelopeID string) string {
	h.t.Helper()
	ctx := h.ctx()
	if _, err := h.slack.WaitAck(ctx, envelopeID); err != nil {
		h.t.Fatalf("envelope %s not acked: %v", envelopeID, err)
	}
	for {
		for _, p := range h.slack.ResponseURLPosts() {
			if p.EnvelopeID != envelopeID {
				continue
			}
			var body struct {
				Text string `json:"text"`
			}
			if err := json.Unmarshal(p.Body, &body); err != nil {
				h.t.Fatalf("response_url body: %v", err)
			}
			h.settle()
			return body.Text
		}
		select {
		case <-ctx.Done():
			h.t.Fatalf("no reply to envelope %s", envelopeID)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// settle waits until the Slack messages owed so far, and sendable now, are
// sent (the outbox delivers them after the reply).
func (h *harness) settle() {
	h.t.Helper()
	h.mu.Lock()
	a := h.app
	h.mu.Unlock()
	if a == nil {
		return
	}
	if err := a.svc.WaitOutboxIdle(h.ctx()); err != nil {
		h.t.Fatalf("outbox never idle: %v", err)
	}
}

// waitFor polls cond until it holds (effects of background work).
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(testWait)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// lastMessage is the newest message in a channel.
func (h *harness) lastMessage(channel string) fakeslack.Message {
	h.t.Helper()
	msgs := h.slack.Messages(channel)
	if len(msgs) == 0 {
		h.t.Fatalf("no message in %s", channel)
	}
	return msgs[len(msgs)-1]
}

func (h *harness) card() fakeslack.Message { return h.lastMessage(approvalsChannel) }

func (h *harness) dms(user string) []fakeslack.Message {
	return h.slack.Messages(h.slack.DMChannel(user))
}

func (h *harness) patches() int {
	n := 0
	for _, c := range h.pc.Calls() {
		if c.Method == "PATCH" {
			n++
		}
	}
	return n
}

// assertPasswordOnlyInEphemeral checks guarantee 1 of docs/architecture.md for one reset: the
// password Partner Center received reached Slack in exactly one call, the
// ephemeral in the requester's DM, and appears in no log line.
func (h *harness) assertPasswordOnlyInEphemeral(requester string, pw string) {
	h.t.Helper()
	if pw == "" {
		h.t.Fatal("no password was reset")
	}
	dm := h.slack.DMChannel(requester)
	carrying := 0
	for _, c := range h.slack.Calls() {
		if !formContains(c.Form, pw) && !strings.Contains(string(c.JSON), pw) {
			continue
		}
		carrying++
		if c.Method != "chat.postEphemeral" || c.Form.Get("channel") != dm || c.Form.Get("user") != requester {
			h.t.Errorf("the password reached Slack in %s (channel %s, user %s)", c.Method, c.Form.Get("channel"), c.Form.Get("user"))
		}
		if strings.Contains(c.Form.Get("text"), pw) {
			h.t.Error("the password is in the notification fallback text")
		}
	}
	if carrying != 1 {
		h.t.Errorf("the password reached Slack in %d calls, want exactly 1", carrying)
	}
	traffic := h.slack.Traffic()
	n := bytes.Count(traffic, []byte(pw))
	if esc := url.QueryEscape(pw); esc != pw {
		n += bytes.Count(traffic, []byte(esc))
	}
	if n != 1 {
		h.t.Errorf("the password appears %d times in Slack traffic, want 1", n)
	}
	if strings.Contains(h.logs.String(), pw) {
		h.t.Error("the password appears in the logs")
	}
	eph := h.slack.Ephemerals(dm, requester)
	found := false
	for _, m := range eph {
		if strings.Contains(string(m.Blocks)+m.Text, pw) {
			found = true
		}
	}
	if !found {
		h.t.Error("the requester's DM holds no ephemeral with the password")
	}
}

func (h *harness) lastResetPassword() string {
	r := h.pc.Resets()
	if len(r) == 0 {
		return ""
	}
	return r[len(r)-1].Password
}

// buttonValue finds the value of the button with actionID in Block Kit JSON.
func buttonValue(t testing.TB, blocks json.RawMessage, actionID string) string {
	t.Helper()
	var bs []struct {
		Elements []struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"elements"`
		Accessory *struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"accessory"`
	}
	if err := json.Unmarshal(blocks, &bs); err != nil {
		t.Fatalf("blocks: %v", err)
	}
	for _, b := range bs {
		for _, e := range b.Elements {
			if e.ActionID == actionID {
				return e.Value
			}
		}
		if b.Accessory != nil && b.Accessory.ActionID == actionID {
			return b.Accessory.Value
		}
	}
	t.Fatalf("no %s button in %s", actionID, blocks)
	return ""
}

func hasButton(blocks json.RawMessage, actionID string) bool {
	return strings.Contains(string(blocks), `"action_id":"`+actionID+`"`)
}

func formContains(form url.Values, s string) bool {
	for _, vs := range form {
		for _, v := range vs {
			if strings.Contains(v, s) {
				return true
			}
		}
	}
	return false
}

// lockedBuffer collects log output from several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fakeClock is a clock the test moves forward to reach expiries.
type fakeClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// plain is Block Kit JSON with Go's HTML escaping (\u003c for <) undone, so
// tests can look for "<@U0BOB>" as Slack would render the markup.
func plain(blocks json.RawMessage) string {
	var v any
	if err := json.Unmarshal(blocks, &v); err != nil {
		return string(blocks)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return b.String()
}
