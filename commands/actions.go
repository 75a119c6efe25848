package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"unicode/utf8"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/messages"
	"github.com/locksmithbot/locksmith/partner"
	"github.com/locksmithbot/locksmith/policy"
)

// Action handles a button click. Everything is reloaded from the store and
// re-checked against the policy as it is now: the button carries only the ID.
func (s *Service) Action(ctx context.Context, in Action) Reply {
	ctx, cancel := context.WithTimeout(ctx, s.opTimeout)
	defer cancel()
	ctx = partner.WithCorrelationID(ctx, in.CorrelationID)
	log := s.requestLog(in.CorrelationID, in.UserID).With("request_id", in.RequestID, "action", in.Kind)
	pol := s.currentPolicy()
	lang := s.langOf(ctx, in.UserID)

	req, err := s.store.Get(ctx, in.RequestID)
	if errors.Is(err, approvals.ErrNotFound) {
		return Reply{Text: texts.Text(lang, messages.ReplyRequestGone, nil)}
	}
	if err != nil {
		log.Error("load request failed", "err", err)
		return Reply{Text: texts.Text(lang, messages.ReplyLoadFailed, nil)}
	}
	a := s.actorFor(ctx, in.UserID, in.UserName)
	a.Lang = lang
	if req.ApprovalTS == "" && in.MessageTS != "" && (in.Kind == ActionApprove || in.Kind == ActionDeny) {
		// A click on the card that beat SetApprovalMessage (it is recorded just
		// after chat.postMessage returns): the click says where the card is, so
		// the card can still be updated after the decision.
		if err := s.store.SetApprovalMessage(ctx, req.ID, in.ChannelID, in.MessageTS); err != nil {
			log.Warn("record approval message from a click failed", "err", err)
		}
		req.ApprovalChannel, req.ApprovalTS = in.ChannelID, in.MessageTS
	}
	switch in.Kind {
	case ActionApprove, ActionDeny:
		return s.decide(ctx, log, pol, a, in, req)
	case ActionCancel:
		return s.withdraw(ctx, log, a, req)
	case ActionReset, ActionTAP:
		return s.resetNow(ctx, log, pol, a, in, req)
	case ActionReview:
		return s.review(ctx, log, pol, a, in, req)
	case ActionRevoke, ActionEnable:
		return s.runRecipe(ctx, log, pol, a, in, req)
	}
	return Reply{Text: texts.Text(lang, messages.ReplyUnknownButton, nil)}
}

func (s *Service) refuseOnRequest(ctx context.Context, a actor, correlationID string, r approvals.Request, why string) {
	s.metrics.Reset("refused")
	_ = s.audit(ctx, approvals.Event{
		ActorID: a.ID, ActorName: a.Name, CorrelationID: correlationID, RequestID: r.ID,
		TenantID: r.TenantID, CustomerDomain: r.CustomerDomain, TargetObjectID: r.TargetObjectID, TargetUPN: r.TargetUPN,
		Outcome: approvals.OutcomeRefused, Detail: why,
	})
}

