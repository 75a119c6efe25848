package commands

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/internal/dbtest"
	"github.com/locksmithbot/locksmith/internal/secret"
	"github.com/locksmithbot/locksmith/partner"
)

// This file holds the hand-written fakes of the workflow's collaborators and a
// harness that wires them to a Service over a real SQLite store. Every harness
// checks, when its test ends, that the injected password appears nowhere but in
// the Partner Center call and the one ephemeral delivery.

// canaryPassword is what Deps.GeneratePassword hands out in every test: a
// string distinctive enough that finding it anywhere is a leak.
const canaryPassword = "Canary#Pw-7qX9zK2m"

// Fixture identities.
const (
	tenantID   = "7d2f1c3a-0b4e-4f5a-9c8d-1e2f3a4b5c6d"
	custDomain = "contoso.onmicrosoft.com"
	custName   = "Contoso Ltd"
	aliceOID   = "a11ce000-0000-4000-8000-000000000001"
	aliceUPN   = "alice@contoso.onmicrosoft.com"

	requester  = "U0REQ"   // holds UA + PAA for every customer
	approver   = "U0BOB"   // holds PAA for contoso (by domain)
	uaApprover = "U0UA"    // holds only UA for contoso (by tenant ID)
	groupUser  = "U0CAROL" // holds UA through the S0HELPDESK user group
	stranger   = "U0EVE"   // named by no grant
	helpdesk   = "S0HELPDESK"

	approvalChannel = "C0APPROVALS"
	auditChannel    = "C0AUDIT"

	slashText = custDomain + " " + aliceUPN + " INC-4711"
)

var (
	t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

	globalAdmin   = partner.DirectoryRole{ID: "62e90394-69f5-4237-9190-012177145e10", Name: "Global Administrator"}
	helpdeskAdmin = partner.DirectoryRole{ID: "729827e3-9c14-49f7-bb1b-9608f156bbb8", Name: "Helpdesk Administrator"}

	contoso = partner.Customer{TenantID: tenantID, Name: custName, Domain: custDomain, Relationship: "reseller"}
	alice   = partner.User{ObjectID: aliceOID, UserPrincipalName: aliceUPN, DisplayName: "Alice Example", State: "active"}
)

func defaultGrants() []Grant {
	return []Grant{
		{Users: []string{requester}, Roles: []partner.Role{partner.RoleUserAdministrator, partner.RolePrivilegedAuthenticationAdministrator}, Customers: []string{"*"}},
		{Users: []string{approver}, Roles: []partner.Role{partner.RolePrivilegedAuthenticationAdministrator}, Customers: []string{custDomain}},
		{Users: []string{uaApprover}, Roles: []partner.Role{partner.RoleUserAdministrator}, Customers: []string{tenantID}},
		{Usergroups: []string{helpdesk}, Roles: []partner.Role{partner.RoleUserAdministrator}, Customers: []string{"*"}},
	}
}

// clock is the injected time source of both the Service and the store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer is a bytes.Buffer safe for the logger's writes from background
// goroutines while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fakePartner is PartnerCenter with one func field per method. A nil field
// answers with an error, so an unexpected call shows up as a failure.
type fakePartner struct {
	customerFn          func(ctx context.Context, tenantID string) (partner.Customer, error)
	customersByDomainFn func(ctx context.Context, domain string) ([]partner.Customer, error)
	customersByNameFn   func(ctx context.Context, prefix string) ([]partner.Customer, error)
	userFn              func(ctx context.Context, tenantID, objectID string) (partner.User, error)
	userByUPNFn         func(ctx context.Context, tenantID, upn string) (partner.User, error)
	userRolesFn         func(ctx context.Context, tenantID, objectID string) ([]partner.DirectoryRole, error)
	resetPasswordFn     func(ctx context.Context, tenantID, objectID string, pw secret.Password) error

	mu     sync.Mutex
	calls  []string
	resets []resetCall
}

type resetCall struct {
	TenantID, ObjectID, Password, CorrelationID string
}

var errUnexpected = errors.New("fake: unexpected call")

func (f *fakePartner) record(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, name)
}

// count returns how many times method name was called.
func (f *fakePartner) count(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == name {
			n++
		}
	}
	return n
}

func (f *fakePartner) totalCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func (f *fakePartner) resetCalls() []resetCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]resetCall(nil), f.resets...)
}

func (f *fakePartner) Customer(ctx context.Context, id string) (partner.Customer, error) {
	f.record("Customer")
	if f.customerFn == nil {
		return partner.Customer{}, errUnexpected
	}
	return f.customerFn(ctx, id)
}

