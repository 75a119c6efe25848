package commands

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/messages"
	"github.com/locksmithbot/locksmith/partner"
	"github.com/locksmithbot/locksmith/policy"
)

// nudge sends the reminders and escalations that are due: a request still
// pending remind_after after it was made gets a reply in its card's thread
// mentioning its approvers; after escalate_after, escalate_to is asked too.
// Each is claimed in the store, and owed to the outbox in the claim's
// transaction, so of several replicas sweeping at once exactly one owes it,
// and nothing is owed for a request decided or expired meanwhile.
func (s *Service) nudge(ctx context.Context) error {
	pol := s.currentPolicy()
	waiting, err := s.store.Waiting(ctx)
	if err != nil {
		return fmt.Errorf("find waiting requests: %w", err)
	}
	now := s.now()
	// Nudges go to the card's thread, so they read like the card.
	cl := s.channelLang()
	for _, r := range waiting {
		rule, reply := pol.ruleOfRequest(s.channelLang(), r)
		if reply != "" {
			continue
		}
		log := s.log.With("request_id", r.ID, "correlation_id", r.CorrelationID, "sweep", true)
		if rule.RemindAfter > 0 && r.RemindedAt.IsZero() && !now.Before(r.CreatedAt.Add(rule.RemindAfter)) {
			who := principalsText(eligiblePrincipals(pol, rule, customerOf(r), partner.Role(r.RoleNeeded), r.RequesterID))
			text := texts.Text(cl, messages.NudgeReminder, nudgeData(cl, r, nil))
			if who != "" {
				text += " " + who
			}
			s.sendNudge(ctx, log, pol, r, approvals.NudgeRemind, fmt.Sprintf("pending for %s", rule.RemindAfter), text)
		}
		if rule.EscalateAfter > 0 && r.EscalatedAt.IsZero() && !now.Before(r.CreatedAt.Add(rule.EscalateAfter)) {
			text := texts.Text(cl, messages.NudgeEscalation, nudgeData(cl, r, messages.Data{
				"After": rule.EscalateAfter.String(), "Asked": principalsText(rule.EscalateTo)}))
			s.sendNudge(ctx, log, pol, r, approvals.NudgeEscalate, fmt.Sprintf("pending for %s; asked %s", rule.EscalateAfter, principalsPlain(rule.EscalateTo)), text)
		}
	}
	return nil
}

// sendNudge claims a nudge and, if this replica got it, owes it in the same
// transaction: a reply in the card's thread (see owedThread).
func (s *Service) sendNudge(ctx context.Context, log *slog.Logger, pol *Policy, r approvals.Request, n approvals.Nudge, detail, text string) {
	_, ok, err := s.store.ClaimNudge(ctx, r.ID, n, detail, func(u approvals.Request) []approvals.Message {
		return []approvals.Message{owedThread(u, pol, text)}
	})
	if err != nil {
		log.Error("claiming a nudge failed", "nudge", n, "err", err)
		return
	}
	if !ok {
		return // another replica sent it, or the request moved on
	}
	s.delivery.Kick() // the nudge and its audit row's line
}

// owedThread is text as a reply in the thread of r's card. It waits while
// the card itself is still owed, and goes to the approval channel when r has
// no card (the card was never posted). Paced with the channel like any post.
func owedThread(r approvals.Request, pol *Policy, text string) approvals.Message {
	channel := r.ApprovalChannel
	if channel == "" {
		channel = pol.ApprovalChannel
	}
	return approvals.Message{Kind: approvals.MessageThread, Channel: channel, RequestID: r.ID, Payload: mustJSON(outboxPayload{Text: text})}
}

func customerOf(r approvals.Request) partner.Customer {
	return partner.Customer{TenantID: r.TenantID, Domain: r.CustomerDomain, Name: r.CustomerName}
}

// nudgeData holds the values every nudge about r shows, plus extra.
func nudgeData(l messages.Lang, r approvals.Request, extra messages.Data) messages.Data {
	d := messages.Data{
		"Requester": Escape(r.RequesterID, 20), "User": Escape(r.TargetUPN, 120), "Customer": Escape(r.CustomerName, 100),
		"Progress": progressNote(l, r), "Expires": slackTime(l, r.ExpiresAt),
	}
	for k, v := range extra {
		d[k] = v
	}
	return d
}

// progressNote is " (1 of 2 approvals)" for a request needing several.
func progressNote(l messages.Lang, r approvals.Request) string {
	if r.ApprovalsRequired <= 1 {
		return ""
	}
	return texts.Text(l, messages.NudgeProgress, messages.Data{"Count": r.ApprovalsCount, "Required": r.ApprovalsRequired})
}

// principalsPlain lists IDs without mention markup, for the audit trail.
func principalsPlain(p policy.Principals) string {
	out := ""
	for _, id := range append(append([]string(nil), p.Users...), p.Usergroups...) {
		if out != "" {
			out += ", "
		}
		out += id
	}
	return out
}