// decide handles Approve and Deny. The deciding person must not be the requester
// and must be eligible under the request's policy (mayDecide); the store
// enforces requester ≠ decider again inside its transaction, and counts each
// person's approval once.
func (s *Service) decide(ctx context.Context, log *slog.Logger, pol *Policy, a actor, in Action, req approvals.Request) Reply {
	verb := "approve"
	if in.Kind == ActionDeny {
		verb = "deny"
	}
	if a.ID != req.RequesterID && req.State != approvals.StatePending {
		return Reply{Text: stateText(a.Lang, req)}
	}
	rule, reply, ok := s.checkDecider(ctx, log, pol, a, in, req, verb)
	if !ok {
		return reply
	}

	if in.Kind == ActionApprove && req.Recipes != nil {
		// An approval that covers more than the reset (Graph recipes) needs
		// grants that allow each of them.
		held, err := s.grantsNaming(ctx, pol.Grants, a.ID)
		if err != nil {
			log.Error("grant check failed", "err", err)
			return Reply{Text: permissionProblem(a.Lang, err, messages.ReplyDeciderCheckFailed)}
		}
		if missing := approverCovers(held, customerOf(req), partner.Role(req.RoleNeeded), req); len(missing) > 0 {
			s.refuseOnRequest(ctx, a, in.CorrelationID, req, "approver's grants do not allow "+recipesPhrase(messages.English, missing))
			return Reply{Text: texts.Text(a.Lang, messages.RecipeApproverNotCovered, messages.Data{
				"Recipes": recipesPhrase(a.Lang, missing), "Customer": Escape(req.CustomerName, 100)})}
		}
	}
	if in.Kind == ActionDeny {
		return s.deny(ctx, log, a, in, req, denyReason(in.Reason))
	}
	// What the approval owes (the card, the requester's DM with the Reset
	// button or the progress) is written with it: a crash right after the
	// commit cannot lose the only place the Reset button appears.
	cl, rl := s.channelLang(), s.langOf(ctx, req.RequesterID)
	updated, err := s.store.Approve(ctx, req.ID, a.ID, a.Name, s.now().Add(rule.UseWithin), func(u approvals.Request) []approvals.Message {
		return s.approvalMessages(u, a, cl, rl)
	})
	if errors.Is(err, approvals.ErrAlreadyApproved) {
		cur, gerr := s.store.Get(ctx, req.ID)
		if gerr != nil {
			cur = req
		}
		return Reply{Text: texts.Text(a.Lang, messages.ApprovalAlreadyYours, progressData(cur))}
	}
	if reply, handled := s.transitionFailed(ctx, log, a.Lang, err); handled {
		return reply
	}
	if updated.State == approvals.StatePending {
		s.announceRequest(updated, approvals.OutcomeApprovalRecorded, a, in.CorrelationID)
		reply := progressData(updated)
		reply["Requester"] = Escape(updated.RequesterID, 20)
		return Reply{Text: texts.Text(a.Lang, messages.ApprovalRecorded, reply)}
	}
	s.announceRequest(updated, approvals.OutcomeApproved, a, in.CorrelationID)
	s.metrics.Decision("approved")
	return Reply{Text: texts.Text(a.Lang, messages.ReplyApproved, messages.Data{
		"Requester": Escape(updated.RequesterID, 20), "User": Escape(updated.TargetUPN, 120)})}
}

// approvalMessages is what an approval owes, given the request as the
// approval left it: with approvals still missing, the card's progress (its
// buttons kept) and a DM to the requester; once approved, the card without
// buttons and the requester's DM with the Reset button.
func (s *Service) approvalMessages(u approvals.Request, a actor, cl, rl messages.Lang) []approvals.Message {
	if u.State == approvals.StatePending {
		notice := progressData(u)
		notice["Approver"], notice["User"], notice["Customer"] = Escape(a.ID, 20), Escape(u.TargetUPN, 120), Escape(u.CustomerName, 100)
		return []approvals.Message{s.updatePendingCard(u), owedDM(u, u.RequesterID, Notice{
			Lang:         rl,
			Text:         texts.Text(rl, messages.ApprovalProgressNotice, notice),
			CancelButton: u.ID,
		})}
	}
	by := fmt.Sprintf("<@%s>", Escape(a.ID, 20))
	if len(u.Approvals) > 1 {
		by = approverList(u.Approvals)
	}
	return []approvals.Message{
		s.owedCard(u, texts.Text(cl, messages.StatusApproved, messages.Data{"Deciders": by, "When": slackTime(cl, u.DecidedAt)}), false),
		owedOffer(u, withRecipes(Notice{
			Lang: rl,
			Text: texts.Text(rl, messages.NoticeApproved, messages.Data{
				"Approvers": by, "User": Escape(u.TargetUPN, 120), "Customer": Escape(u.CustomerName, 100),
				"UseBy": slackTime(rl, u.UseBy)}),
			ResetButton: u.ID,
			ValidUntil:  u.UseBy,
		}, u)),
	}
}