func (f *fakePartner) CustomersByDomain(ctx context.Context, domain string) ([]partner.Customer, error) {
	f.record("CustomersByDomain")
	if f.customersByDomainFn == nil {
		return nil, errUnexpected
	}
	return f.customersByDomainFn(ctx, domain)
}

func (f *fakePartner) CustomersByName(ctx context.Context, prefix string) ([]partner.Customer, error) {
	f.record("CustomersByName")
	if f.customersByNameFn == nil {
		return nil, errUnexpected
	}
	return f.customersByNameFn(ctx, prefix)
}

func (f *fakePartner) User(ctx context.Context, tid, oid string) (partner.User, error) {
	f.record("User")
	if f.userFn == nil {
		return partner.User{}, errUnexpected
	}
	return f.userFn(ctx, tid, oid)
}

func (f *fakePartner) UserByUPN(ctx context.Context, tid, upn string) (partner.User, error) {
	f.record("UserByUPN")
	if f.userByUPNFn == nil {
		return partner.User{}, errUnexpected
	}
	return f.userByUPNFn(ctx, tid, upn)
}

func (f *fakePartner) UserRoles(ctx context.Context, tid, oid string) ([]partner.DirectoryRole, error) {
	f.record("UserRoles")
	if f.userRolesFn == nil {
		return nil, errUnexpected
	}
	return f.userRolesFn(ctx, tid, oid)
}

func (f *fakePartner) ResetPassword(ctx context.Context, tid, oid string, pw secret.Password) error {
	f.record("ResetPassword")
	f.mu.Lock()
	f.resets = append(f.resets, resetCall{TenantID: tid, ObjectID: oid, Password: pw.Reveal(), CorrelationID: partner.CorrelationID(ctx)})
	f.mu.Unlock()
	if f.resetPasswordFn == nil {
		return errUnexpected
	}
	return f.resetPasswordFn(ctx, tid, oid, pw)
}

// fakeMessenger is Messenger with one func field per method; every call is
// recorded (failed ones too) before the func decides the answer.
type fakeMessenger struct {
	postApprovalFn    func(ctx context.Context, channel string, c Card) (MessageRef, error)
	updateApprovalFn  func(ctx context.Context, ref MessageRef, c Card) error
	notifyFn          func(ctx context.Context, userID string, n Notice) error
	deliverPasswordFn func(ctx context.Context, userID string, d Delivery) error
	postChannelFn     func(ctx context.Context, channel, text string) error
	postThreadFn      func(ctx context.Context, parent MessageRef, text string) error

	mu           sync.Mutex
	posted       []Card
	updates      []cardUpdate
	notices      []sentNotice
	deliveries   []sentDelivery
	channelPosts []string
	threadPosts  []threadPost
}

type threadPost struct {
	Parent MessageRef
	Text   string
}

func (m *fakeMessenger) PostThread(ctx context.Context, parent MessageRef, text string) error {
	m.mu.Lock()
	m.threadPosts = append(m.threadPosts, threadPost{parent, text})
	m.mu.Unlock()
	if m.postThreadFn == nil {
		return errUnexpected
	}
	return m.postThreadFn(ctx, parent, text)
}

func (m *fakeMessenger) ThreadPosts() []threadPost {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]threadPost(nil), m.threadPosts...)
}

type cardUpdate struct {
	Ref  MessageRef
	Card Card
}

type sentNotice struct {
	UserID string
	Notice Notice
}

type sentDelivery struct {
	UserID   string
	Delivery Delivery
}

func (m *fakeMessenger) PostApproval(ctx context.Context, channel string, c Card) (MessageRef, error) {
	m.mu.Lock()
	m.posted = append(m.posted, c)
	m.mu.Unlock()
	if m.postApprovalFn == nil {
		return MessageRef{}, errUnexpected
	}
	return m.postApprovalFn(ctx, channel, c)
}

func (m *fakeMessenger) UpdateApproval(ctx context.Context, ref MessageRef, c Card) error {
	m.mu.Lock()
	m.updates = append(m.updates, cardUpdate{ref, c})
	m.mu.Unlock()
	if m.updateApprovalFn == nil {
		return errUnexpected
	}
	return m.updateApprovalFn(ctx, ref, c)
}

func (m *fakeMessenger) Notify(ctx context.Context, userID string, n Notice) error {
	m.mu.Lock()
	m.notices = append(m.notices, sentNotice{userID, n})
	m.mu.Unlock()
	if m.notifyFn == nil {
		return errUnexpected
	}
	return m.notifyFn(ctx, userID, n)
}

