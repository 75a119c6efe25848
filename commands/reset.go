package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/messages"
	"github.com/locksmithbot/locksmith/partner"
)

// errGeneratePassword marks a failure before Partner Center was called: nothing
// changed, so an approval is kept.
var errGeneratePassword = errors.New("generate password")

// resetOutcome is what happened to one reset attempt.
type resetOutcome struct {
	err       error // Partner Center (or password generation) failure; nil when the password was set
	delivered bool  // the ephemeral DM was accepted by Slack
}

// setAndDeliver generates a password, has Partner Center set it (the user must
// change it at next sign-in) and hands it to the requester by ephemeral DM. The
// password lives only in this function's frame: it is never returned, logged or
// stored (guarantee 1 in docs/architecture.md).
func (s *Service) setAndDeliver(ctx context.Context, log *slog.Logger, pol *Policy, requester actor, c partner.Customer, u partner.User) resetOutcome {
	pw, err := s.genPW(pol.PasswordLength)
	if err != nil {
		return resetOutcome{err: fmt.Errorf("%w: %w", errGeneratePassword, err)}
	}
	// From here on the password may change: shutdown must not cut this short.
	ctx, cancel, err := pointOfNoReturn(ctx)
	if err != nil {
		return resetOutcome{err: err}
	}
	defer cancel()
	if err := s.pc.ResetPassword(ctx, c.TenantID, u.ObjectID, pw); err != nil {
		return resetOutcome{err: err}
	}
	d := Delivery{Password: pw, UserPrincipalName: u.UserPrincipalName, UserDisplayName: u.DisplayName, CustomerName: c.Name, Lang: requester.Lang}
	// The password must reach Slack even if the slash command's own deadline is
	// nearly spent: Partner Center has already changed it.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 45*time.Second)
	defer cancel()
	if err := s.msg.DeliverPassword(dctx, requester.ID, d); err != nil {
		log.Error("password delivery failed", "err", err)
		return resetOutcome{}
	}
	return resetOutcome{delivered: true}
}

// resetWithoutApproval is the approval.required: false flow: audit the intent,
// reset, deliver, audit the outcome.
func (s *Service) resetWithoutApproval(ctx context.Context, log *slog.Logger, pol *Policy, a actor, correlationID string, c partner.Customer, t target, reason string) Reply {
	base := approvals.Event{
		ActorID: a.ID, ActorName: a.Name, CorrelationID: correlationID,
		TenantID: c.TenantID, CustomerDomain: c.Domain, TargetObjectID: t.user.ObjectID, TargetUPN: t.user.UserPrincipalName,
	}
	intent := base
	intent.Outcome, intent.Detail = approvals.OutcomeResetIntent, "without sign-off; reason: "+reason
	// Guarantee 2: no Partner Center write without a durable record of the intent.
	if err := s.audit(ctx, intent); err != nil {
		return Reply{Text: texts.Text(a.Lang, messages.ReplyIntentAuditFailed, nil)}
	}

	out := s.setAndDeliver(ctx, log, pol, a, c, t.user)
	result := base
	switch {
	case out.err != nil && classifyResetFailure(out.err) == maybeApplied:
		log.Error("reset not confirmed; outcome unknown", "err", out.err)
		s.metrics.Reset("unknown")
		result.Outcome, result.Detail = approvals.OutcomeResetUnknown, "outcome unknown: "+partnerDetail(out.err)
		s.recordOutcome(ctx, result)
		return Reply{Text: texts.Text(a.Lang, messages.ReplyDirectUnconfirmed, messages.Data{
			"User": Escape(t.user.UserPrincipalName, 120), "Problem": partnerProblem(ctx, a.Lang, out.err)})}
	case out.err != nil:
		log.Error("reset failed", "err", out.err)
		s.metrics.Reset("failed")
		result.Outcome, result.Detail = approvals.OutcomeResetFailed, partnerDetail(out.err)
		s.recordOutcome(ctx, result)
		return Reply{Text: texts.Text(a.Lang, messages.ReplyDirectFailed, messages.Data{
			"User": Escape(t.user.UserPrincipalName, 120), "Problem": partnerProblem(ctx, a.Lang, out.err)})}
	case !out.delivered:
		s.metrics.Reset("delivery_failed")
		result.Outcome, result.Detail = approvals.OutcomeDeliveryFailed, "password set in Partner Center but the ephemeral DM failed; the password is gone"
		// The reply may not reach them either (the ephemeral DM just failed):
		// a notice is owed with the outcome row.
		s.recordOutcome(ctx, result, approvals.Message{Kind: approvals.MessageDM, Channel: a.ID,
			Payload: mustJSON(outboxPayload{Notice: &Notice{Lang: a.Lang, Text: lostPasswordText(a.Lang, t.user)}})})
		return Reply{Text: lostPasswordText(a.Lang, t.user)}
	}
	s.metrics.Reset("done")
	result.Outcome, result.Detail = approvals.OutcomeResetDone, "temporary password delivered by ephemeral DM; change required at next sign-in"
	s.recordOutcome(ctx, result)
	return Reply{Text: texts.Text(a.Lang, messages.ReplyDirectDone, messages.Data{
		"User": Escape(t.user.UserPrincipalName, 120), "Customer": Escape(c.Name, 100)})}
}

func lostPasswordText(lang messages.Lang, u partner.User) string {
	return texts.Text(lang, messages.NoticePasswordLost, messages.Data{"User": Escape(u.UserPrincipalName, 120)})
}

// recordOutcome appends an outcome row after Partner Center has acted. If the
// store refuses, the reset still happened: the row is spooled and retried so
// the trail catches up as soon as the store allows (guarantee 2 covers the
// intent; this covers the result).
//
// owed are the Slack messages the outcome owes (a recipe's notice), written
// with the row. If the row must be spooled, they are owed on their own, so
// the requester still hears.
func (s *Service) recordOutcome(ctx context.Context, e approvals.Event, owed ...approvals.Message) {
	actx, cancel := detached(ctx)
	defer cancel()
	if err := s.audit(actx, e, owed...); err == nil {
		return
	}
	if len(owed) > 0 {
		s.enqueue(actx, s.log.With("correlation_id", e.CorrelationID), owed...)
	}
	s.late(LateWrite{CorrelationID: e.CorrelationID, Event: &e})
}