// checkDecider finds req's rule and checks that a may decide (verb) under
// it; a refusal is audited. ok is false with the reply when they may not.
func (s *Service) checkDecider(ctx context.Context, log *slog.Logger, pol *Policy, a actor, in Action, req approvals.Request, verb string) (policy.Rule, Reply, bool) {
	rule, reply := pol.ruleOfRequest(a.Lang, req)
	if reply != "" {
		return rule, Reply{Text: reply}, false
	}
	el, err := s.mayDecide(ctx, pol, rule, req, a.ID, verb)
	if err != nil {
		log.Error("grant check failed", "err", err)
		if errors.As(err, new(*AccountError)) {
			s.refuseOnRequest(ctx, a, in.CorrelationID, req, err.Error())
		}
		return rule, Reply{Text: permissionProblem(a.Lang, err, messages.ReplyDeciderCheckFailed)}, false
	}
	if !el.ok {
		s.refuseOnRequest(ctx, a, in.CorrelationID, req, el.why)
		return rule, Reply{Text: el.text}, false
	}
	return rule, Reply{}, true
}

// deny ends a pending request; reason (possibly empty) reaches the requester
// and the audit trail.
func (s *Service) deny(ctx context.Context, log *slog.Logger, a actor, in Action, req approvals.Request, reason string) Reply {
	because := ""
	if reason != "" {
		because = ": " + Escape(reason, maxDenyReason)
	}
	cl, rl := s.channelLang(), s.langOf(ctx, req.RequesterID)
	updated, err := s.store.Deny(ctx, req.ID, a.ID, a.Name, reason, func(u approvals.Request) []approvals.Message {
		return []approvals.Message{
			s.owedCard(u, texts.Text(cl, messages.StatusDenied, messages.Data{"Decider": Escape(a.ID, 20), "When": slackTime(cl, u.DecidedAt), "Because": because}), false),
			owedDM(u, u.RequesterID, Notice{
				Lang: rl,
				Text: texts.Text(rl, messages.NoticeDenied, messages.Data{
					"Decider": Escape(a.ID, 20), "User": Escape(u.TargetUPN, 120), "Customer": Escape(u.CustomerName, 100), "Because": because}),
			}),
		}
	})
	if reply, handled := s.transitionFailed(ctx, log, a.Lang, err); handled {
		return reply
	}
	s.announceRequest(updated, approvals.OutcomeDenied, a, in.CorrelationID)
	s.metrics.Decision("denied")
	return Reply{Text: texts.Text(a.Lang, messages.ReplyDenied, messages.Data{"Requester": Escape(updated.RequesterID, 20)})}
}

// approverList is "<@U1> and <@U2>" for the approvals of a request.
func approverList(as []approvals.Approval) string {
	out := ""
	for i, ap := range as {
		switch {
		case i == 0:
		case i == len(as)-1:
			out += " and "
		default:
			out += ", "
		}
		out += fmt.Sprintf("<@%s>", Escape(ap.ApproverID, 20))
	}
	return out
}

// withdraw lets the requester cancel their own pending request.
func (s *Service) withdraw(ctx context.Context, log *slog.Logger, a actor, req approvals.Request) Reply {
	if a.ID != req.RequesterID {
		return Reply{Text: texts.Text(a.Lang, messages.ReplyWithdrawNotRequester, messages.Data{"Requester": Escape(req.RequesterID, 20)})}
	}
	cl := s.channelLang()
	updated, err := s.store.Cancel(ctx, req.ID, a.ID, func(u approvals.Request) []approvals.Message {
		return []approvals.Message{s.owedCard(u, texts.Text(cl, messages.StatusWithdrawn, messages.Data{"Decider": Escape(a.ID, 20), "When": slackTime(cl, u.DecidedAt)}), false)}
	})
	if reply, handled := s.transitionFailed(ctx, log, a.Lang, err); handled {
		return reply
	}
	s.metrics.Decision("cancelled")
	s.announceRequest(updated, approvals.OutcomeCancelled, a, req.CorrelationID)
	return Reply{Text: texts.Text(a.Lang, messages.ReplyWithdrawn, nil)}
}