func (m *fakeMessenger) DeliverPassword(ctx context.Context, userID string, d Delivery) error {
	m.mu.Lock()
	m.deliveries = append(m.deliveries, sentDelivery{userID, d})
	m.mu.Unlock()
	if m.deliverPasswordFn == nil {
		return errUnexpected
	}
	return m.deliverPasswordFn(ctx, userID, d)
}

func (m *fakeMessenger) PostChannel(ctx context.Context, channel, text string) error {
	m.mu.Lock()
	m.channelPosts = append(m.channelPosts, channel+": "+text)
	m.mu.Unlock()
	if m.postChannelFn == nil {
		return errUnexpected
	}
	return m.postChannelFn(ctx, channel, text)
}

func (m *fakeMessenger) Posted() []Card {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Card(nil), m.posted...)
}

func (m *fakeMessenger) Updates() []cardUpdate {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]cardUpdate(nil), m.updates...)
}

func (m *fakeMessenger) Notices() []sentNotice {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]sentNotice(nil), m.notices...)
}

func (m *fakeMessenger) Deliveries() []sentDelivery {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]sentDelivery(nil), m.deliveries...)
}

func (m *fakeMessenger) ChannelPosts() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.channelPosts...)
}

// slackError is a Slack refusal as the transport reports it: permanent ones
// (channel_not_found, …) are not worth retrying, the others are.
type slackError struct {
	method, code string
	permanent    bool
}

func (e slackError) Error() string   { return "slack " + e.method + ": " + e.code }
func (e slackError) Permanent() bool { return e.permanent }

// fakeGroups is Groups with a func field.
type fakeGroups struct {
	membersFn func(ctx context.Context, usergroupID string) ([]string, error)

	mu    sync.Mutex
	calls int
}

func (g *fakeGroups) Members(ctx context.Context, id string) ([]string, error) {
	g.mu.Lock()
	g.calls++
	g.mu.Unlock()
	if g.membersFn == nil {
		return nil, errUnexpected
	}
	return g.membersFn(ctx, id)
}

func (g *fakeGroups) Calls() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls
}

// harness is a Service over fakes and a real SQLite store.
type harness struct {
	t      *testing.T
	svc    *Service
	pc     *fakePartner
	msg    *fakeMessenger
	groups *fakeGroups
	store  *approvals.Store
	dsn    string // the SQLite file behind store, for tests that make it fail
	clock  *clock
	logs   *syncBuffer
	policy Policy

	mu      sync.Mutex
	replies []string
}

// newHarness builds a Service whose collaborators succeed: contoso resolves,
// alice is active with no admin role, the reset and every Slack call work.
// Tests change the func fields they care about before acting.
func newHarness(t *testing.T, approval bool) *harness {
	t.Helper()
	return newHarnessOn(t, approval, dbtest.SQLite(t))
}

// newHarnessOn is newHarness on the database dsn (see dbtest.ForEach).
func newHarnessOn(t *testing.T, approval bool, dsn string) *harness {
	t.Helper()
	h := &harness{
		t:     t,
		clock: &clock{t: t0},
		logs:  &syncBuffer{},
		pc: &fakePartner{
			customerFn: func(context.Context, string) (partner.Customer, error) { return contoso, nil },
			customersByDomainFn: func(_ context.Context, d string) ([]partner.Customer, error) {
				if strings.EqualFold(d, custDomain) {
					return []partner.Customer{contoso}, nil
				}
				return nil, nil
			},
			userFn:          func(context.Context, string, string) (partner.User, error) { return alice, nil },
			userByUPNFn:     func(context.Context, string, string) (partner.User, error) { return alice, nil },
			userRolesFn:     func(context.Context, string, string) ([]partner.DirectoryRole, error) { return nil, nil },
			resetPasswordFn: func(context.Context, string, string, secret.Password) error { return nil },
		},
		msg: &fakeMessenger{
			postApprovalFn: func(_ context.Context, ch string, c Card) (MessageRef, error) {
				return MessageRef{Channel: ch, TS: "1772445600.000100", Permalink: "https://example.slack.com/archives/" + ch + "/p1772445600000100"}, nil
			},
			updateApprovalFn:  func(context.Context, MessageRef, Card) error { return nil },
			notifyFn:          func(context.Context, string, Notice) error { return nil },
			deliverPasswordFn: func(context.Context, string, Delivery) error { return nil },
			postChannelFn:     func(context.Context, string, string) error { return nil },
			postThreadFn:      func(context.Context, MessageRef, string) error { return nil },
		},
		groups: &fakeGroups{
			membersFn: func(_ context.Context, id string) ([]string, error) {
				if id == helpdesk {
					return []string{"U0OTHER", groupUser}, nil
				}
				return nil, nil
			},
		},
	}
	logger := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.dsn = dsn
	store, err := approvals.Open(context.Background(), h.dsn, approvals.Options{Now: h.clock.Now, Logger: logger})
	if err != nil {
		t.Fatalf("approvals.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := store.Close(); err != nil {
			t.Errorf("store.Close: %v", err)
		}
	})
	h.store = store
	h.policy = Policy{
		ApprovalRequired: approval,
		ApprovalChannel:  approvalChannel,
		ExpiresAfter:     30 * time.Minute,
		UseWithin:        15 * time.Minute,
		AuditChannel:     auditChannel,
		Grants:           defaultGrants(),
	}
	h.svc, err = NewService(h.policy, Deps{
		Partner: h.pc, Messenger: h.msg, Groups: h.groups, Store: store,
		Logger:           logger,
		Now:              h.clock.Now,
		GeneratePassword: func(int) (secret.Password, error) { return secret.NewPassword(canaryPassword), nil },
		OpTimeout:        time.Minute,
		// Unpaced: these tests look at what a flow sends, not at pacing
		// (delivery_test.go does).
		Delivery: OutboxOptions{PaceInterval: -1, AwaitCard: 2 * time.Second},
	})
	if err != nil {
		t.Fatalf("NewService: %v", err)
	}
	startOutbox(t, h.svc)
	// Runs before the store closes (cleanups are LIFO).
	t.Cleanup(h.checkNoSecretLeaked)
	return h
}

