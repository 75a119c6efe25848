package commands

import (
	"context"
	"errors"
	"fmt"
	"github.com/locksmithbot/locksmith/messages"
	"log/slog"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/partner"
	"github.com/locksmithbot/locksmith/policy"
)

// BreakGlass is the accountable way through when no approver can be reached:
// People may add --break-glass (with a reason) to reset at once, under every
// policy that allows it. Everyone is told at once (approval and audit
// channels, SecurityContacts by DM) and a Review card waits in the approval
// channel until someone else acknowledges it, with a reminder every
// RemindEvery until they do.
type BreakGlass struct {
	People           policy.Principals
	SecurityContacts []string // Slack user IDs
	RemindEvery      time.Duration
}

// breakGlass resets without approval for someone on the break-glass list.
// The request is recorded (approved by nobody, marked for review, audited as
// break_glass) before anyone is told and before the reset, which then goes
// through the same claim as an approved request: intent audited first, once.
func (s *Service) breakGlass(ctx context.Context, log *slog.Logger, pol *Policy, rule policy.Rule, a actor, correlationID string, c partner.Customer, t target, reason, ticket, ticketURL string) Reply {
	named, err := s.principalsName(ctx, pol.BreakGlass.People, a.ID)
	if err != nil {
		log.Error("break-glass list check failed", "err", err)
		return Reply{Text: texts.Text(a.Lang, messages.BreakGlassListCheckFailed, nil)}
	}
	if !named {
		s.refuse(ctx, a, correlationID, &c, &t.user, "break-glass by someone not on the break-glass list")
		return Reply{Text: texts.Text(a.Lang, messages.BreakGlassNotListed, messages.Data{"Flag": breakGlassFlag})}
	}
	if !rule.BreakGlass {
		s.refuse(ctx, a, correlationID, &c, &t.user, fmt.Sprintf("break-glass not allowed by policy %q", rule.Name))
		return Reply{Text: texts.Text(a.Lang, messages.BreakGlassNotAllowed, messages.Data{
			"Policy": Escape(rule.Name, 60), "Tier": string(tierOf(t.need)), "Flag": breakGlassFlag})}
	}
	now := s.now()
	// Loud at once, before the reset: the card (the Review card) in the
	// approval channel and a DM to each security contact are owed with the
	// record itself.
	status := texts.Text(s.channelLang(), messages.BreakGlassStatus, messages.Data{"Requester": Escape(a.ID, 20)})
	contactLangs := make([]messages.Lang, len(pol.BreakGlass.SecurityContacts))
	for i, contact := range pol.BreakGlass.SecurityContacts {
		contactLangs[i] = s.langOf(ctx, contact)
	}
	r, err := s.store.CreateBreakGlass(ctx, approvals.Request{
		ApprovalChannel: pol.ApprovalChannel,
		RequesterID:     a.ID, RequesterName: a.Name,
		TenantID: c.TenantID, CustomerName: c.Name, CustomerDomain: c.Domain,
		TargetObjectID: t.user.ObjectID, TargetUPN: t.user.UserPrincipalName, TargetDisplayName: t.user.DisplayName,
		TargetRoles: t.roleNames, RoleNeeded: string(t.need),
		Reason: reason, CorrelationID: correlationID,
		ExpiresAt: now.Add(rule.ExpiresAfter), PolicyName: rule.Name, Tier: string(tierOf(t.need)),
		Ticket: ticket, TicketURL: ticketURL, ApprovalsRequired: rule.ApprovalsRequired,
	}, now.Add(rule.UseWithin), "reset without approval; reason: "+reason, func(u approvals.Request) []approvals.Message {
		owed := []approvals.Message{s.owedCard(u, status, false)}
		for i, contact := range pol.BreakGlass.SecurityContacts {
			cl := contactLangs[i]
			owed = append(owed, owedDM(u, contact, Notice{Lang: cl, Text: texts.Text(cl, messages.BreakGlassContactNotice, messages.Data{
				"Requester": Escape(a.ID, 20), "User": Escape(u.TargetUPN, 120), "Customer": Escape(u.CustomerName, 100),
				"Reason": Escape(reason, maxReasonRunes), "Note": breakGlassNote(cl, u), "Channel": Escape(pol.ApprovalChannel, 20)})}))
		}
		return owed
	})
	if err != nil {
		log.Error("recording a break-glass request failed", "err", err)
		return Reply{Text: texts.Text(a.Lang, messages.BreakGlassRecordFailed, nil)}
	}
	log = log.With("request_id", r.ID, "break_glass", true)
	log.Warn("break-glass reset")
	s.announceRequest(r, approvals.OutcomeRequested, a, correlationID)

	// The card goes up before the reset, so the channel sees it as it happens
	// (unless Slack is pacing the channel: then it shows the outcome when its
	// turn comes).
	s.cardOutcome(ctx, r.ID, 0)
	if cur, err := s.store.Get(ctx, r.ID); err == nil {
		r = cur
	}
	// A transient failure leaves it approved, and the release owes the
	// requester the button to try again (claimAndReset).
	return s.claimAndReset(ctx, log, pol, a, Action{Kind: ActionReset, RequestID: r.ID, UserID: a.ID, UserName: a.Name, CorrelationID: correlationID}, r)
}