// resetNow is "Reset password now": only the requester, only while approved and
// within use_within, with grants and the target's roles checked again now.
func (s *Service) resetNow(ctx context.Context, log *slog.Logger, pol *Policy, a actor, in Action, req approvals.Request) Reply {
	if a.ID != req.RequesterID {
		s.refuseOnRequest(ctx, a, in.CorrelationID, req, "someone other than the requester clicked Reset password now")
		return Reply{Text: texts.Text(a.Lang, messages.ReplyResetNotRequester, messages.Data{"Requester": Escape(req.RequesterID, 20)})}
	}
	if req.State != approvals.StateApproved {
		return Reply{Text: stateText(a.Lang, req)}
	}
	if reply, ok := s.recipeAllowedNow(ctx, pol, a, in.Kind, req); !ok {
		s.refuseOnRequest(ctx, a, in.CorrelationID, req, "recipe "+string(recipeFor[in.Kind])+" not allowed now")
		return Reply{Text: reply}
	}
	customer := partner.Customer{TenantID: req.TenantID, Domain: req.CustomerDomain, Name: req.CustomerName}
	acc, err := s.accessFor(ctx, pol.Grants, a.ID, &customer)
	if err != nil {
		log.Error("grant check failed", "err", err)
		if errors.As(err, new(*AccountError)) {
			s.refuseOnRequest(ctx, a, in.CorrelationID, req, err.Error())
		}
		return Reply{Text: permissionProblem(a.Lang, err, messages.ReplyResetCheckFailed)}
	}
	// Guarantee 4: reset exactly what was approved. If the target gained a
	// stronger admin role since approval, the approval no longer covers them.
	roles, err := s.pc.UserRoles(ctx, req.TenantID, req.TargetObjectID)
	if err != nil {
		log.Error("directory roles re-check failed", "err", err)
		return Reply{Text: texts.Text(a.Lang, messages.ReplyRolesRecheckFailed, messages.Data{"Problem": partnerProblem(ctx, a.Lang, err)})}
	}
	need, refusal, why := s.needNow(ctx, pol, req, roles)
	if refusal != "" {
		s.refuseOnRequest(ctx, a, in.CorrelationID, req, why)
		return Reply{Text: refusal}
	}
	if roleRank(need) > roleRank(partner.Role(req.RoleNeeded)) {
		s.refuseOnRequest(ctx, a, in.CorrelationID, req, fmt.Sprintf("target's roles changed since approval: now needs %s", need))
		return Reply{Text: texts.Text(a.Lang, messages.ReplyTargetGainedRole, messages.Data{"User": Escape(req.TargetUPN, 120), "Need": roleName(a.Lang, need)})}
	}
	if !acc.allows(need) {
		s.refuseOnRequest(ctx, a, in.CorrelationID, req, fmt.Sprintf("requester no longer holds %s", need))
		return Reply{Text: texts.Text(a.Lang, messages.ReplyRequesterLostGrant, messages.Data{"Need": roleName(a.Lang, need), "Customer": Escape(req.CustomerName, 100)})}
	}
	// Each approval counts only while its approver could still give it: a grant
	// removed since (someone left the helpdesk group) takes the approval with it.
	// A break-glass reset was approved by nobody: trying it again counts only
	// while its requester may still reset without approval.
	if req.BreakGlass {
		if reply, ok := s.breakGlassStillAllowed(ctx, log, pol, a, in, req); !ok {
			return reply
		}
	} else if reply, ok := s.approvalsStillCount(ctx, log, pol, a, in, req); !ok {
		return reply
	}

	return s.claimAndReset(ctx, log, pol, a, in, req)
}

