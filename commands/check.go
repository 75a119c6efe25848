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
	l := a.Lang
	var b strings.Builder
	var summary []string
	line := func(id messages.ID, d messages.Data) { b.WriteString("\n• " + texts.Text(l, id, d)) }

	b.WriteString(texts.Text(l, messages.CheckHead, nil))
	line(messages.CheckCustomer, messages.Data{"Customer": Escape(c.Name, 100), "Domain": Escape(c.Domain, 100), "Tenant": Escape(c.TenantID, 40)})
	line(messages.CheckUser, messages.Data{"Name": Escape(t.user.DisplayName, 100), "User": Escape(t.user.UserPrincipalName, 120), "Roles": rolesPhrase(l, t.roleNames)})
	tier := tierOf(t.need)
	verdict := messages.CheckEnough
	if !r.acc.allows(t.need) {
		verdict = messages.CheckNotEnough
	}
	line(messages.CheckRoleNeeded, messages.Data{"Need": roleName(l, t.need), "Tier": string(tier), "Held": roleName(l, r.acc.best), "Verdict": texts.Text(l, verdict, nil)})
	summary = append(summary, fmt.Sprintf("needs %s; requester holds %s", t.need, r.acc.best))

	switch {
	case !pol.ApprovalRequired:
		if t.user.Synced() {
			line(messages.CheckApprovalOffSynced, nil)
		} else {
			line(messages.CheckApprovalOff, nil)
		}
		summary = append(summary, "approval off")
	default:
		rule, reply := pol.ruleFor(l, c, t.need)
		if reply != "" {
			b.WriteString("\n• " + reply)
			summary = append(summary, "no single policy applies")
			break
		}
		summary = append(summary, "policy "+rule.Name, fmt.Sprintf("%d approvals", rule.ApprovalsRequired))
		line(messages.CheckPolicy, messages.Data{"Policy": Escape(rule.Name, 60)})
		approvers, err := s.approversText(ctx, l, pol, rule, c, t.need, a.ID)
		if err != nil {
			log.Error("listing approvers failed", "err", err)
			approvers = texts.Text(l, messages.CheckApproversUnknown, nil)
		}
		line(messages.CheckNeeds, messages.Data{"Needs": texts.Count(l, messages.CheckApprovals, rule.ApprovalsRequired, nil), "Approvers": approvers})
		switch {
		case rule.Ticket != nil:
			id := messages.CheckReasonTicket
			if rule.Ticket.Link != "" {
				id = messages.CheckReasonTicketLinked
			}
			line(id, messages.Data{"Pattern": Escape(rule.Ticket.Pattern.String(), 100)})
		case rule.RequireReason:
			line(messages.CheckReasonRequired, nil)
		default:
			line(messages.CheckReasonOptional, nil)
		}
		line(messages.CheckExpiry, messages.Data{"Expires": rule.ExpiresAfter.String(), "UseWithin": rule.UseWithin.String()})
		if !pol.BreakGlass.People.Empty() {
			onList, err := s.principalsName(ctx, pol.BreakGlass.People, a.ID)
			switch {
			case err != nil:
				line(messages.CheckBreakGlassUnknown, nil)
			case !rule.BreakGlass:
				line(messages.CheckBreakGlassOff, nil)
			case onList:
				line(messages.CheckBreakGlassYou, messages.Data{"Flag": breakGlassFlag})
			default:
				line(messages.CheckBreakGlassNotYou, nil)
			}
		}
	}
	if t.user.Synced() {
		b.WriteString("\n• " + syncedWarning(l, t.user))
		summary = append(summary, "synced")
	}
	if tier == policy.Privileged {
		line(messages.CheckPrivileged, messages.Data{"User": Escape(t.user.UserPrincipalName, 120)})
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
func (s *Service) approversText(ctx context.Context, l messages.Lang, pol *Policy, rule policy.Rule, c partner.Customer, need partner.Role, requesterID string) (string, error) {
	p := eligiblePrincipals(pol, rule, c, need, requesterID)
	switch {
	case !rule.Approvers.Empty():
		return texts.Text(l, messages.CheckApproversNamed, messages.Data{"Who": principalsText(p)}), nil
	case p.Empty():
		return texts.Text(l, messages.CheckApproversNobody, nil), nil
	}
	return texts.Text(l, messages.CheckApproversGrants, messages.Data{"Who": principalsText(p), "Need": roleName(l, need)}), nil
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