// replica is a second locksmith process: its own Store on the same database
// and its own Service under the same policy, sharing the fakes (Slack and
// Partner Center are the same for both).
func (h *harness) replica() *Service {
	h.t.Helper()
	store, err := approvals.Open(context.Background(), h.dsn, approvals.Options{Now: h.clock.Now})
	if err != nil {
		h.t.Fatalf("approvals.Open (replica): %v", err)
	}
	h.t.Cleanup(func() { store.Close() })
	svc, err := NewService(h.policy, Deps{
		Partner: h.pc, Messenger: h.msg, Groups: h.groups, Store: store, Now: h.clock.Now,
		GeneratePassword: func(int) (secret.Password, error) { return secret.NewPassword(canaryPassword), nil },
		OpTimeout:        time.Minute,
		Delivery:         OutboxOptions{PaceInterval: -1, AwaitCard: 2 * time.Second},
	})
	if err != nil {
		h.t.Fatalf("NewService (replica): %v", err)
	}
	startOutbox(h.t, svc)
	h.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		svc.Wait(ctx)
	})
	return svc
}

// startOutbox runs svc's outbox until the test ends.
func startOutbox(t *testing.T, svc *Service) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); svc.RunOutbox(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// settle waits until every message the flows so far owe, and can be sent
// now, has been sent.
func (h *harness) settle() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.svc.WaitOutboxIdle(ctx); err != nil {
		h.t.Fatalf("outbox did not settle: %v", err)
	}
}

// setPolicy changes the running policy, as a config reload would.
func (h *harness) setPolicy(change func(p *Policy)) {
	h.t.Helper()
	p := h.policy
	change(&p)
	if err := h.svc.SetPolicy(p); err != nil {
		h.t.Fatalf("SetPolicy: %v", err)
	}
	h.policy = p
}

func (h *harness) slash(userID, text string) string {
	h.t.Helper()
	r := h.svc.SlashCommand(context.Background(), Invocation{
		UserID: userID, UserName: strings.ToLower(userID), TeamID: "T0TEAM", ChannelID: "C0HELPDESK",
		Text: text, CorrelationID: "corr-slash-" + userID,
	})
	h.mu.Lock()
	h.replies = append(h.replies, r.Text)
	h.mu.Unlock()
	h.settle()
	return r.Text
}

func (h *harness) click(kind ActionKind, requestID, userID string) string {
	h.t.Helper()
	r := h.svc.Action(context.Background(), Action{
		Kind: kind, RequestID: requestID, UserID: userID, UserName: strings.ToLower(userID),
		ChannelID: "D0DM", MessageTS: "1772445700.000200", CorrelationID: fmt.Sprintf("corr-%s-%s", kind, userID),
	})
	h.mu.Lock()
	h.replies = append(h.replies, r.Text)
	h.mu.Unlock()
	h.settle()
	return r.Text
}

// request runs the slash command as the requester and returns the ID of the
// request whose card was posted.
func (h *harness) request() string {
	h.t.Helper()
	reply := h.slash(requester, slashText)
	cards := h.msg.Posted()
	if len(cards) == 0 {
		h.t.Fatalf("no approval card posted; reply %q", reply)
	}
	return cards[len(cards)-1].RequestID
}

