package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/partner"
)

// Action handles a button click. Everything is reloaded from the store and
// re-checked against the policy as it is now: the button carries only the ID.
func (s *Service) Action(ctx context.Context, in Action) Reply {
	ctx, cancel := context.WithTimeout(ctx, s.opTimeout)
	defer cancel()
	ctx = partner.WithCorrelationID(ctx, in.CorrelationID)
	log := s.requestLog(in.CorrelationID, in.UserID).With("request_id", in.RequestID, "action", in.Kind)
	pol := s.currentPolicy()

	req, err := s.store.Get(ctx, in.RequestID)
	if errors.Is(err, approvals.ErrNotFound) {
		return Reply{Text: "This request no longer exists."}
	}
	if err != nil {
		log.Error("load request failed", "err", err)
		return Reply{Text: "locksmith could not load this request, so nothing was done. Try again shortly."}
	}
	a := s.actorFor(ctx, in.UserID, in.UserName)
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
	case ActionRevoke, ActionEnable:
		return s.runRecipe(ctx, log, pol, a, in, req)
	}
	return Reply{Text: "locksmith does not know that button."}
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
// and must themselves hold a grant for the customer with the role the target
// needs; the store enforces requester ≠ decider again inside its transaction.
func (s *Service) decide(ctx context.Context, log *slog.Logger, pol *Policy, a actor, in Action, req approvals.Request) Reply {
	verb := "approve"
	if in.Kind == ActionDeny {
		verb = "deny"
	}
	if a.ID == req.RequesterID {
		s.refuseOnRequest(ctx, a, in.CorrelationID, req, "requester tried to "+verb+" their own request")
		return Reply{Text: fmt.Sprintf("You can't %s your own request: another authorised person must decide.", verb)}
	}
	if req.State != approvals.StatePending {
		return Reply{Text: stateText(req)}
	}
	need := partner.Role(req.RoleNeeded)
	customer := partner.Customer{TenantID: req.TenantID, Domain: req.CustomerDomain, Name: req.CustomerName}
	acc, err := s.accessFor(ctx, pol.Grants, a.ID, &customer)
	if err != nil {
		log.Error("grant check failed", "err", err)
		if errors.As(err, new(*AccountError)) {
			s.refuseOnRequest(ctx, a, in.CorrelationID, req, err.Error())
		}
		return Reply{Text: permissionProblem(err, "Try again shortly.")}
	}
	if !acc.allows(need) {
		s.refuseOnRequest(ctx, a, in.CorrelationID, req, fmt.Sprintf("decider holds %q; needs %s", acc.best, need))
		holds := "no grant"
		if acc.best != "" {
			holds = "*" + string(acc.best) + "*"
		}
		return Reply{Text: fmt.Sprintf("You can't %s this: resetting %s in *%s* needs *%s*, and your locksmith grants give you %s for that customer. Nothing changed.",
			verb, Escape(req.TargetUPN, 120), Escape(req.CustomerName, 100), need, holds)}
	}
	if in.Kind == ActionApprove && req.Recipes != nil {
		held, err := s.grantsNaming(ctx, pol.Grants, a.ID)
		if err != nil {
			log.Error("grant check failed", "err", err)
			return Reply{Text: "locksmith could not check your permissions (Slack user groups could not be read), so nothing was done."}
		}
		if missing := approverCovers(held, customer, need, req); len(missing) > 0 {
			s.refuseOnRequest(ctx, a, in.CorrelationID, req, "approver's grants do not allow "+recipesPhrase(missing))
			return Reply{Text: fmt.Sprintf("You can't approve this: it covers more than resetting the password, and your locksmith grants do not allow you to %s for *%s*. Nothing changed.",
				recipesPhrase(missing), Escape(req.CustomerName, 100))}
		}
	}

	var (
		updated approvals.Request
		status  string
	)
	if in.Kind == ActionApprove {
		updated, err = s.store.Approve(ctx, req.ID, a.ID, a.Name, s.now().Add(pol.UseWithin))
	} else {
		updated, err = s.store.Deny(ctx, req.ID, a.ID, a.Name, "")
	}
	if reply, handled := s.transitionFailed(ctx, log, err); handled {
		return reply
	}
	s.announceRequest(updated, map[bool]approvals.Outcome{true: approvals.OutcomeApproved, false: approvals.OutcomeDenied}[in.Kind == ActionApprove], a, in.CorrelationID)

	if in.Kind == ActionApprove {
		s.metrics.Decision("approved")
		status = fmt.Sprintf(":white_check_mark: Approved by <@%s> %s", Escape(a.ID, 20), slackTime(updated.DecidedAt))
		s.updateCard(ctx, log, updated, status)
		s.offerReset(ctx, log, updated, withRecipes(Notice{
			Text: fmt.Sprintf(":white_check_mark: <@%s> approved your request to reset the password of %s (*%s*). Click *Reset password now* when you are ready to give the user the new password; the approval is valid until %s.",
				Escape(a.ID, 20), Escape(updated.TargetUPN, 120), Escape(updated.CustomerName, 100), slackTime(updated.UseBy)),
			ResetButton: updated.ID,
			ValidUntil:  updated.UseBy,
		}, updated))
		return Reply{Text: fmt.Sprintf("Approved. <@%s> can now reset the password of %s.", Escape(updated.RequesterID, 20), Escape(updated.TargetUPN, 120))}
	}
	s.metrics.Decision("denied")
	status = fmt.Sprintf(":no_entry: Denied by <@%s> %s", Escape(a.ID, 20), slackTime(updated.DecidedAt))
	s.updateCard(ctx, log, updated, status)
	s.notify(ctx, log, updated.RequesterID, Notice{
		Text: fmt.Sprintf(":no_entry: <@%s> denied your request to reset the password of %s (*%s*).",
			Escape(a.ID, 20), Escape(updated.TargetUPN, 120), Escape(updated.CustomerName, 100)),
	})
	return Reply{Text: fmt.Sprintf("Denied. <@%s> has been told.", Escape(updated.RequesterID, 20))}
}

