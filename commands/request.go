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

// requestApproval records a pending request with the approval card and the
// requester's notice it owes (the outbox sends them), and answers. Nothing in
// it is secret: the password is made only when the requester clicks "Reset
// password now" after approval.
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
	r.ApprovalChannel = pol.ApprovalChannel
	waiting, ok := s.admitCard(ctx, pol.ApprovalChannel, rule.ExpiresAfter)
	if !ok {
		// A burst the queue cannot absorb in time: refuse now, clearly, rather
		// than accept a request whose card could not be posted before it expires.
		log.Warn("approval channel queue full; request refused", "waiting", waiting)
		return Reply{Text: texts.Text(a.Lang, messages.ReplyQueueFull, messages.Data{"Channel": Escape(pol.ApprovalChannel, 20), "Waiting": waiting})}
	}
	cl := s.channelLang()
	status := ""
	if t.user.Synced() {
		status = syncedWarning(cl, t.user)
	}
	// The card and the requester's DM are owed in the transaction that
	// records the request: if locksmith stops right after, they still go out.
	// The DM waits for the card, whose permalink it carries.
	created, err := s.store.Create(ctx, r, func(c approvals.Request) []approvals.Message {
		return []approvals.Message{s.owedCard(c, status, true), s.pendingNotice(c, a, t)}
	})
	if err != nil {
		log.Error("create request failed", "err", err)
		return Reply{Text: texts.Text(a.Lang, messages.ReplyCreateFailed, nil)}
	}
	log = log.With("request_id", created.ID)
	s.announceRequest(created, approvals.OutcomeRequested, a, correlationID)

	switch s.cardOutcome(ctx, created.ID, waiting) {
	case "abandoned":
		// Slack refused the card for good: the deliverer withdrew the request
		// (nobody could approve it) and told the requester.
		return Reply{Text: texts.Text(a.Lang, messages.ReplyCardFailed, messages.Data{"Channel": Escape(pol.ApprovalChannel, 20)})}
	case "queued":
		return Reply{Text: texts.Text(a.Lang, messages.ReplyQueued, messages.Data{"Channel": Escape(pol.ApprovalChannel, 20)})}
	}
	return Reply{Text: texts.Text(a.Lang, messages.ReplySent, messages.Data{"Channel": Escape(pol.ApprovalChannel, 20)})}
}

// pendingNotice is the requester's DM about their new request c, sent once
// its card is posted, with a link to it.
func (s *Service) pendingNotice(c approvals.Request, a actor, t target) approvals.Message {
	notice := Notice{
		Lang: a.Lang,
		Text: texts.Text(a.Lang, messages.NoticePending, messages.Data{
			"User": Escape(c.TargetUPN, 120), "Customer": Escape(c.CustomerName, 100),
			"Where": cardMarker, "Expires": slackTime(a.Lang, c.ExpiresAt)}) + policyNote(c),
		CancelButton: c.ID,
	}
	if t.user.Synced() {
		// Flag a synced user before anything changes (docs/partner-center.md §6.2): the requester
		// may prefer to withdraw and reset on premises.
		notice.Text += "\n" + syncedWarning(a.Lang, t.user)
	}
	if lines := cardFacts(a.Lang, c); len(lines) > 0 {
		notice.Text += "\n" + strings.Join(lines, "\n")
	}
	link := &cardLink{
		Linked:   texts.Text(a.Lang, messages.NoticeChannelLink, messages.Data{"URL": urlMarker}),
		Unlinked: fmt.Sprintf("<#%s>", Escape(c.ApprovalChannel, 20)),
	}
	return approvals.Message{Kind: approvals.MessageDM, Channel: c.RequesterID, RequestID: c.ID, AfterPrevious: true,
		Payload: mustJSON(outboxPayload{Notice: &notice, Link: link})}
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
