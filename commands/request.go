package commands

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/partner"
	"github.com/locksmithbot/locksmith/policy"
)

// requestApproval records a pending request, posts the approval card and tells
// the requester. Nothing in it is secret: the password is made only when the
// requester clicks "Reset password now" after approval.
func (s *Service) requestApproval(ctx context.Context, log *slog.Logger, pol *Policy, rule policy.Rule, a actor, correlationID string, c partner.Customer, t target, reason, ticket, ticketURL string) Reply {
	r := approvals.Request{
		RequesterID: a.ID, RequesterName: a.Name,
		TenantID: c.TenantID, CustomerName: c.Name, CustomerDomain: c.Domain,
		TargetObjectID: t.user.ObjectID, TargetUPN: t.user.UserPrincipalName, TargetDisplayName: t.user.DisplayName,
		TargetRoles: t.roleNames, RoleNeeded: string(t.need), Recipes: t.recipes,
		Reason: reason, CorrelationID: correlationID,
		ExpiresAt:  s.now().Add(rule.ExpiresAfter),
		PolicyName: rule.Name, Tier: string(tierOf(t.need)),
		Ticket: ticket, TicketURL: ticketURL,
		ApprovalsRequired: rule.ApprovalsRequired,
	}
	if t.facts != nil {
		r.TargetFacts = t.facts.encode()
	}
	created, err := s.store.Create(ctx, r)
	if err != nil {
		log.Error("create request failed", "err", err)
		return Reply{Text: "locksmith could not record your request, so nothing was done. Try again shortly; if it keeps failing, tell your operator."}
	}
	log = log.With("request_id", created.ID)
	s.announceRequest(created, approvals.OutcomeRequested, a, correlationID)

	status := ""
	if t.user.Synced() {
		status = syncedWarning(t.user)
	}
	ref, err := s.msg.PostApproval(ctx, pol.ApprovalChannel, cardFor(created, status, true))
	if err != nil {
		log.Error("post approval card failed", "err", err)
		// Nobody could approve a request whose card was never posted: withdraw it
		// so it does not sit pending until it expires. The audit row before the
		// cancellation says why, so the trail does not read as if the requester
		// withdrew it.
		bg, cancel := detached(ctx)
		defer cancel()
		_ = s.audit(bg, approvals.Event{
			ActorID: systemActor.ID, ActorName: systemActor.Name, CorrelationID: correlationID, RequestID: created.ID,
			TenantID: created.TenantID, CustomerDomain: created.CustomerDomain, TargetObjectID: created.TargetObjectID, TargetUPN: created.TargetUPN,
			Outcome: approvals.OutcomeRefused, Detail: "approval card could not be posted to " + pol.ApprovalChannel + "; request withdrawn automatically",
		})
		if cancelled, cerr := s.store.Cancel(bg, created.ID, a.ID); cerr != nil {
			log.Error("withdraw unposted request failed", "err", cerr)
		} else {
			s.metrics.Decision("cancelled")
			s.announceRequest(cancelled, approvals.OutcomeCancelled, a, correlationID)
		}
		return Reply{Text: fmt.Sprintf("locksmith could not post to the approval channel <#%s>, so the request was withdrawn. Is locksmith a member of that channel? Tell your operator.", Escape(pol.ApprovalChannel, 20))}
	}
	if err := s.store.SetApprovalMessage(ctx, created.ID, ref.Channel, ref.TS); err != nil {
		// The buttons still work (they carry only the request ID); only later card
		// updates are lost.
		log.Error("record approval message failed", "err", err)
	}

	where := fmt.Sprintf("<#%s>", Escape(pol.ApprovalChannel, 20))
	if ref.Permalink != "" {
		where = fmt.Sprintf("<%s|the approval channel>", Escape(ref.Permalink, 300))
	}
	notice := Notice{
		Text: fmt.Sprintf(":hourglass_flowing_sand: Your request to reset the password of %s (*%s*) is waiting for approval in %s. It expires %s.",
			Escape(created.TargetUPN, 120), Escape(created.CustomerName, 100), where, slackTime(created.ExpiresAt)) + policyNote(created),
		CancelButton: created.ID,
	}
	if status != "" {
		// Flag a synced user before anything changes (docs/partner-center.md §6.2): the requester
		// may prefer to withdraw and reset on premises.
		notice.Text += "\n" + status
	}
	if lines := cardFacts(created); len(lines) > 0 {
		notice.Text += "\n" + strings.Join(lines, "\n")
	}
	if err := s.msg.Notify(ctx, a.ID, notice); err != nil {
		log.Error("pending notice failed", "err", err)
	}
	return Reply{Text: fmt.Sprintf("Request sent for approval in <#%s>. I'll DM you when someone decides; then you'll reset it with one click.", Escape(pol.ApprovalChannel, 20))}
}

