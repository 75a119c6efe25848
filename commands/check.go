package commands

import (
	"context"
	"fmt"
	"github.com/locksmithbot/locksmith/messages"
	"log/slog"
	"strings"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/partner"
	"github.com/locksmithbot/locksmith/policy"
)

// dryRun answers `/reset-password check <customer> <user>`: what a request
// would meet, resolved and classified exactly as a request is (resolveRequest),
// without recording a request, posting a card or calling anything that
// changes state. One audit row records that it was asked.
func (s *Service) dryRun(ctx context.Context, log *slog.Logger, pol *Policy, a actor, correlationID string, r resolved) Reply {
	c, t := r.customer, r.target
	var b strings.Builder
	var summary []string
	line := func(format string, args ...any) { fmt.Fprintf(&b, "\n• "+format, args...) }

	b.WriteString("*Dry run: nothing was done.*")
	line("Customer: *%s* (`%s`, tenant `%s`)", Escape(c.Name, 100), Escape(c.Domain, 100), Escape(c.TenantID, 40))
	line("User: %s (%s), %s", Escape(t.user.DisplayName, 100), Escape(t.user.UserPrincipalName, 120), rolesPhrase(messages.English, t.roleNames))
	tier := tierOf(t.need)
	line("Role needed: *%s* (%s tier). You hold *%s* for this customer: %s", t.need, tier, r.acc.best, map[bool]string{
		true:  "enough.",
		false: "*not enough*, so a request would be refused.",
	}[r.acc.allows(t.need)])
	summary = append(summary, fmt.Sprintf("needs %s; requester holds %s", t.need, r.acc.best))

	switch {
	case !pol.ApprovalRequired:
		if t.user.Synced() {
			line("Approval is off, and locksmith does not reset users synced from on-premises without it: a request would be refused.")
		} else {
			line("Approval is off: the password would be reset at once.")
		}
		summary = append(summary, "approval off")
	default:
		rule, reply := pol.ruleFor(a.Lang, c, t.need)
		if reply != "" {
			line("%s", reply)
			summary = append(summary, "no single policy applies")
			break
		}
		summary = append(summary, "policy "+rule.Name, fmt.Sprintf("%d approvals", rule.ApprovalsRequired))
		line("Policy: *%s*", Escape(rule.Name, 60))
		approvers, err := s.approversText(ctx, pol, rule, c, t.need, a.ID)
		if err != nil {
			log.Error("listing approvers failed", "err", err)
			approvers = "_could not be listed (Slack user groups could not be read)_"
		}
		n := "1 approval"
		if rule.ApprovalsRequired > 1 {
			n = fmt.Sprintf("%d approvals from different people", rule.ApprovalsRequired)
		}
		line("Needs %s; you never count. Who may approve: %s", n, approvers)
		switch {
		case rule.Ticket != nil:
			link := ""
			if rule.Ticket.Link != "" {
				link = ", linked to your PSA"
			}
			line("Reason: must contain a ticket matching `%s`%s.", Escape(rule.Ticket.Pattern.String(), 100), link)
		case rule.RequireReason:
			line("Reason: required.")
		default:
			line("Reason: optional.")
		}
		line("A request expires after %s without a decision; an approval must be used within %s.", rule.ExpiresAfter, rule.UseWithin)
		if !pol.BreakGlass.People.Empty() {
			onList, err := s.principalsName(ctx, pol.BreakGlass.People, a.ID)
			switch {
			case err != nil:
				line("Break-glass: _could not be checked_.")
			case !rule.BreakGlass:
				line("Break-glass: not allowed by this policy.")
			case onList:
				line("Break-glass: allowed for you (`%s` with a reason), and reviewed afterwards.", breakGlassFlag)
			default:
				line("Break-glass: allowed by this policy, but you are not on the break-glass list.")
			}
		}
	}
	if t.user.Synced() {
		line("%s", syncedWarning(messages.English, t.user))
		summary = append(summary, "synced")
	}
	if tier == policy.Privileged {
		line(":warning: %s holds a privileged admin role: resetting them hands over an administrator's account.", Escape(t.user.UserPrincipalName, 120))
		summary = append(summary, "privileged")
	}
	s.auditCheck(ctx, a, correlationID, &c, &t.user, strings.Join(summary, "; "))
	return Reply{Text: b.String()}
}

// auditCheck writes the one audit row of a dry run.
func (s *Service) auditCheck(ctx context.Context, a actor, correlationID string, c *partner.Customer, u *partner.User, detail string) {
	e := approvals.Event{ActorID: a.ID, ActorName: a.Name, CorrelationID: correlationID, Outcome: approvals.OutcomeChecked, Detail: detail}
	if c != nil {
		e.TenantID, e.CustomerDomain = c.TenantID, c.Domain
	}
	if u != nil {
		e.TargetObjectID, e.TargetUPN = u.ObjectID, u.UserPrincipalName
	}
	_ = s.audit(ctx, e)
}

// approversText says who may approve under rule (see eligiblePrincipals).
func (s *Service) approversText(ctx context.Context, pol *Policy, rule policy.Rule, c partner.Customer, need partner.Role, requesterID string) (string, error) {
	p := eligiblePrincipals(pol, rule, c, need, requesterID)
	switch {
	case !rule.Approvers.Empty():
		return principalsText(p) + " (named by the policy)", nil
	case p.Empty():
		return "*nobody*: no other grant covers this customer with that role, so a request could not be approved", nil
	}
	return principalsText(p) + fmt.Sprintf(" (grants with *%s* for this customer)", need), nil
}

// eligiblePrincipals is who may approve under rule, as configured: its named
// approvers, or the people and groups of every grant whose roles cover the
// customer and the role needed; without the requester.
func eligiblePrincipals(pol *Policy, rule policy.Rule, c partner.Customer, need partner.Role, requesterID string) policy.Principals {
	if !rule.Approvers.Empty() {
		return withoutUser(rule.Approvers, requesterID)
	}
	var p policy.Principals
	for _, g := range pol.Grants {
		if g.covers(c) && (access{best: bestRole([]Grant{g}, c)}).allows(need) {
			p.Users = append(p.Users, g.Users...)
			p.Usergroups = append(p.Usergroups, g.Usergroups...)
		}
	}
	return withoutUser(dedupe(p), requesterID)
}

// withoutUser drops userID from the named users (a group is shown whole; the
// requester's own approval is refused when they click).
func withoutUser(p policy.Principals, userID string) policy.Principals {
	out := policy.Principals{Usergroups: p.Usergroups}
	for _, u := range p.Users {
		if u != userID {
			out.Users = append(out.Users, u)
		}
	}
	return out
}