// breakGlassStillAllowed re-checks, for a break-glass reset tried again (its
// first attempt failed transiently), what let it skip approval: its requester
// is still on the break-glass list and its policy still allows break-glass.
// Its "approval" is the requester's own, so the approvers' re-check would
// always refuse it.
func (s *Service) breakGlassStillAllowed(ctx context.Context, log *slog.Logger, pol *Policy, a actor, in Action, req approvals.Request) (Reply, bool) {
	rule, reply := pol.ruleOfRequest(a.Lang, req)
	if reply != "" {
		return Reply{Text: reply}, false
	}
	named, err := s.principalsName(ctx, pol.BreakGlass.People, a.ID)
	if err != nil {
		log.Error("break-glass list check failed", "err", err)
		return Reply{Text: texts.Text(a.Lang, messages.BreakGlassListCheckFailed, nil)}, false
	}
	if !named {
		s.refuseOnRequest(ctx, a, in.CorrelationID, req, "break-glass retry by someone no longer on the break-glass list")
		return Reply{Text: texts.Text(a.Lang, messages.BreakGlassNotListed, messages.Data{"Flag": breakGlassFlag})}, false
	}
	if !rule.BreakGlass {
		s.refuseOnRequest(ctx, a, in.CorrelationID, req, fmt.Sprintf("break-glass no longer allowed by policy %q", rule.Name))
		return Reply{Text: texts.Text(a.Lang, messages.BreakGlassNotAllowed, messages.Data{
			"Policy": Escape(rule.Name, 60), "Tier": req.Tier, "Flag": breakGlassFlag})}, false
	}
	return Reply{}, true
}

// review acknowledges a break-glass reset: anyone but its requester who may
// approve such a reset under its policy, or a security contact.
func (s *Service) review(ctx context.Context, log *slog.Logger, pol *Policy, a actor, in Action, req approvals.Request) Reply {
	if !req.BreakGlass {
		return Reply{Text: texts.Text(a.Lang, messages.BreakGlassNotBreakGlass, nil)}
	}
	if a.ID == req.RequesterID {
		s.refuseOnRequest(ctx, a, in.CorrelationID, req, "requester tried to review their own break-glass reset")
		return Reply{Text: texts.Text(a.Lang, messages.BreakGlassOwnReview, nil)}
	}
	if contains(pol.BreakGlass.SecurityContacts, a.ID) {
		// A security contact needs no grant, but a live, full account.
		if err := s.checkAccount(ctx, a.ID); err != nil {
			log.Error("account check failed", "err", err)
			return Reply{Text: permissionProblem(a.Lang, err, messages.ReplyDeciderCheckFailed)}
		}
	} else if _, reply, ok := s.checkDecider(ctx, log, pol, a, in, req, "review"); !ok {
		return reply
	}
	cl, rl := s.channelLang(), s.langOf(ctx, req.RequesterID)
	updated, err := s.store.AcknowledgeReview(ctx, req.ID, a.ID, a.Name, func(u approvals.Request) []approvals.Message {
		return []approvals.Message{
			s.owedCard(u, texts.Text(cl, messages.BreakGlassReviewedStatus, messages.Data{
				"Requester": Escape(u.RequesterID, 20), "State": stateWord(cl, u), "Reviewer": Escape(a.ID, 20), "When": slackTime(cl, u.ReviewedAt)}), false),
			owedDM(u, u.RequesterID, Notice{Lang: rl, Text: texts.Text(rl, messages.BreakGlassReviewedNotice, messages.Data{
				"Reviewer": Escape(a.ID, 20), "User": Escape(u.TargetUPN, 120), "Customer": Escape(u.CustomerName, 100)})}),
		}
	})
	var reviewed *approvals.ReviewedError
	switch {
	case errors.As(err, &reviewed):
		return Reply{Text: texts.Text(a.Lang, messages.BreakGlassAlreadyReviewed, messages.Data{
			"Reviewer": Escape(reviewed.Current.ReviewedBy, 20), "When": slackTime(a.Lang, reviewed.Current.ReviewedAt)})}
	case err != nil:
		if reply, handled := s.transitionFailed(ctx, log, a.Lang, err); handled {
			return reply
		}
	}
	s.announceRequest(updated, approvals.OutcomeReviewed, a, in.CorrelationID)
	return Reply{Text: texts.Text(a.Lang, messages.BreakGlassReviewThanks, nil)}
}