// claimAndReset claims an approved request for its requester, sets the
// password, delivers it and records the outcome.
func (s *Service) claimAndReset(ctx context.Context, log *slog.Logger, pol *Policy, a actor, in Action, req approvals.Request) Reply {
	correlationID := in.CorrelationID
	customer := customerOf(req)
	// Claim the request and record the intent in one transaction (guarantees 2
	// and 3): of two clicks or two replicas exactly one gets here.
	claimed, err := s.store.ClaimReset(ctx, req.ID, a.ID, correlationID)
	if reply, handled := s.transitionFailed(ctx, log, a.Lang, err); handled {
		if err != nil && !errors.Is(err, approvals.ErrConflict) && !errors.Is(err, approvals.ErrNotRequester) && !errors.Is(err, approvals.ErrNotFound) {
			s.metrics.AuditWriteFailed()
			return Reply{Text: texts.Text(a.Lang, messages.ReplyClaimAuditFailed, nil)}
		}
		return reply
	}
	s.announceRequest(claimed, approvals.OutcomeResetIntent, a, correlationID)

	target := partner.User{ObjectID: claimed.TargetObjectID, UserPrincipalName: claimed.TargetUPN, DisplayName: claimed.TargetDisplayName}
	if in.Kind == ActionTAP {
		return s.afterTAP(ctx, log, a, in, claimed, s.issueTAP(ctx, log, pol, a.ID, customer, target))
	}
	out := s.setAndDeliver(ctx, log, pol, a, customer, target)
	switch {
	case out.err != nil && classifyResetFailure(out.err) != refused:
		// Keep the approval: nothing changed, or the outcome is unknown and a new
		// attempt (a new password) is the way to a known state.
		unknown := classifyResetFailure(out.err) == maybeApplied
		detail := partnerDetail(out.err)
		if unknown {
			detail = "outcome unknown: " + detail
		}
		log.Warn("reset not confirmed; approval kept", "err", out.err, "outcome_unknown", unknown)
		s.metrics.Reset("failed")
		rctx, cancel := detached(ctx)
		_, rerr := s.store.ReleaseReset(rctx, claimed.ID, detail, func(u approvals.Request) []approvals.Message {
			if !u.BreakGlass {
				return nil // the requester already holds the DM with the button
			}
			// A break-glass reset never had an offer DM: the button to try
			// again is owed with the approval it gives back. Only the
			// requester can reset, so a is the requester.
			return []approvals.Message{owedOffer(u, Notice{Lang: a.Lang,
				Text: texts.Text(a.Lang, messages.BreakGlassIncomplete, messages.Data{
					"User": Escape(u.TargetUPN, 120), "Customer": Escape(u.CustomerName, 100)}),
				ResetButton: u.ID, ValidUntil: u.UseBy})}
		})
		cancel()
		problem := messages.Data{"Problem": partnerProblem(ctx, a.Lang, out.err)}
		what := texts.Text(a.Lang, messages.ResetNotReset, problem)
		if unknown {
			what = texts.Text(a.Lang, messages.ResetUnconfirmed, problem)
		}
		if rerr != nil {
			log.Error("release after a failed reset failed", "err", rerr)
			return Reply{Text: texts.Text(a.Lang, messages.ResetReopenFailed, messages.Data{"What": what})}
		}
		return Reply{Text: texts.Text(a.Lang, messages.ResetApprovalStands, messages.Data{"What": what, "UseBy": slackTime(a.Lang, claimed.UseBy)})}
	case out.err != nil:
		log.Error("reset failed", "err", out.err)
		s.metrics.Reset("failed")
		cl := s.channelLang()
		cardStatus := texts.Text(cl, messages.StatusFailed, messages.Data{"Problem": partnerProblem(ctx, cl, out.err)})
		problem := partnerProblem(ctx, a.Lang, out.err)
		s.finish(ctx, log, claimed, approvals.StateFailed, partnerDetail(out.err), a, correlationID, func(u approvals.Request) []approvals.Message {
			return []approvals.Message{s.owedCard(u, cardStatus, false), owedDM(u, u.RequesterID, Notice{Lang: a.Lang, Text: texts.Text(a.Lang, messages.NoticeFailed, messages.Data{
				"User": Escape(u.TargetUPN, 120), "Problem": problem})})}
		})
		return Reply{Text: texts.Text(a.Lang, messages.ReplyFailed, messages.Data{"Problem": problem})}
	case !out.delivered:
		s.metrics.Reset("delivery_failed")
		s.finish(ctx, log, claimed, approvals.StateDone, "password set in Partner Center; ephemeral DM failed, password lost", a, correlationID, func(u approvals.Request) []approvals.Message {
			return []approvals.Message{s.owedCard(u, texts.Text(s.channelLang(), messages.StatusDeliveryFailed, nil), false),
				owedDM(u, u.RequesterID, Notice{Lang: a.Lang, Text: lostPasswordText(a.Lang, target)})}
		})
		s.recordOutcome(ctx, approvals.Event{
			ActorID: a.ID, ActorName: a.Name, CorrelationID: correlationID, RequestID: claimed.ID,
			TenantID: claimed.TenantID, CustomerDomain: claimed.CustomerDomain, TargetObjectID: claimed.TargetObjectID, TargetUPN: claimed.TargetUPN,
			Outcome: approvals.OutcomeDeliveryFailed, Detail: "the ephemeral DM failed; the password is gone",
		})
		return Reply{Text: lostPasswordText(a.Lang, target)}
	}
	s.metrics.Reset("done")
	cl := s.channelLang()
	s.finish(ctx, log, claimed, approvals.StateDone, "temporary password delivered by ephemeral DM; change required at next sign-in", a, correlationID, func(u approvals.Request) []approvals.Message {
		done := u.FinishedAt
		return []approvals.Message{
			s.owedCard(u, texts.Text(cl, messages.StatusDone, messages.Data{"Requester": Escape(a.ID, 20), "When": slackTime(cl, done)}), false),
			owedDM(u, u.RequesterID, followUps(Notice{Lang: a.Lang, Text: texts.Text(a.Lang, messages.NoticeDone, messages.Data{
				"User": Escape(u.TargetUPN, 120), "Customer": Escape(u.CustomerName, 100), "When": slackTime(a.Lang, done)})}, u)),
		}
	})
	return Reply{Text: texts.Text(a.Lang, messages.ReplyDone, nil)}
}

