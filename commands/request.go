package commands

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/messages"
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
		return Reply{Text: texts.Text(a.Lang, messages.ReplyCreateFailed, nil)}
	}
	log = log.With("request_id", created.ID)
	s.announceRequest(created, approvals.OutcomeRequested, a, correlationID)

	status := ""
	if t.user.Synced() {
		status = syncedWarning(s.channelLang(), t.user)
	}
	ref, err := s.msg.PostApproval(ctx, pol.ApprovalChannel, s.cardFor(created, status, true))
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
		return Reply{Text: texts.Text(a.Lang, messages.ReplyCardFailed, messages.Data{"Channel": Escape(pol.ApprovalChannel, 20)})}
	}
	if err := s.store.SetApprovalMessage(ctx, created.ID, ref.Channel, ref.TS); err != nil {
		// The buttons still work (they carry only the request ID); only later card
		// updates are lost.
		log.Error("record approval message failed", "err", err)
	}

	where := fmt.Sprintf("<#%s>", Escape(pol.ApprovalChannel, 20))
	if ref.Permalink != "" {
		where = texts.Text(a.Lang, messages.NoticeChannelLink, messages.Data{"URL": Escape(ref.Permalink, 300)})
	}
	notice := Notice{
		Lang: a.Lang,
		Text: texts.Text(a.Lang, messages.NoticePending, messages.Data{
			"User": Escape(created.TargetUPN, 120), "Customer": Escape(created.CustomerName, 100),
			"Where": where, "Expires": slackTime(a.Lang, created.ExpiresAt)}) + policyNote(created),
		CancelButton: created.ID,
	}
	if t.user.Synced() {
		// Flag a synced user before anything changes (docs/partner-center.md §6.2): the requester
		// may prefer to withdraw and reset on premises.
		notice.Text += "\n" + syncedWarning(a.Lang, t.user)
	}
	if lines := cardFacts(a.Lang, created); len(lines) > 0 {
		notice.Text += "\n" + strings.Join(lines, "\n")
	}
	if err := s.msg.Notify(ctx, a.ID, notice); err != nil {
		log.Error("pending notice failed", "err", err)
	}
	return Reply{Text: texts.Text(a.Lang, messages.ReplySent, messages.Data{"Channel": Escape(pol.ApprovalChannel, 20)})}
}

// cardFor renders a request as the approval channel shows it, in the
// channel's language.
func (s *Service) cardFor(r approvals.Request, status string, buttons bool) Card {
	c := Card{
		Lang:         s.channelLang(),
		RequestID:    r.ID,
		RequesterID:  r.RequesterID,
		CustomerName: r.CustomerName, CustomerDomain: r.CustomerDomain, TenantID: r.TenantID,
		UserDisplayName: r.TargetDisplayName, UserPrincipalName: r.TargetUPN, UserObjectID: r.TargetObjectID,
		AdminRoles: r.TargetRoles, RoleNeeded: r.RoleNeeded,
		Reason:    r.Reason,
		ExpiresAt: r.ExpiresAt,
		Facts:     cardFacts(s.channelLang(), r),
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

// slackTime shows t in each reader's own time zone and language, with a UTC
// fallback for clients that cannot format dates.
func slackTime(lang messages.Lang, t time.Time) string {
	return texts.Date(lang, messages.DateAt, t)
}

// stateText says precisely why a click on a request that has moved on does
// nothing ("already approved by @bob at 10:02").
func stateText(lang messages.Lang, r approvals.Request) string {
	d := messages.Data{}
	if r.DeciderID != "" {
		d["Decider"] = Escape(r.DeciderID, 20)
	}
	var id messages.ID
	switch r.State {
	case approvals.StatePending:
		id = messages.StatePending
	case approvals.StateApproved:
		id, d["When"] = messages.StateApproved, slackTime(lang, r.DecidedAt)
	case approvals.StateDenied:
		id, d["When"] = messages.StateDenied, slackTime(lang, r.DecidedAt)
	case approvals.StateCancelled:
		id, d["When"] = messages.StateWithdrawn, slackTime(lang, r.DecidedAt)
	case approvals.StateExpired:
		when := r.ExpiresAt
		if !r.UseBy.IsZero() {
			when = r.UseBy
		}
		id, d["When"] = messages.StateExpired, slackTime(lang, when)
	case approvals.StateResetting:
		id = messages.StateResetting
	case approvals.StateDone:
		id, d["When"] = messages.StateDone, slackTime(lang, r.FinishedAt)
	case approvals.StateFailed:
		id, d["When"], d["Detail"] = messages.StateFailed, slackTime(lang, r.FinishedAt), Escape(r.Detail, 300)
	default:
		id = messages.StateFinal
	}
	return texts.Text(lang, id, d)
}
