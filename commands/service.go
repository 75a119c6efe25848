package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/internal/secret"
	"github.com/locksmithbot/locksmith/messages"
	"github.com/locksmithbot/locksmith/partner"
	"github.com/locksmithbot/locksmith/policy"
)

// PartnerCenter is the part of Partner Center the workflow uses; *partner.Client
// implements it. Errors are *partner.Error values carrying a Kind.
type PartnerCenter interface {
	Customer(ctx context.Context, tenantID string) (partner.Customer, error)
	CustomersByDomain(ctx context.Context, domain string) ([]partner.Customer, error)
	CustomersByName(ctx context.Context, prefix string) ([]partner.Customer, error)
	User(ctx context.Context, tenantID, objectID string) (partner.User, error)
	UserByUPN(ctx context.Context, tenantID, upn string) (partner.User, error)
	UserRoles(ctx context.Context, tenantID, objectID string) ([]partner.DirectoryRole, error)
	ResetPassword(ctx context.Context, tenantID, objectID string, pw secret.Password) error
}

// Metrics receives counts of what the workflow did. main backs it with Prometheus.
type Metrics interface {
	Reset(outcome string)     // done, failed, refused, delivery_failed
	Decision(decision string) // approved, denied, cancelled, expired
	AuditWriteFailed()
}

type nopMetrics struct{}

func (nopMetrics) Reset(string)      {}
func (nopMetrics) Decision(string)   {}
func (nopMetrics) AuditWriteFailed() {}

// Policy is the part of locksmith.yaml the workflow obeys. It can be swapped at
// run time (SetPolicy); every step reads the policy as it is then.
type Policy struct {
	ApprovalRequired bool
	ApprovalChannel  string
	ExpiresAfter     time.Duration // a pending request expires after this
	UseWithin        time.Duration // an approval must be used within this
	RequireReason    bool
	PasswordLength   int
	AuditChannel     string // optional: every outcome also posted here
	Grants           []Grant
	Graph            GraphPolicy
	// Policies are the approval policies besides the default one, which the
	// fields above describe (approval: in locksmith.yaml).
	Policies []policy.Rule
	// RemindAfter, EscalateAfter and EscalateTo are the default policy's
	// reminders (zero: none).
	RemindAfter, EscalateAfter time.Duration
	EscalateTo                 policy.Principals
	// BreakGlass says who may reset without approval, and who is told.
	BreakGlass BreakGlass
	// Limits bound how many resets may be asked for; zero values: no limit.
	Limits Limits

	rules policy.Set // the default rule and Policies, checked; set by SetPolicy
	// DefaultLang is locale.default: the language of people whose Slack
	// locale locksmith does not speak (English when empty).
	DefaultLang messages.Lang
	// ChannelLang is locale.channel: the language of the approval card and the
	// audit channel (DefaultLang when empty).
	ChannelLang messages.Lang
}

// Deps are the workflow's collaborators.
type Deps struct {
	Partner PartnerCenter
	// Directory is Microsoft Graph in customer tenants, used when the policy's
	// graph.enabled is set; nil makes every Graph fact unknown.
	Directory Directory
	Messenger Messenger
	Groups    Groups
	// People, when set, is asked who each requester and approver is: accounts
	// that are deactivated, bots or guests are refused whatever the grants say,
	// and the audit trail records real names. main always sets it.
	People  People
	Store   *approvals.Store
	Logger  *slog.Logger
	Metrics Metrics
	Now     func() time.Time
	// GeneratePassword defaults to partner.GeneratePassword.
	GeneratePassword func(length int) (secret.Password, error)
	// OpTimeout bounds one slash command or click, Partner Center retries included.
	OpTimeout time.Duration
	// Spool keeps outcome records the database refused until it takes them
	// (nil: memory only, lost on restart).
	Spool Spool
	// Delivery tunes how owed Slack messages are paced (zero: defaults).
	Delivery OutboxOptions
	// LateRetryFirst is the first wait before retrying a refused outcome write
	// (default 1 s; it doubles up to a minute).
	LateRetryFirst time.Duration
	// Homes publishes App Home views (nil: none; /reset-password status works
	// either way).
	Homes HomePublisher
}