// withdraw lets the requester cancel their own pending request.
func (s *Service) withdraw(ctx context.Context, log *slog.Logger, a actor, req approvals.Request) Reply {
	if a.ID != req.RequesterID {
		return Reply{Text: fmt.Sprintf("Only <@%s>, who made this request, can withdraw it.", Escape(req.RequesterID, 20))}
	}
	updated, err := s.store.Cancel(ctx, req.ID, a.ID)
	if reply, handled := s.transitionFailed(ctx, log, err); handled {
		return reply
	}
	s.metrics.Decision("cancelled")
	s.announceRequest(updated, approvals.OutcomeCancelled, a, req.CorrelationID)
	s.updateCard(ctx, log, updated, fmt.Sprintf(":leftwards_arrow_with_hook: Withdrawn by <@%s> %s", Escape(a.ID, 20), slackTime(updated.DecidedAt)))
	return Reply{Text: "Your request was withdrawn."}
}

// resetNow is "Reset password now": only the requester, only while approved and
// within use_within, with grants and the target's roles checked again now.
func (s *Service) resetNow(ctx context.Context, log *slog.Logger, pol *Policy, a actor, in Action, req approvals.Request) Reply {
	if a.ID != req.RequesterID {
		s.refuseOnRequest(ctx, a, in.CorrelationID, req, "someone other than the requester clicked Reset password now")
		return Reply{Text: fmt.Sprintf("Only <@%s>, who asked for this reset, can use this button.", Escape(req.RequesterID, 20))}
	}
	if req.State != approvals.StateApproved {
		return Reply{Text: stateText(req)}
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
			return Reply{Text: permissionProblem(err, "")}
		}
		return Reply{Text: permissionProblem(err, "Try again; your approval still stands.")}
	}
	// Guarantee 4: reset exactly what was approved. If the target gained a
	// stronger admin role since approval, the approval no longer covers them.
	roles, err := s.pc.UserRoles(ctx, req.TenantID, req.TargetObjectID)
	if err != nil {
		log.Error("directory roles re-check failed", "err", err)
		return Reply{Text: "Could not re-check the user's admin roles, so nothing was reset; your approval still stands. " + partnerProblem(ctx, err)}
	}
	need, refusal, why := s.needNow(ctx, pol, req, roles)
	if refusal != "" {
		s.refuseOnRequest(ctx, a, in.CorrelationID, req, why)
		return Reply{Text: refusal}
	}
	if roleRank(need) > roleRank(partner.Role(req.RoleNeeded)) {
		s.refuseOnRequest(ctx, a, in.CorrelationID, req, fmt.Sprintf("target's roles changed since approval: now needs %s", need))
		return Reply{Text: fmt.Sprintf("%s gained an admin role since this was approved, and resetting them now needs *%s*. Nothing was reset; make a new request.", Escape(req.TargetUPN, 120), need)}
	}
	if !acc.allows(need) {
		s.refuseOnRequest(ctx, a, in.CorrelationID, req, fmt.Sprintf("requester no longer holds %s", need))
		return Reply{Text: fmt.Sprintf("Your locksmith grants no longer give you *%s* for *%s*, so nothing was reset.", need, Escape(req.CustomerName, 100))}
	}
	// The approval counts only while the approver could still give it: a grant
	// removed since (someone left the helpdesk group) takes the approval with it.
	approverAcc, err := s.accessFor(ctx, pol.Grants, req.DeciderID, &customer)
	var approverAccount *AccountError
	if errors.As(err, &approverAccount) {
		s.refuseOnRequest(ctx, a, in.CorrelationID, req, "approver's "+err.Error())
		return Reply{Text: fmt.Sprintf("The approval by <@%s> no longer counts: their Slack account is now %s. Nothing was reset; make a new request.",
			Escape(req.DeciderID, 20), approverAccount.Problem)}
	}
	if err != nil {
		log.Error("grant check failed", "err", err)
		return Reply{Text: "locksmith could not check permissions with Slack, so nothing was done. Try again; your approval still stands."}
	}
	if !approverAcc.allows(need) {
		s.refuseOnRequest(ctx, a, in.CorrelationID, req, fmt.Sprintf("approver %s no longer holds %s", req.DeciderID, need))
		return Reply{Text: fmt.Sprintf("The approval by <@%s> no longer counts: their locksmith grants no longer give them *%s* for *%s*. Nothing was reset; make a new request.",
			Escape(req.DeciderID, 20), need, Escape(req.CustomerName, 100))}
	}

	// Claim the request and record the intent in one transaction (guarantees 2
	// and 3): of two clicks or two replicas exactly one gets here.
	claimed, err := s.store.ClaimReset(ctx, req.ID, a.ID, in.CorrelationID)
	if reply, handled := s.transitionFailed(ctx, log, err); handled {
		if err != nil && !errors.Is(err, approvals.ErrConflict) && !errors.Is(err, approvals.ErrNotRequester) && !errors.Is(err, approvals.ErrNotFound) {
			s.metrics.AuditWriteFailed()
			return Reply{Text: "locksmith could not record the reset in its audit trail, so it did not reset the password. Nothing was changed; your approval still stands. Tell your operator if this repeats."}
		}
		return reply
	}
	s.announceRequest(claimed, approvals.OutcomeResetIntent, a, in.CorrelationID)

	target := partner.User{ObjectID: claimed.TargetObjectID, UserPrincipalName: claimed.TargetUPN, DisplayName: claimed.TargetDisplayName}
	if in.Kind == ActionTAP {
		return s.afterTAP(ctx, log, a, in, claimed, s.issueTAP(ctx, log, pol, a.ID, customer, target))
	}
	out := s.setAndDeliver(ctx, log, pol, a.ID, customer, target)
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
		_, rerr := s.store.ReleaseReset(rctx, claimed.ID, detail)
		cancel()
		what := "The password was *not* reset: " + partnerProblem(ctx, out.err)
		if unknown {
			what = ":warning: Partner Center did not confirm the reset: " + partnerProblem(ctx, out.err) +
				" The password may or may not have been changed, and no new password was shown to anyone."
		}
		if rerr != nil {
			log.Error("release after a failed reset failed", "err", rerr)
			return Reply{Text: what + " locksmith could not reopen your approval, so run `/reset-password` again in a few minutes."}
		}
		return Reply{Text: fmt.Sprintf("%s Your approval still stands until %s: click *Reset password now* again to set a new password.", what, slackTime(claimed.UseBy))}
	case out.err != nil:
		log.Error("reset failed", "err", out.err)
		s.metrics.Reset("failed")
		problem := partnerProblem(ctx, out.err)
		s.finish(ctx, log, claimed, approvals.StateFailed, partnerDetail(out.err), a, in.CorrelationID)
		s.updateCard(ctx, log, claimed, ":x: Reset failed: "+problem)
		s.notify(ctx, log, claimed.RequesterID, Notice{Text: fmt.Sprintf(":x: The password of %s was *not* reset. %s", Escape(claimed.TargetUPN, 120), problem)})
		return Reply{Text: "The password was *not* reset. " + problem}
	case !out.delivered:
		s.metrics.Reset("delivery_failed")
		s.finish(ctx, log, claimed, approvals.StateDone, "password set in Partner Center; ephemeral DM failed, password lost", a, in.CorrelationID)
		s.recordOutcome(ctx, approvals.Event{
			ActorID: a.ID, ActorName: a.Name, CorrelationID: in.CorrelationID, RequestID: claimed.ID,
			TenantID: claimed.TenantID, CustomerDomain: claimed.CustomerDomain, TargetObjectID: claimed.TargetObjectID, TargetUPN: claimed.TargetUPN,
			Outcome: approvals.OutcomeDeliveryFailed, Detail: "the ephemeral DM failed; the password is gone",
		})
		s.updateCard(ctx, log, claimed, ":warning: Password reset, but it could not be shown to the requester; a new request is needed.")
		s.notifyLostPassword(ctx, log, a.ID, target)
		return Reply{Text: lostPasswordText(target)}
	}
	s.metrics.Reset("done")
	done := s.finish(ctx, log, claimed, approvals.StateDone, "temporary password delivered by ephemeral DM; change required at next sign-in", a, in.CorrelationID)
	s.updateCard(ctx, log, claimed, fmt.Sprintf(":lock: Reset done by <@%s> %s", Escape(a.ID, 20), slackTime(done)))
	s.notify(ctx, log, claimed.RequesterID, followUps(Notice{Text: fmt.Sprintf(":lock: The password of %s (*%s*) was reset %s. The user must change it at next sign-in.",
		Escape(claimed.TargetUPN, 120), Escape(claimed.CustomerName, 100), slackTime(done))}, claimed))
	return Reply{Text: ":white_check_mark: Done. The temporary password is in your DM with locksmith, visible only to you."}
}