// approved runs the slash command and has the approver approve it.
func (h *harness) approved() string {
	h.t.Helper()
	id := h.request()
	if reply := h.click(ActionApprove, id, approver); !strings.HasPrefix(reply, "Approved.") {
		h.t.Fatalf("approve: reply %q", reply)
	}
	h.wantState(id, approvals.StateApproved)
	return id
}

func (h *harness) get(id string) approvals.Request {
	h.t.Helper()
	r, err := h.store.Get(context.Background(), id)
	if err != nil {
		h.t.Fatalf("Get %s: %v", id, err)
	}
	return r
}

func (h *harness) wantState(id string, want approvals.State) {
	h.t.Helper()
	if got := h.get(id).State; got != want {
		h.t.Errorf("request state = %s, want %s", got, want)
	}
}

func (h *harness) events() []approvals.Event {
	h.t.Helper()
	var out []approvals.Event
	if err := h.store.Events(context.Background(), approvals.EventFilter{}, func(e approvals.Event) error {
		out = append(out, e)
		return nil
	}); err != nil {
		h.t.Fatalf("Events: %v", err)
	}
	return out
}

// outcomes lists the audit trail's outcomes in order.
func (h *harness) outcomes() []approvals.Outcome {
	h.t.Helper()
	var out []approvals.Outcome
	for _, e := range h.events() {
		out = append(out, e.Outcome)
	}
	return out
}

// lastEvent returns the last audit row with outcome o.
func (h *harness) lastEvent(o approvals.Outcome) approvals.Event {
	h.t.Helper()
	evs := h.events()
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Outcome == o {
			return evs[i]
		}
	}
	h.t.Fatalf("no %s row in the audit trail %v", o, h.outcomes())
	return approvals.Event{}
}

func (h *harness) noticesTo(userID string) []Notice {
	h.settle()
	var out []Notice
	for _, n := range h.msg.Notices() {
		if n.UserID == userID {
			out = append(out, n.Notice)
		}
	}
	return out
}

// checkNoSecretLeaked enforces guarantee 1: the password reaches Partner
// Center and the ephemeral delivery, and nothing else the tests can see.
func (h *harness) checkNoSecretLeaked() {
	t := h.t
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h.svc.Wait(ctx) // audit-channel posts run in the background

	var places []string
	check := func(where, text string) {
		if strings.Contains(text, canaryPassword) {
			places = append(places, where)
		}
	}
	check("logs", h.logs.String())
	h.mu.Lock()
	for i, r := range h.replies {
		check(fmt.Sprintf("reply %d", i), r)
	}
	h.mu.Unlock()
	for i, c := range h.msg.Posted() {
		check(fmt.Sprintf("posted card %d", i), fmt.Sprintf("%#v", c))
	}
	for i, u := range h.msg.Updates() {
		check(fmt.Sprintf("card update %d", i), fmt.Sprintf("%#v", u))
	}
	for i, n := range h.msg.Notices() {
		check(fmt.Sprintf("notice %d", i), fmt.Sprintf("%#v", n))
	}
	for i, p := range h.msg.ChannelPosts() {
		check(fmt.Sprintf("audit channel post %d", i), p)
	}
	for i, p := range h.msg.ThreadPosts() {
		check(fmt.Sprintf("thread post %d", i), p.Text)
	}
	ids := map[string]bool{}
	for _, e := range h.events() {
		check(fmt.Sprintf("audit row %d (%s)", e.Seq, e.Outcome), fmt.Sprintf("%#v", e))
		if e.RequestID != "" {
			ids[e.RequestID] = true
		}
	}
	for id := range ids {
		r, err := h.store.Get(ctx, id)
		if err != nil {
			t.Errorf("Get %s: %v", id, err)
			continue
		}
		check("stored request "+id, fmt.Sprintf("%#v", r))
	}
	// A Delivery's other fields must not carry it either.
	for i, d := range h.msg.Deliveries() {
		dd := d.Delivery
		check(fmt.Sprintf("delivery %d fields", i), dd.UserPrincipalName+dd.UserDisplayName+dd.CustomerName)
	}
	if len(places) > 0 {
		t.Errorf("the password leaked into: %s", strings.Join(places, ", "))
	}
}

// wantContains fails unless s contains every one of subs.
func wantContains(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s = %q\nwant it to contain %q", what, s, sub)
		}
	}
}

// wantNotContains fails if s contains any of subs.
func wantNotContains(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			t.Errorf("%s = %q\nwant it not to contain %q", what, s, sub)
		}
	}
}