// cardFor renders a request as the approval channel shows it.
func cardFor(r approvals.Request, status string, buttons bool) Card {
	c := Card{
		RequestID:    r.ID,
		RequesterID:  r.RequesterID,
		CustomerName: r.CustomerName, CustomerDomain: r.CustomerDomain, TenantID: r.TenantID,
		UserDisplayName: r.TargetDisplayName, UserPrincipalName: r.TargetUPN, UserObjectID: r.TargetObjectID,
		AdminRoles: r.TargetRoles, RoleNeeded: r.RoleNeeded,
		Reason:    r.Reason,
		ExpiresAt: r.ExpiresAt,
		Facts:     cardFacts(r),
		Status:    status,
		Buttons:   buttons,

		Ticket: r.Ticket, TicketURL: r.TicketURL,
	}
	if r.ApprovalsRequired > 1 {
		c.ApprovalsRequired = r.ApprovalsRequired
		for _, a := range r.Approvals {
			c.Approvers = append(c.Approvers, a.ApproverID)
		}
	}
	if r.PolicyName != policy.DefaultName {
		c.PolicyName = r.PolicyName
	}
	if r.BreakGlass {
		c.BreakGlass, c.Review, c.ReviewedBy = true, r.ReviewedAt.IsZero(), r.ReviewedBy
	}
	return c
}

// policyNote is what a DM adds about the policy: how many approvals are
// needed and the ticket, when there are.
func policyNote(r approvals.Request) string {
	note := ""
	if r.ApprovalsRequired > 1 {
		note += fmt.Sprintf(" It needs %d approvals from different people.", r.ApprovalsRequired)
	}
	if r.Ticket != "" {
		note += " Ticket: " + ticketText(r.Ticket, r.TicketURL) + "."
	}
	return note
}

// slackTime shows t in each reader's own time zone, with a UTC fallback for
// clients that cannot format dates.
func slackTime(t time.Time) string {
	return fmt.Sprintf("<!date^%d^{date_short_pretty} at {time}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04 UTC"))
}

// stateText says precisely why a click on a request that has moved on does
// nothing ("already approved by @bob at 10:02").
func stateText(r approvals.Request) string {
	by := ""
	if r.DeciderID != "" {
		by = fmt.Sprintf(" by <@%s>", Escape(r.DeciderID, 20))
	}
	switch r.State {
	case approvals.StatePending:
		return "This request is still waiting for approval."
	case approvals.StateApproved:
		return fmt.Sprintf("This request was already approved%s %s.", by, slackTime(r.DecidedAt))
	case approvals.StateDenied:
		return fmt.Sprintf("This request was already denied%s %s.", by, slackTime(r.DecidedAt))
	case approvals.StateCancelled:
		return fmt.Sprintf("This request was withdrawn%s %s.", by, slackTime(r.DecidedAt))
	case approvals.StateExpired:
		when := r.ExpiresAt
		if !r.UseBy.IsZero() {
			when = r.UseBy
		}
		return fmt.Sprintf("This request expired %s.", slackTime(when))
	case approvals.StateResetting:
		return "The reset for this request is in progress."
	case approvals.StateDone:
		return fmt.Sprintf("This request is finished: the password was reset %s.", slackTime(r.FinishedAt))
	case approvals.StateFailed:
		return fmt.Sprintf("This request failed %s: %s", slackTime(r.FinishedAt), Escape(r.Detail, 300))
	}
	return "This request can't be changed any more."
}
