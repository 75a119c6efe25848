// Package policy decides which approval rule applies to a password reset: who
// may approve, how many distinct approvers are needed, what the requester must
// give (a reason, a ticket), how long each step may take, when approvers are
// reminded, and whether break-glass is allowed.
//
// A rule is matched by customer (tenant ID, initial domain or "*") and by the
// target's tier. The package is pure: it knows nothing of Slack, Partner
// Center or the database, so every rule about rules is tested here. The design
// is explained in docs/policy.md.
package policy

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Tier is how much a reset of the target could hurt, as Entra decides it from
// the target's directory roles: a standard user (no admin role, or only the
// limited roles a User Administrator may reset) or a privileged one (anyone
// else, whose reset needs Privileged Authentication Administrator).
type Tier string

const (
	Standard   Tier = "standard"
	Privileged Tier = "privileged"
)

// Tiers lists every tier.
var Tiers = []Tier{Standard, Privileged}

// Principals names Slack users (U…/W…) and user groups (S…) by ID.
type Principals struct {
	Users      []string
	Usergroups []string
}

// Empty reports whether no one is named.
func (p Principals) Empty() bool { return len(p.Users) == 0 && len(p.Usergroups) == 0 }

// Ticket is a required ticket reference: the reason must contain a match of
// Pattern, and Link (with {ticket} replaced) points at it in the PSA.
type Ticket struct {
	Pattern *regexp.Regexp
	Link    string // e.g. https://psa.example.com/tickets/{ticket}; "" for none
}

// Find returns the first ticket in text and its link ("" without a template).
func (t *Ticket) Find(text string) (id, link string, ok bool) {
	if t == nil || t.Pattern == nil {
		return "", "", false
	}
	id = t.Pattern.FindString(text)
	if id == "" {
		return "", "", false
	}
	if t.Link != "" {
		link = strings.ReplaceAll(t.Link, "{ticket}", url.PathEscape(id))
	}
	return id, link, true
}

// Rule is one approval policy.
type Rule struct {
	// Name identifies the rule in messages, on the card and in the audit trail.
	Name string
	// Customers are "*", tenant IDs or initial domains, lower case.
	Customers []string
	// Tiers the rule covers; empty means every tier.
	Tiers []Tier
	// Approvers may approve or deny. Empty: anyone other than the requester
	// whose grants cover the customer with the role the target needs.
	Approvers Principals
	// ApprovalsRequired is how many distinct people must approve (≥ 1).
	ApprovalsRequired int
	RequireReason     bool
	// Ticket, when set, makes a ticket reference in the reason mandatory.
	Ticket       *Ticket
	ExpiresAfter time.Duration // a pending request expires after this
	UseWithin    time.Duration // an approval must be used within this
	// BreakGlass allows the configured break-glass people to reset without
	// approval under this rule.
	BreakGlass bool
	// RemindAfter, when set, reminds the approvers of a request still pending
	// after this long. EscalateAfter, when set, also asks EscalateTo.
	RemindAfter   time.Duration
	EscalateAfter time.Duration
	EscalateTo    Principals
}

// coversTier reports whether the rule applies to tier t.
func (r Rule) coversTier(t Tier) bool {
	if len(r.Tiers) == 0 {
		return true
	}
	for _, x := range r.Tiers {
		if x == t {
			return true
		}
	}
	return false
}

// wildcard reports whether the rule names "*".
func (r Rule) wildcard() bool {
	for _, c := range r.Customers {
		if c == "*" {
			return true
		}
	}
	return false
}

// namesCustomer reports whether the rule names the customer by tenant ID or
// domain (not through "*").
func (r Rule) namesCustomer(tenantID, domain string) bool {
	for _, c := range r.Customers {
		if c != "*" && (strings.EqualFold(c, tenantID) || (domain != "" && strings.EqualFold(c, domain))) {
			return true
		}
	}
	return false
}

// Set is the default rule (today's approval: block) plus the configured
// policies. Build it with New, which rejects overlaps and contradictions.
type Set struct {
	def   Rule
	rules []Rule
}

// DefaultName is the name of the rule built from the approval: block.
const DefaultName = "default"

// New validates the rules and returns the set. Every problem is reported, each
// naming the rules involved, so an operator fixes them in one pass.
func New(def Rule, rules []Rule) (Set, error) {
	if def.Name == "" {
		def.Name = DefaultName
	}
	var problems []string
	add := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	for _, p := range validate(def) {
		add("%s", p)
	}
	names := map[string]bool{def.Name: true}
	for _, r := range rules {
		if names[r.Name] {
			add("policy %q: the name is used twice", r.Name)
		}
		names[r.Name] = true
		if len(r.Customers) == 0 {
			add(`policy %q: customers is empty; use ["*"], tenant IDs or initial domains`, r.Name)
		}
		for _, p := range validate(r) {
			add("%s", p)
		}
	}
	for i := range rules {
		for j := i + 1; j < len(rules); j++ {
			if where := overlap(rules[i], rules[j]); where != "" {
				add("policies %q and %q both apply to %s: make them name different customers or tiers", rules[i].Name, rules[j].Name, where)
			}
		}
	}
	if len(problems) > 0 {
		return Set{}, &Error{Problems: problems}
	}
	return Set{def: def, rules: append([]Rule(nil), rules...)}, nil
}

// Error lists every problem New found.
type Error struct{ Problems []string }

func (e *Error) Error() string { return strings.Join(e.Problems, "; ") }

