package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/messages"
	"github.com/locksmithbot/locksmith/partner"
	"github.com/locksmithbot/locksmith/policy"
)

// This file connects the approval policies (package policy) to the workflow:
// which rule a request falls under, what it asks of the requester, and who
// may approve under it.

// tierOf is the policy tier of a target that needs role to be reset.
func tierOf(need partner.Role) policy.Tier {
	if need == partner.RolePrivilegedAuthenticationAdministrator {
		return policy.Privileged
	}
	return policy.Standard
}

// DefaultRule is the rule built from the approval: block, the policy of every
// customer and tier no configured policy names.
func DefaultRule(p *Policy) policy.Rule {
	return policy.Rule{
		Name:              policy.DefaultName,
		Customers:         []string{"*"},
		ApprovalsRequired: 1,
		RequireReason:     p.RequireReason,
		ExpiresAfter:      p.ExpiresAfter,
		UseWithin:         p.UseWithin,
		BreakGlass:        true,
		RemindAfter:       p.RemindAfter,
		EscalateAfter:     p.EscalateAfter,
		EscalateTo:        p.EscalateTo,
	}
}

// ruleFor is the rule for a customer and the role a target needs. The reply
// is set when no single rule applies (two policies name the customer in
// different ways): refusing is safer than guessing which one was meant.
func (p *Policy) ruleFor(l messages.Lang, c partner.Customer, need partner.Role) (policy.Rule, string) {
	r, err := p.rules.For(c.TenantID, c.Domain, tierOf(need))
	if err != nil {
		return policy.Rule{}, texts.Text(l, messages.PolicyAmbiguous, messages.Data{
			"Customer": Escape(c.Name, 100), "Problem": Escape(err.Error(), 300)})
	}
	return r, ""
}

// ticketFor checks the reason against the rule's ticket and reason
// requirements. It returns the ticket and its link, or a reply that refuses.
func ticketFor(l messages.Lang, r policy.Rule, reason string) (ticket, link, reply string) {
	if r.Ticket != nil {
		id, url, ok := r.Ticket.Find(reason)
		if !ok {
			return "", "", texts.Text(l, messages.PolicyNeedsTicket, messages.Data{
				"Policy": Escape(r.Name, 60), "Pattern": Escape(r.Ticket.Pattern.String(), 100)})
		}
		return id, url, ""
	}
	if r.RequireReason && strings.TrimSpace(reason) == "" {
		return "", "", texts.Text(l, messages.PolicyNeedsReason, messages.Data{"Policy": Escape(r.Name, 60)})
	}
	return "", "", ""
}

// ruleOfRequest is the rule that governs a recorded request now: the policy
// it was made under if that still exists, otherwise whatever the current
// configuration selects for its customer and tier (a reload renamed or
// removed the policy).
func (p *Policy) ruleOfRequest(l messages.Lang, r approvals.Request) (policy.Rule, string) {
	if r.PolicyName != "" {
		if rule, ok := p.rules.ByName(r.PolicyName); ok {
			return rule, ""
		}
	}
	return p.ruleFor(l, partner.Customer{TenantID: r.TenantID, Domain: r.CustomerDomain, Name: r.CustomerName}, partner.Role(r.RoleNeeded))
}

// eligibility says whether a person may approve or deny a request under a
// rule, and if not, why (for the reply and the audit row).
type eligibility struct {
	ok   bool
	why  string // audit detail when !ok
	text string // reply when !ok (mrkdwn, escaped)
}

// mayDecide decides whether userID may approve or deny req under rule. The
// requester never may. With approvers named in the rule, only they may:
// approving is a decision, and an MSP's leads often hold no GDAP role
// themselves. Without, it is today's rule: anyone whose grants cover the
// customer with the role the target needs.
func (s *Service) mayDecide(ctx context.Context, pol *Policy, rule policy.Rule, req approvals.Request, userID, verb string) (eligibility, error) {
	// The reply goes to the person deciding, in their language; verb stays
	// English for the audit trail.
	l := s.langOf(ctx, userID)
	verbText := texts.Text(l, messages.ID("policy.verb_"+verb), nil)
	if userID == req.RequesterID {
		return eligibility{why: "requester tried to " + verb + " their own request",
			text: texts.Text(l, messages.PolicyOwnRequest, messages.Data{"Verb": verbText})}, nil
	}
	if !rule.Approvers.Empty() {
		// Named approvers need no grant, but the same live, full account.
		if err := s.checkAccount(ctx, userID); err != nil {
			return eligibility{}, err
		}
		named, err := s.principalsName(ctx, rule.Approvers, userID)
		if err != nil {
			return eligibility{}, err
		}
		if !named {
			return eligibility{why: fmt.Sprintf("not an approver of policy %q", rule.Name),
				text: texts.Text(l, messages.PolicyNotApprover, messages.Data{
					"Verb": verbText, "Policy": Escape(rule.Name, 60), "Approvers": principalsText(rule.Approvers)})}, nil
		}
		return eligibility{ok: true}, nil
	}
	need := partner.Role(req.RoleNeeded)
	customer := partner.Customer{TenantID: req.TenantID, Domain: req.CustomerDomain, Name: req.CustomerName}
	acc, err := s.accessFor(ctx, pol.Grants, userID, &customer)
	if err != nil {
		return eligibility{}, err
	}
	if !acc.allows(need) {
		holds := texts.Text(l, messages.PolicyHoldsNoGrant, nil)
		if acc.best != "" {
			holds = "*" + roleName(l, acc.best) + "*"
		}
		return eligibility{why: fmt.Sprintf("decider holds %q; needs %s", acc.best, need),
			text: texts.Text(l, messages.PolicyDeciderRoleTooWeak, messages.Data{
				"Verb": verbText, "User": Escape(req.TargetUPN, 120), "Customer": Escape(req.CustomerName, 100),
				"Need": roleName(l, need), "Holds": holds})}, nil
	}
	return eligibility{ok: true}, nil
}

// principalsName reports whether p names userID directly or through a group.
func (s *Service) principalsName(ctx context.Context, p policy.Principals, userID string) (bool, error) {
	return s.grantNames(ctx, Grant{Users: p.Users, Usergroups: p.Usergroups}, userID)
}

// principalsText lists people and groups as Slack mentions.
func principalsText(p policy.Principals) string {
	var parts []string
	for _, u := range p.Users {
		parts = append(parts, fmt.Sprintf("<@%s>", Escape(u, 20)))
	}
	for _, g := range p.Usergroups {
		parts = append(parts, fmt.Sprintf("<!subteam^%s>", Escape(g, 20)))
	}
	return strings.Join(parts, ", ")
}

// ticketText is the ticket as mrkdwn: a link when the policy has a template.
func ticketText(ticket, url string) string {
	if url == "" {
		return "`" + Escape(ticket, 60) + "`"
	}
	return fmt.Sprintf("<%s|%s>", Escape(strings.ReplaceAll(url, "|", "%7C"), 300), Escape(ticket, 60))
}

// progress is "1 of 2" for a request that needs several approvals.
func progress(r approvals.Request) string {
	return fmt.Sprintf("%d of %d", r.ApprovalsCount, r.ApprovalsRequired)
}