// approvalsStillCount re-checks every approver of req under the policy as it
// is now. ok is false (with the reply) when one of them no longer may approve.
func (s *Service) approvalsStillCount(ctx context.Context, log *slog.Logger, pol *Policy, a actor, in Action, req approvals.Request) (Reply, bool) {
	rule, reply := pol.ruleOfRequest(a.Lang, req)
	if reply != "" {
		return Reply{Text: reply}, false
	}
	approvers := req.Approvals
	if len(approvers) == 0 && req.DeciderID != "" {
		approvers = []approvals.Approval{{ApproverID: req.DeciderID}}
	}
	for _, ap := range approvers {
		el, err := s.mayDecide(ctx, pol, rule, req, ap.ApproverID, "approve")
		var approverAccount *AccountError
		if errors.As(err, &approverAccount) {
			s.refuseOnRequest(ctx, a, in.CorrelationID, req, "approver's "+err.Error())
			return Reply{Text: texts.Text(a.Lang, messages.ApprovalAccountLost, messages.Data{
				"Approver": Escape(ap.ApproverID, 20), "Problem": accountProblem(a.Lang, approverAccount.Problem)})}, false
		}
		if err != nil {
			log.Error("grant check failed", "err", err)
			return Reply{Text: texts.Text(a.Lang, messages.ApprovalRecheckFailed, nil)}, false
		}
		if !el.ok {
			s.refuseOnRequest(ctx, a, in.CorrelationID, req, fmt.Sprintf("approver %s no longer may approve: %s", ap.ApproverID, el.why))
			return Reply{Text: texts.Text(a.Lang, messages.ApprovalNoLongerCounts, messages.Data{
				"Approver": Escape(ap.ApproverID, 20), "Need": roleName(a.Lang, partner.Role(req.RoleNeeded)), "Customer": Escape(req.CustomerName, 100)})}, false
		}
	}
	return Reply{}, true
}

// maxDenyReason bounds a denial's reason (the form allows as much).
const maxDenyReason = 500

// denyReason is the reason as kept: whitespace collapsed to single spaces,
// at most maxDenyReason characters. It is escaped wherever it is shown.
func denyReason(r string) string {
	r = strings.Join(strings.Fields(r), " ")
	if utf8.RuneCountInString(r) > maxDenyReason {
		r = string([]rune(r)[:maxDenyReason])
	}
	return r
}

// progressData holds a multi-approval request's progress: Count approvals of
// Required.
func progressData(r approvals.Request) messages.Data {
	return messages.Data{"Count": r.ApprovalsCount, "Required": r.ApprovalsRequired}
}