// validate returns a rule's contradictions: settings that can never work
// together, such as two approvals from a list of one person.
func validate(r Rule) []string {
	var out []string
	add := func(format string, a ...any) {
		out = append(out, fmt.Sprintf("policy %q: ", r.Name)+fmt.Sprintf(format, a...))
	}
	if r.ApprovalsRequired < 1 || r.ApprovalsRequired > MaxApprovals {
		add("approvals_required is %d; it must be 1 to %d", r.ApprovalsRequired, MaxApprovals)
	}
	if len(r.Approvers.Usergroups) == 0 && len(r.Approvers.Users) > 0 && distinct(r.Approvers.Users) < r.ApprovalsRequired {
		add("approvals_required is %d but approvers names only %d people, so no request could ever be approved", r.ApprovalsRequired, distinct(r.Approvers.Users))
	}
	for _, t := range r.Tiers {
		if t != Standard && t != Privileged {
			add("tier %q is unknown; use %q or %q", t, Standard, Privileged)
		}
	}
	if r.ExpiresAfter <= 0 || r.UseWithin <= 0 {
		add("expires_after and use_within must be positive")
	}
	if r.RemindAfter < 0 || r.EscalateAfter < 0 {
		add("remind_after and escalate_after cannot be negative")
	}
	if r.RemindAfter > 0 && r.RemindAfter >= r.ExpiresAfter {
		add("remind_after (%s) is not before expires_after (%s), so the reminder would never be sent", r.RemindAfter, r.ExpiresAfter)
	}
	if r.EscalateAfter > 0 && r.EscalateAfter >= r.ExpiresAfter {
		add("escalate_after (%s) is not before expires_after (%s), so the escalation would never be sent", r.EscalateAfter, r.ExpiresAfter)
	}
	if r.EscalateAfter > 0 && r.EscalateTo.Empty() {
		add("escalate_after is set but escalate_to names nobody")
	}
	if r.EscalateAfter == 0 && !r.EscalateTo.Empty() {
		add("escalate_to is set but escalate_after is not, so nobody would ever be asked")
	}
	if r.Ticket != nil {
		if r.Ticket.Pattern == nil {
			add("require_ticket has no pattern")
		}
		if r.Ticket.Link != "" {
			u, err := url.Parse(strings.ReplaceAll(r.Ticket.Link, "{ticket}", "X"))
			if err != nil || u.Scheme != "https" || u.Host == "" || !strings.Contains(r.Ticket.Link, "{ticket}") {
				add("require_ticket.link %q must be an https URL containing {ticket}", r.Ticket.Link)
			}
		}
	}
	return out
}

// MaxApprovals bounds approvals_required: more would only ever expire.
const MaxApprovals = 5

func distinct(ids []string) int {
	seen := map[string]bool{}
	for _, id := range ids {
		seen[id] = true
	}
	return len(seen)
}

// overlap returns where two rules both apply at the same precedence ("customer
// contoso.onmicrosoft.com, tier privileged"), or "" when they never do. A rule
// naming a customer takes precedence over a "*" rule, so those never overlap.
func overlap(a, b Rule) string {
	var tiers []string
	for _, t := range Tiers {
		if a.coversTier(t) && b.coversTier(t) {
			tiers = append(tiers, string(t))
		}
	}
	if len(tiers) == 0 {
		return ""
	}
	tierText := "tier " + strings.Join(tiers, " and ")
	if a.wildcard() && b.wildcard() {
		return `customer "*", ` + tierText
	}
	var shared []string
	for _, c := range a.Customers {
		if c != "*" && b.namesCustomer(c, "") {
			shared = append(shared, c)
		}
	}
	if len(shared) == 0 {
		return ""
	}
	sort.Strings(shared)
	return "customer " + strings.Join(shared, ", ") + ", " + tierText
}

// ErrAmbiguous is returned (wrapped) by For when two rules name the same
// customer, one by tenant ID and the other by domain: New cannot see that
// at start-up, and guessing would silently weaken one of them.
var ErrAmbiguous = errors.New("policy: more than one policy applies")

// For returns the rule for a customer and tier: a rule naming the customer
// (by tenant ID or domain) first, then a "*" rule, then the default.
func (s Set) For(tenantID, domain string, tier Tier) (Rule, error) {
	var named, wild []Rule
	for _, r := range s.rules {
		if !r.coversTier(tier) {
			continue
		}
		switch {
		case r.namesCustomer(tenantID, domain):
			named = append(named, r)
		case r.wildcard():
			wild = append(wild, r)
		}
	}
	switch {
	case len(named) > 1:
		return Rule{}, fmt.Errorf("%w: %q and %q both name this customer (one by tenant ID, one by domain); name it one way only", ErrAmbiguous, named[0].Name, named[1].Name)
	case len(named) == 1:
		return named[0], nil
	case len(wild) == 1:
		return wild[0], nil
	}
	return s.def, nil
}

// Default is the rule built from the approval: block.
func (s Set) Default() Rule { return s.def }

// Rules returns every rule, the default first.
func (s Set) Rules() []Rule { return append([]Rule{s.def}, s.rules...) }

// RequiresReasonEverywhere reports whether every rule needs a reason, so a
// command without one can be refused before anything is looked up.
func (s Set) RequiresReasonEverywhere() bool {
	for _, r := range s.Rules() {
		if !r.RequireReason && r.Ticket == nil {
			return false
		}
	}
	return true
}

// ByName returns the rule with that name.
func (s Set) ByName(name string) (Rule, bool) {
	for _, r := range s.Rules() {
		if r.Name == name {
			return r, true
		}
	}
	return Rule{}, false
}