// Service is the /reset-password workflow. It implements Workflow.
type Service struct {
	pc        PartnerCenter
	dir       Directory
	msg       Messenger
	groups    Groups
	people    People
	langs     langMemory
	store     *approvals.Store
	log       *slog.Logger
	metrics   Metrics
	now       func() time.Time
	genPW     func(int) (secret.Password, error)
	opTimeout time.Duration
	policy    atomic.Pointer[Policy]
	spool     Spool
	delivery  *deliverer    // sends the Slack messages state changes owe
	homes     HomePublisher // nil: no App Home
	homeUsers userSet

	lateRetryFirst time.Duration
	stopping       chan struct{} // closed by Stop: background retries give up (they are spooled)
	stopOnce       sync.Once

	// background tracks work that outlives the request that started it (outcome
	// rows retried after a store failure, audit-channel posts), so shutdown can wait.
	background sync.WaitGroup
}

var _ Workflow = (*Service)(nil)

// NewService checks the dependencies and returns a ready workflow.
func NewService(p Policy, d Deps) (*Service, error) {
	if d.Partner == nil || d.Messenger == nil || d.Groups == nil || d.Store == nil {
		return nil, errors.New("commands: Partner, Messenger, Groups and Store are required")
	}
	s := &Service{
		pc: d.Partner, dir: d.Directory, msg: d.Messenger, groups: d.Groups, people: d.People, store: d.Store,
		log: d.Logger, metrics: d.Metrics, now: d.Now, genPW: d.GeneratePassword, opTimeout: d.OpTimeout,
		spool: d.Spool, lateRetryFirst: d.LateRetryFirst, stopping: make(chan struct{}), homes: d.Homes,
	}
	if s.spool == nil {
		s.spool = &memorySpool{}
	}
	if s.lateRetryFirst <= 0 {
		s.lateRetryFirst = time.Second
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.metrics == nil {
		s.metrics = nopMetrics{}
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.genPW == nil {
		s.genPW = partner.GeneratePassword
	}
	if s.opTimeout <= 0 {
		s.opTimeout = 2 * time.Minute
	}
	if err := s.SetPolicy(p); err != nil {
		return nil, err
	}
	s.delivery = newDeliverer(s, d.Delivery)
	// Every audit row owes its audit-channel line, and every expiry its card
	// update and notice, written in the same transaction (docs/outbox.md).
	s.store.SetAnnouncer(s.auditLines)
	s.store.SetExpiryOwe(s.expiryMessages)
	return s, nil
}

// SetPolicy replaces the policy (config reload). Requests in flight finish under
// the policy they read; every later step reads the new one.
func (s *Service) SetPolicy(p Policy) error {
	if p.ApprovalRequired && p.ApprovalChannel == "" {
		return errors.New("commands: approval is required but no approval channel is set")
	}
	if p.PasswordLength == 0 {
		p.PasswordLength = partner.DefaultPasswordLength
	}
	if p.ExpiresAfter <= 0 {
		p.ExpiresAfter = 30 * time.Minute
	}
	if p.UseWithin <= 0 {
		p.UseWithin = 15 * time.Minute
	}
	if len(p.Policies) > 0 && !p.ApprovalRequired {
		return errors.New("commands: approval policies are configured but approval is not required")
	}
	rules, err := policy.New(DefaultRule(&p), p.Policies)
	if err != nil {
		return fmt.Errorf("commands: %w", err)
	}
	p.rules = rules
	if p.DefaultLang == "" {
		p.DefaultLang = messages.English
	}
	s.policy.Store(&p)
	return nil
}

func (s *Service) currentPolicy() *Policy { return s.policy.Load() }

// Stop tells background retries of late writes to give up: they are spooled in
// the Spool and replayed at the next start.
func (s *Service) Stop() { s.stopOnce.Do(func() { close(s.stopping) }) }

// Wait blocks until background work (late outcome rows, audit-channel posts) is
// finished or ctx ends.
func (s *Service) Wait(ctx context.Context) {
	done := make(chan struct{})
	go func() { s.background.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// requestLog carries the identifiers every log line of one Slack request needs.
func (s *Service) requestLog(correlationID, userID string) *slog.Logger {
	return s.log.With("correlation_id", correlationID, "slack_user", userID)
}

// SlashCommand handles /reset-password. It returns the reply for the requester;
// everything else (approval card, DMs, the password) is sent through Messenger.
func (s *Service) SlashCommand(ctx context.Context, in Invocation) Reply {
	ctx, cancel := context.WithTimeout(ctx, s.opTimeout)
	defer cancel()
	ctx = partner.WithCorrelationID(ctx, in.CorrelationID)
	log := s.requestLog(in.CorrelationID, in.UserID)
	pol := s.currentPolicy()

	if first, err := s.claimInvocation(ctx, in); err != nil {
		log.Error("could not record the slash command", "err", err)
		return Reply{Text: texts.Text(s.AckLanguage(in.UserID), messages.ReplyClaimFailed, nil)}
	} else if !first {
		// A redelivery of a command already acted on (here, on another replica, or
		// before a restart): the first delivery answers, this one stays silent.
		log.Info("redelivered slash command ignored", "trigger_id", in.TriggerID, "envelope_id", in.EnvelopeID,
			"retry_attempt", in.RetryAttempt, "retry_reason", in.RetryReason)
		return Reply{}
	}

	lang := s.langOf(ctx, in.UserID)

	parsed := Parse(in.Text, lang)
	if parsed.Reply != "" {
		return Reply{Text: parsed.Reply}
	}
	if parsed.Language != nil {
		return s.setLanguage(ctx, in, lang, *parsed.Language)
	}
	if parsed.Status {
		h, err := s.HomeFor(ctx, in.UserID)
		if err != nil {
			log.Error("building the status failed", "err", err)
			return Reply{Text: "locksmith could not read your requests just now. Try again shortly."}
		}
		return Reply{Text: statusText(h)}
	}
	// When every policy needs a reason, refuse before any lookup; otherwise the
	// policy that applies decides, once the customer and target are known.
	if !parsed.Check && parsed.Reason == "" && (pol.ApprovalRequired && pol.rules.RequiresReasonEverywhere() || !pol.ApprovalRequired && pol.RequireReason) {
		return Reply{Text: texts.Text(lang, messages.ReplyReasonRequired, nil)}
	}
	actor := s.actorFor(ctx, in.UserID, in.UserName)
	actor.Lang = lang
	// A refusal is audited as such; in a dry run the one row is the check's.
	reject := func(c *partner.Customer, u *partner.User, why string) {
		s.refuse(ctx, actor, in.CorrelationID, c, u, why)
	}
	if parsed.Check {
		reject = func(c *partner.Customer, u *partner.User, why string) {
			s.auditCheck(ctx, actor, in.CorrelationID, c, u, "would be refused: "+why)
		}
	}

	// Counted before anything else, so that people without a grant are
	// limited too.
	if reply := s.admit(ctx, log, pol.Limits.PerRequester, "requester:"+in.UserID, "you", actor, in.CorrelationID, nil); reply != "" {
		return Reply{Text: reply}
	}

	r, reply := s.resolveRequest(ctx, log, lang, pol, in, parsed, reject)
	if reply != "" {
		return Reply{Text: reply}
	}
	if parsed.Check {
		return s.dryRun(ctx, log, pol, actor, in.CorrelationID, r)
	}
	customer, tgt := r.customer, r.target
	if !r.acc.allows(tgt.need) {
		reject(&customer, &tgt.user, fmt.Sprintf("requester holds %s; target needs %s", r.acc.best, tgt.need))
		return Reply{Text: texts.Text(lang, messages.ReplyRoleTooWeak, messages.Data{
			"Held": roleName(lang, r.acc.best), "Customer": Escape(customer.Name, 100),
			"User": Escape(tgt.user.UserPrincipalName, 120), "Roles": rolesPhrase(lang, tgt.roleNames), "Need": roleName(lang, tgt.need)})}
	}
	if tgt.recipes = offerRecipes(allowedRecipes(r.held, customer, tgt.need), pol, tgt.facts); tgt.recipes != nil && len(tgt.recipes) == 0 {
		reject(&customer, &tgt.user, "no recipe the requester's grants allow applies to the target")
		return Reply{Text: fmt.Sprintf("Your locksmith grants for *%s* allow nothing that applies to %s. Nothing was done.", Escape(customer.Name, 100), Escape(tgt.user.UserPrincipalName, 120))}
	}

	// Per customer, only what would become a request (or a reset) counts.
	admitCustomer := func() string {
		return s.admit(ctx, log, pol.Limits.PerCustomer, "customer:"+customer.TenantID, "requests for "+Escape(customer.Name, 100), actor, in.CorrelationID, &customer)
	}
	if pol.ApprovalRequired {
		rule, reply := pol.ruleFor(lang, customer, tgt.need)
		if reply != "" {
			reject(&customer, &tgt.user, "no single policy applies")
			return Reply{Text: reply}
		}
		ticket, link, reply := ticketFor(lang, rule, parsed.Reason)
		if reply != "" {
			reject(&customer, &tgt.user, fmt.Sprintf("policy %q: reason or ticket missing", rule.Name))
			return Reply{Text: reply}
		}
		if reply := admitCustomer(); reply != "" {
			return Reply{Text: reply}
		}
		if parsed.BreakGlass {
			return s.breakGlass(ctx, log, pol, rule, actor, in.CorrelationID, customer, tgt, parsed.Reason, ticket, link)
		}
		return s.requestApproval(ctx, log, pol, rule, actor, in.CorrelationID, customer, tgt, parsed.Reason, ticket, link)
	}
	if parsed.BreakGlass {
		reject(&customer, &tgt.user, "break-glass without approval configured")
		return Reply{Text: "`" + breakGlassFlag + "` is for skipping approval, and locksmith is configured without approval: run the command without it."}
	}
	if tgt.user.Synced() {
		reject(&customer, &tgt.user, "user synced from on-premises")
		return Reply{Text: texts.Text(lang, messages.ReplySyncedRefused, messages.Data{"Warning": syncedWarning(lang, tgt.user)})}
	}
	if reply := admitCustomer(); reply != "" {
		return Reply{Text: reply}
	}
	return s.resetWithoutApproval(ctx, log, pol, actor, in.CorrelationID, customer, tgt, parsed.Reason)
}

// resolved is what a request (or a dry run) is about, once looked up.
type resolved struct {
	customer partner.Customer
	target   target
	acc      access // the requester's grants for this customer
	held     []Grant
}

// resolveRequest checks that the requester holds some grant, then resolves
// the customer and the target, exactly as a request does; a dry run goes the
// same way so that its answer is the truth. reply is set (and reject has
// been called) when it stops.
func (s *Service) resolveRequest(ctx context.Context, log *slog.Logger, lang messages.Lang, pol *Policy, in Invocation, parsed ParseResult, reject func(*partner.Customer, *partner.User, string)) (resolved, string) {
	// No grant at all: refuse before any Partner Center call, so people without a
	// grant cannot even probe which customers and users exist.
	// The grants naming the requester are worked out once (user-group lookups
	// included) and then matched against the customer once it is resolved.
	held, err := s.grantsNaming(ctx, pol.Grants, in.UserID)
	if err != nil {
		log.Error("grant check failed", "err", err)
		if errors.As(err, new(*AccountError)) {
			reject(nil, nil, err.Error())
		}
		return resolved{}, permissionProblem(lang, err, messages.ReplyGrantCheckFailed)
	}
	if len(held) == 0 {
		reject(nil, nil, "no grant")
		return resolved{}, texts.Text(lang, messages.ReplyNoGrant, nil)
	}

	customer, hidden, reply := s.resolveCustomer(ctx, lang, parsed.Customer, held)
	if reply != "" {
		why := "customer not resolved: " + parsed.Customer.Value
		if hidden > 0 {
			// The trail (not the requester) learns that the name matched customers
			// the requester may not touch: a probe worth noticing.
			why += fmt.Sprintf(" (%d match(es) outside the requester's grants)", hidden)
		}
		reject(nil, nil, why)
		return resolved{}, reply
	}
	acc := access{any: true, best: bestRole(held, customer)}

	tgt, reply := s.resolveTarget(ctx, lang, customer, parsed.User)
	if reply != "" {
		reject(&customer, nil, "user not resolved: "+parsed.User.Value)
		return resolved{}, reply
	}
	if v, asked := s.askGraph(ctx, lang, pol, customer.TenantID, tgt.user.UserPrincipalName, tgt.user.ObjectID, tgt.roles); asked {
		if v.refusal != "" {
			reject(&customer, &tgt.user, v.audit)
			return resolved{}, v.refusal
		}
		tgt.withGraph(v)
	}
	return resolved{customer: customer, target: tgt, acc: acc, held: held}, ""
}

// claimInvocation decides in the database whether this delivery of a slash
// command is the first, so a command is acted on once across redeliveries,
// replicas and restarts.
func (s *Service) claimInvocation(ctx context.Context, in Invocation) (bool, error) {
	key := in.TriggerID
	if key == "" && in.EnvelopeID != "" {
		key = "envelope:" + in.EnvelopeID
	}
	if key == "" {
		return true, nil
	}
	return s.store.ClaimInvocation(ctx, key, in.EnvelopeID, in.CorrelationID)
}

// actor is a Slack user as the audit trail records them, with the language
// locksmith answers them in.
type actor struct {
	ID, Name string
	Lang     messages.Lang
}

// target is a resolved user with what resetting them needs.
type target struct {
	user      partner.User
	roles     []partner.DirectoryRole
	roleNames []string
	need      partner.Role
	facts     *TargetFacts // what Microsoft Graph said; nil without graph.enabled
	recipes   []string     // what a request covers; nil: the reset only
}

// withGraph raises the role a reset needs to what Graph's facts require and
// lists roles as Graph says they are held.
func (t *target) withGraph(v verdict) {
	if roleRank(v.need) > roleRank(t.need) {
		t.need = v.need
	}
	t.roleNames = roleNamesWith(t.roleNames, v.facts)
	t.facts = &v.facts
}

// resolveCustomer finds the one customer ref names among those the held grants
// cover. A customer outside them is treated exactly as one that does not
// exist: the same answer, word for word, and never its name, domain or tenant
// ID, so a grant for one customer cannot be used to list the others.
// hidden counts the matches left out for that reason.
func (s *Service) resolveCustomer(ctx context.Context, lang messages.Lang, ref CustomerRef, held []Grant) (c partner.Customer, hidden int, reply string) {
	var (
		found []partner.Customer
		err   error
	)
	switch ref.Kind {
	case RefID:
		var c partner.Customer
		c, err = s.pc.Customer(ctx, ref.Value)
		if err == nil {
			found = []partner.Customer{c}
		}
	case RefDomain:
		found, err = s.pc.CustomersByDomain(ctx, ref.Value)
	default:
		found, err = s.pc.CustomersByName(ctx, ref.Value)
	}
	notFound := texts.Text(lang, messages.ReplyCustomerNotFound, messages.Data{"Query": Escape(ref.Value, 100)})
	if err != nil {
		if partner.KindOf(err) == partner.KindNotFound {
			return partner.Customer{}, 0, notFound
		}
		s.log.Error("customer lookup failed", "correlation_id", partner.CorrelationID(ctx), "err", err)
		return partner.Customer{}, 0, texts.Text(lang, messages.ReplyCustomerLookupFailed, messages.Data{"Problem": partnerProblem(ctx, lang, err)})
	}
	all := len(found)
	found = slices.DeleteFunc(found, func(c partner.Customer) bool { return bestRole(held, c) == "" })
	hidden = all - len(found)
	switch len(found) {
	case 0:
		return partner.Customer{}, hidden, notFound
	case 1:
		return found[0], hidden, ""
	}
	return partner.Customer{}, hidden, candidatesReply(lang, ref.Value, found)
}

// maxCandidates keeps an ambiguous answer readable (and under Slack's limits).
const maxCandidates = 10

func candidatesReply(lang messages.Lang, query string, found []partner.Customer) string {
	text := texts.Text(lang, messages.ReplyCandidates, messages.Data{"Query": Escape(query, 100), "Count": len(found)})
	for i, c := range found {
		if i == maxCandidates {
			text += texts.Text(lang, messages.ReplyCandidatesMore, messages.Data{"Count": len(found) - maxCandidates})
			break
		}
		text += texts.Text(lang, messages.ReplyCandidate, messages.Data{
			"Name": Escape(c.Name, 100), "Domain": Escape(c.Domain, 100), "TenantID": Escape(c.TenantID, 40)})
	}
	return text
}

func (s *Service) resolveTarget(ctx context.Context, lang messages.Lang, c partner.Customer, ref UserRef) (target, string) {
	var (
		u   partner.User
		err error
	)
	if ref.Kind == RefID {
		u, err = s.pc.User(ctx, c.TenantID, ref.Value)
	} else {
		u, err = s.pc.UserByUPN(ctx, c.TenantID, ref.Value)
	}
	if err != nil {
		if partner.KindOf(err) == partner.KindNotFound {
			return target{}, texts.Text(lang, messages.ReplyUserNotFound, messages.Data{
				"User": Escape(ref.Value, 120), "Customer": Escape(c.Name, 100), "Domain": Escape(c.Domain, 100)})
		}
		s.log.Error("user lookup failed", "correlation_id", partner.CorrelationID(ctx), "err", err)
		return target{}, texts.Text(lang, messages.ReplyUserLookupFailed, messages.Data{"Problem": partnerProblem(ctx, lang, err)})
	}
	if u.State != "" && u.State != "active" {
		return target{}, texts.Text(lang, messages.ReplyUserDeleted, messages.Data{
			"User": Escape(u.UserPrincipalName, 120), "Customer": Escape(c.Name, 100), "State": Escape(u.State, 20)})
	}
	roles, err := s.pc.UserRoles(ctx, c.TenantID, u.ObjectID)
	if err != nil {
		// Fail closed: without the roles locksmith cannot know who may reset.
		s.log.Error("directory roles lookup failed", "correlation_id", partner.CorrelationID(ctx), "err", err)
		return target{}, texts.Text(lang, messages.ReplyRolesLookupFailed, messages.Data{"Problem": partnerProblem(ctx, lang, err)})
	}
	t := target{user: u, roles: roles, need: partner.RequiredRole(roles)}
	for _, r := range roles {
		t.roleNames = append(t.roleNames, partner.DisplayName(r))
	}
	return t, ""
}

// rolesPhrase names a user's admin roles in a sentence ("the admin roles
// _Global Administrator_, _Helpdesk Administrator_").
func rolesPhrase(lang messages.Lang, names []string) string {
	if len(names) == 0 {
		return texts.Text(lang, messages.RolesNone, nil)
	}
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = texts.Text(lang, messages.RolesItem, messages.Data{"Role": Escape(texts.RoleName(lang, n), 80)})
	}
	return texts.Count(lang, messages.RolesSome, len(names), messages.Data{"Roles": texts.List(lang, parts)})
}

// roleName is a GDAP role as Microsoft names it in lang.
func roleName(lang messages.Lang, r partner.Role) string {
	return texts.RoleName(lang, string(r))
}

func syncedWarning(lang messages.Lang, u partner.User) string {
	when := texts.Text(lang, messages.SyncedUnknownTime, nil)
	if u.LastDirectorySyncTime != nil {
		when = u.LastDirectorySyncTime.UTC().Format("2006-01-02 15:04 UTC")
	}
	return texts.Text(lang, messages.SyncedWarning, messages.Data{"User": Escape(u.UserPrincipalName, 120), "When": when})
}

// refuse audits a refusal. A failed audit write is logged and counted; the
// refusal itself still stands (nothing changed, so nothing is at risk).
func (s *Service) refuse(ctx context.Context, a actor, correlationID string, c *partner.Customer, u *partner.User, why string) {
	e := approvals.Event{ActorID: a.ID, ActorName: a.Name, CorrelationID: correlationID, Outcome: approvals.OutcomeRefused, Detail: why}
	if c != nil {
		e.TenantID, e.CustomerDomain = c.TenantID, c.Domain
	}
	if u != nil {
		e.TargetObjectID, e.TargetUPN = u.ObjectID, u.UserPrincipalName
	}
	s.metrics.Reset("refused")
	_ = s.audit(ctx, e)
}

// audit appends one row and mirrors it to the audit channel.
func (s *Service) audit(ctx context.Context, e approvals.Event, owed ...approvals.Message) error {
	_, err := s.store.Append(ctx, e, owed...)
	if err != nil {
		s.metrics.AuditWriteFailed()
		s.log.Error("audit write failed", "correlation_id", e.CorrelationID, "outcome", e.Outcome, "err", err)
		return err
	}
	s.delivery.Kick() // the row owes its audit-channel line (auditLines)
	return nil
}

// auditLines is what every audit row owes: its line in the audit channel,
// if one is configured. The store calls it inside the transaction that
// appends the row, so the line is delivered even if locksmith stops right
// after (docs/outbox.md).
func (s *Service) auditLines(e approvals.Event) []approvals.Message {
	ch := s.currentPolicy().AuditChannel
	if ch == "" {
		return nil
	}
	text := auditLine(s.channelLang(), e)
	return []approvals.Message{{Kind: approvals.MessageChannel, Channel: ch, RequestID: e.RequestID, Payload: mustJSON(outboxPayload{Text: text})}}
}

// auditLine is the one-line form of an audit row for the audit channel. The
// outcome stays its code, and the detail is the row's own: the channel mirrors
// the trail, whose stored fields are the same in every language.
func auditLine(lang messages.Lang, e approvals.Event) string {
	d := messages.Data{"Outcome": string(e.Outcome)}
	if e.ActorID != "" && e.ActorID != systemActor.ID {
		d["Actor"] = Escape(e.ActorID, 20)
	}
	if e.TargetUPN != "" {
		d["User"] = Escape(e.TargetUPN, 120)
	}
	if e.CustomerDomain != "" {
		d["Domain"] = Escape(e.CustomerDomain, 100)
	}
	if e.Detail != "" {
		d["Detail"] = Escape(e.Detail, 200)
	}
	if e.RequestID != "" {
		d["RequestID"] = Escape(e.RequestID, 40)
	}
	return texts.Text(lang, messages.AuditLine, d)
}

// systemActor is who the audit trail names for what locksmith does by itself
// (expiry, reconciliation after a crash).
var systemActor = actor{ID: "locksmith", Name: "locksmith"}