// remindReviews reminds, in the review card's thread, about break-glass
// resets nobody has acknowledged, every RemindEvery, once per interval across
// replicas.
func (s *Service) remindReviews(ctx context.Context) error {
	pol := s.currentPolicy()
	every := pol.BreakGlass.RemindEvery
	if every <= 0 {
		every = time.Hour
	}
	open, err := s.store.Unreviewed(ctx)
	if err != nil {
		return fmt.Errorf("find unreviewed break-glass resets: %w", err)
	}
	for _, r := range open {
		if s.now().Before(r.CreatedAt.Add(every)) {
			continue
		}
		claimed, ok, err := s.store.ClaimReviewReminder(ctx, r.ID, every, func(u approvals.Request) []approvals.Message {
			return []approvals.Message{owedThread(u, pol, s.reviewReminder(pol, u))}
		})
		if err != nil {
			s.log.Error("claiming a review reminder failed", "request_id", r.ID, "err", err)
			continue
		}
		if !ok {
			continue // not due yet, or another replica sent it
		}
		s.announceRequest(claimed, approvals.OutcomeReviewReminded, systemActor, claimed.CorrelationID)
	}
	return nil
}

// reviewReminder is the reminder about unreviewed break-glass reset r: who
// may acknowledge it (the security contacts and whoever could have approved
// it), in the channel's language. It only reads the policy, so it may run
// inside the claim's transaction.
func (s *Service) reviewReminder(pol *Policy, r approvals.Request) string {
	who := policy.Principals{Users: pol.BreakGlass.SecurityContacts}
	cl := s.channelLang()
	if rule, reply := pol.ruleOfRequest(cl, r); reply == "" {
		e := eligiblePrincipals(pol, rule, customerOf(r), partner.Role(r.RoleNeeded), r.RequesterID)
		who.Users = append(who.Users, e.Users...)
		who.Usergroups = e.Usergroups
	}
	return texts.Text(cl, messages.BreakGlassReviewReminder, messages.Data{
		"Requester": Escape(r.RequesterID, 20), "User": Escape(r.TargetUPN, 120), "Customer": Escape(r.CustomerName, 100),
		"When": slackTime(cl, r.CreatedAt), "Asked": principalsText(dedupe(who))})
}

// stateWord is a request's state as a short phrase for the review card.
func stateWord(l messages.Lang, r approvals.Request) string {
	switch r.State {
	case approvals.StateDone:
		return texts.Text(l, messages.BreakGlassStateDone, nil)
	case approvals.StateFailed:
		return texts.Text(l, messages.BreakGlassStateFailed, nil)
	case approvals.StateApproved, approvals.StateResetting:
		return texts.Text(l, messages.BreakGlassStateInProgress, nil)
	}
	return string(r.State)
}

// breakGlassNote is what the security contacts' DM adds about r's policy: the
// approvals it would have needed and its ticket.
func breakGlassNote(l messages.Lang, r approvals.Request) string {
	note := ""
	if r.ApprovalsRequired > 1 {
		note += texts.Text(l, messages.BreakGlassNoteApprovals, messages.Data{"Required": r.ApprovalsRequired})
	}
	if r.Ticket != "" {
		note += texts.Text(l, messages.BreakGlassNoteTicket, messages.Data{"Ticket": ticketText(r.Ticket, r.TicketURL)})
	}
	return note
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// dedupe drops repeated IDs.
func dedupe(p policy.Principals) policy.Principals {
	seen := map[string]bool{}
	var out policy.Principals
	for _, u := range p.Users {
		if !seen[u] {
			seen[u] = true
			out.Users = append(out.Users, u)
		}
	}
	for _, g := range p.Usergroups {
		if !seen[g] {
			seen[g] = true
			out.Usergroups = append(out.Usergroups, g)
		}
	}
	return out
}
