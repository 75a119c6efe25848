package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/graph"
	"github.com/locksmithbot/locksmith/messages"
	"github.com/locksmithbot/locksmith/partner"
)

// Recipe buttons. A grant's actions decide which a technician may use; the
// approval covers the ones listed on the card.
const (
	ActionTAP    ActionKind = "tap"    // "Temporary Access Pass now", requester only; instead of a password
	ActionRevoke ActionKind = "revoke" // "Revoke sessions", requester only
	ActionEnable ActionKind = "enable" // "Re-enable account", requester only
)

// recipeFor maps a recipe button to its recipe.
var recipeFor = map[ActionKind]Recipe{
	ActionReset: RecipeResetPassword, ActionTAP: RecipeTemporaryAccessPass,
	ActionRevoke: RecipeRevokeSessions, ActionEnable: RecipeEnableAccount,
}

// recipeText is how DMs and the card name a recipe in l.
func recipeText(l messages.Lang, r Recipe) string {
	return texts.Text(l, messages.ID("recipe."+string(r)), nil)
}

// grantActions is what a grant allows: its actions, or the reset alone.
func grantActions(g Grant) []Recipe {
	if g.Actions == nil {
		return []Recipe{RecipeResetPassword}
	}
	return g.Actions
}

// allowedRecipes is every recipe that the held grants covering the customer
// with a role sufficient for need allow.
func allowedRecipes(held []Grant, c partner.Customer, need partner.Role) []Recipe {
	var out []Recipe
	for _, g := range held {
		if !g.covers(c) || !slices.ContainsFunc(g.Roles, func(r partner.Role) bool { return roleRank(r) >= roleRank(need) }) {
			continue
		}
		for _, r := range grantActions(g) {
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	return out
}

// offerRecipes is what a new request will cover: the requester's allowed
// recipes that make sense for the target. Graph recipes need graph.enabled; a
// re-enable only a disabled account. nil means the reset only, as before
// recipes existed.
func offerRecipes(allowed []Recipe, pol *Policy, facts *TargetFacts) []string {
	var out []string
	for _, r := range Recipes {
		switch {
		case !slices.Contains(allowed, r):
		case r.NeedsGraph() && !pol.Graph.Enabled:
		case r == RecipeEnableAccount && (facts == nil || facts.Enabled == nil || *facts.Enabled):
		default:
			out = append(out, string(r))
		}
	}
	switch {
	case len(out) == 1 && out[0] == string(RecipeResetPassword):
		return nil
	case out == nil:
		return []string{} // nothing applies: the caller refuses
	}
	return out
}

// requestRecipes is what an approved request covers.
func requestRecipes(r approvals.Request) []Recipe {
	if r.Recipes == nil {
		return []Recipe{RecipeResetPassword}
	}
	out := make([]Recipe, len(r.Recipes))
	for i, x := range r.Recipes {
		out[i] = Recipe(x)
	}
	return out
}

func recipesPhrase(l messages.Lang, rs []Recipe) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = recipeText(l, r)
	}
	return texts.List(l, parts)
}

// cardFacts is the card's Graph section in l: the facts and what the
// approval covers.
func cardFacts(l messages.Lang, r approvals.Request) []string {
	var lines []string
	if f, ok := decodeFacts(r.TargetFacts); ok {
		lines = factLines(l, f)
	}
	if r.Recipes != nil {
		lines = append(lines, texts.Text(l, messages.FactsApprovalCovers, messages.Data{"Recipes": recipesPhrase(l, requestRecipes(r))}))
	}
	return lines
}

// withRecipes turns an "approved" notice's reset button into one button per
// recipe the approval covers.
func withRecipes(n Notice, r approvals.Request) Notice {
	if r.Recipes == nil || n.ResetButton == "" {
		return n
	}
	n.OfferRequest, n.ResetButton = n.ResetButton, ""
	n.Offer = requestRecipes(r)
	n.Text += "\n" + texts.Text(n.Lang, messages.RecipeOffer, messages.Data{"Recipes": recipesPhrase(n.Lang, n.Offer)})
	return n
}

// approverCovers refuses an approval by someone whose grants do not allow
// every recipe the request covers.
func approverCovers(held []Grant, c partner.Customer, need partner.Role, r approvals.Request) (missing []Recipe) {
	allowed := allowedRecipes(held, c, need)
	for _, x := range requestRecipes(r) {
		if !slices.Contains(allowed, x) {
			missing = append(missing, x)
		}
	}
	return missing
}

// recipeAllowedNow checks a recipe button: the request covers the recipe, and
// the requester's grants still allow it.
func (s *Service) recipeAllowedNow(ctx context.Context, pol *Policy, a actor, kind ActionKind, req approvals.Request) (string, bool) {
	rc := recipeFor[kind]
	if !slices.Contains(requestRecipes(req), rc) {
		return texts.Text(a.Lang, messages.RecipeNotApproved, nil), false
	}
	if rc.NeedsGraph() && !pol.Graph.Enabled {
		return texts.Text(a.Lang, messages.RecipeGraphOff, nil), false
	}
	if req.Recipes == nil {
		// A reset-only request: the role re-check that follows is the whole test.
		return "", true
	}
	held, err := s.grantsNaming(ctx, pol.Grants, a.ID)
	if err != nil {
		return texts.Text(a.Lang, messages.ApprovalRecheckFailed, nil), false
	}
	c := partner.Customer{TenantID: req.TenantID, Domain: req.CustomerDomain, Name: req.CustomerName}
	if !slices.Contains(allowedRecipes(held, c, partner.Role(req.RoleNeeded)), rc) {
		return texts.Text(a.Lang, messages.RecipeNoLongerAllowed, messages.Data{"Recipe": recipeText(a.Lang, rc), "Customer": Escape(req.CustomerName, 100)}), false
	}
	return "", true
}

// needNow re-reads Graph's facts at reset time: the target may have become a
// guest, joined a restricted unit or gained an eligible role since approval.
func (s *Service) needNow(ctx context.Context, pol *Policy, req approvals.Request, roles []partner.DirectoryRole) (partner.Role, string, string) {
	// The refusal goes to the requester, who clicked the button.
	l := s.langOf(ctx, req.RequesterID)
	v, asked := s.askGraph(ctx, l, pol, req.TenantID, req.TargetUPN, req.TargetObjectID, roles)
	if !asked {
		return partner.RequiredRole(roles), "", ""
	}
	if v.refusal != "" {
		return v.need, v.refusal, "at reset: " + v.audit
	}
	if len(v.facts.Unknown) > 0 && roleRank(v.need) > roleRank(partner.Role(req.RoleNeeded)) {
		list := strings.Join(v.facts.Unknown, "; ")
		return v.need, texts.Text(l, messages.RecipeGraphUnknownAtReset, messages.Data{"User": Escape(req.TargetUPN, 120), "Unknown": Escape(list, 600)}),
			"at reset: graph facts unknown: " + list
	}
	return v.need, "", ""
}

// issueTAP is the Temporary Access Pass counterpart of setAndDeliver: the pass
// lives only in this frame between Graph's answer and the one ephemeral DM.
func (s *Service) issueTAP(ctx context.Context, log *slog.Logger, pol *Policy, requesterID string, c partner.Customer, u partner.User) resetOutcome {
	if s.dir == nil {
		return resetOutcome{err: &graph.Error{Kind: graph.KindUnavailable, Op: "create temporary access pass", Advice: "locksmith was started without a Microsoft Graph client"}}
	}
	gctx := graph.WithCorrelationID(ctx, partner.CorrelationID(ctx))
	tap, err := s.dir.CreateTemporaryAccessPass(gctx, c.TenantID, u.ObjectID, graph.TAPOptions{Lifetime: pol.Graph.TAPLifetime, UsableOnce: pol.Graph.TAPUsableOnce})
	if err != nil {
		return resetOutcome{err: err}
	}
	d := Delivery{Password: tap.Pass, UserPrincipalName: u.UserPrincipalName, UserDisplayName: u.DisplayName, CustomerName: c.Name,
		TAP: &TAPDetails{Lifetime: tap.Lifetime, UsableOnce: tap.UsableOnce}}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 45*time.Second)
	defer cancel()
	if err := s.msg.DeliverPassword(dctx, requesterID, d); err != nil {
		log.Error("temporary access pass delivery failed", "err", err)
		return resetOutcome{}
	}
	return resetOutcome{delivered: true}
}

// graphDetail is the audit trail's record of a Graph failure: kind, status,
// code and request IDs, never Graph's text.
func graphDetail(err error) string {
	var ge *graph.Error
	if errors.As(err, &ge) {
		return fmt.Sprintf("graph %s: status %d, code %q, client-request-id %s, request-id %s", ge.Kind, ge.Status, ge.Code, ge.ClientRequestID, ge.RequestID)
	}
	return "graph: " + err.Error()
}

// runRecipe runs "Revoke sessions" or "Re-enable account": only the
// requester, only while the approval is in force (approved, or done after the
// credential was delivered, until use_within ends). Neither changes the
// request's state; both are idempotent in Entra, so a second click repeats a
// harmless call. Each is audited as intent, then outcome.
func (s *Service) runRecipe(ctx context.Context, log *slog.Logger, pol *Policy, a actor, in Action, req approvals.Request) Reply {
	rc := recipeFor[in.Kind]
	if a.ID != req.RequesterID {
		s.refuseOnRequest(ctx, a, in.CorrelationID, req, "someone other than the requester clicked "+string(rc))
		return Reply{Text: texts.Text(a.Lang, messages.RecipeOnlyRequester, messages.Data{"Requester": Escape(req.RequesterID, 20)})}
	}
	inForce := (req.State == approvals.StateApproved || req.State == approvals.StateDone) && s.now().Before(req.UseBy)
	if !inForce {
		if req.State == approvals.StateDone {
			return Reply{Text: texts.Text(a.Lang, messages.RecipeApprovalEnded, messages.Data{"When": slackTime(a.Lang, req.UseBy)})}
		}
		return Reply{Text: stateText(a.Lang, req)}
	}
	if reply, ok := s.recipeAllowedNow(ctx, pol, a, in.Kind, req); !ok {
		s.refuseOnRequest(ctx, a, in.CorrelationID, req, "recipe "+string(rc)+" not allowed now")
		return Reply{Text: reply}
	}
	base := approvals.Event{ActorID: a.ID, ActorName: a.Name, CorrelationID: in.CorrelationID, RequestID: req.ID,
		TenantID: req.TenantID, CustomerDomain: req.CustomerDomain, TargetObjectID: req.TargetObjectID, TargetUPN: req.TargetUPN}
	intent := base
	intent.Outcome, intent.Detail = approvals.OutcomeRecipeIntent, string(rc)
	if err := s.audit(ctx, intent); err != nil {
		return Reply{Text: texts.Text(a.Lang, messages.RecipeAuditFailed, nil)}
	}
	gctx := graph.WithCorrelationID(ctx, in.CorrelationID)
	var err error
	if s.dir == nil {
		err = &graph.Error{Kind: graph.KindUnavailable, Op: string(rc), Advice: "locksmith was started without a Microsoft Graph client"}
	} else if rc == RecipeRevokeSessions {
		err = s.dir.RevokeSessions(gctx, req.TenantID, req.TargetObjectID)
	} else {
		err = s.dir.EnableAccount(gctx, req.TenantID, req.TargetObjectID)
	}
	result := base
	upn := Escape(req.TargetUPN, 120)
	if err != nil {
		log.Error("recipe failed", "recipe", rc, "err", err)
		result.Outcome, result.Detail = approvals.OutcomeRecipeFailed, string(rc)+": "+graphDetail(err)
		s.recordOutcome(ctx, result)
		return Reply{Text: texts.Text(a.Lang, messages.RecipeFailed, messages.Data{"Recipe": recipeText(a.Lang, rc), "User": upn, "Problem": Escape(graph.Sentence(err), 400)})}
	}
	if rc == RecipeRevokeSessions {
		result.Outcome, result.Detail = approvals.OutcomeSessionsRevoked, "all refresh tokens and session cookies revoked"
		s.recordOutcome(ctx, result, owedDM(req, req.RequesterID, Notice{Lang: a.Lang, Text: texts.Text(a.Lang, messages.RecipeSessionsRevokedNotice, messages.Data{"User": upn, "When": slackTime(a.Lang, s.now())})}))
		return Reply{Text: texts.Text(a.Lang, messages.RecipeSessionsRevoked, messages.Data{"User": upn})}
	}
	result.Outcome, result.Detail = approvals.OutcomeAccountEnabled, "accountEnabled set to true"
	s.recordOutcome(ctx, result, owedDM(req, req.RequesterID, Notice{Lang: a.Lang, Text: texts.Text(a.Lang, messages.RecipeEnabledNotice, messages.Data{"User": upn, "When": slackTime(a.Lang, s.now())})}))
	return Reply{Text: texts.Text(a.Lang, messages.RecipeEnabled, messages.Data{"User": upn})}
}

// afterTAP records and reports a Temporary Access Pass attempt on a claimed
// request, as resetNow does for a password. A pass that may exist but was seen
// by nobody is harmless (nobody can use it) and the next one replaces it, so
// only a refusal ends the approval.
func (s *Service) afterTAP(ctx context.Context, log *slog.Logger, a actor, in Action, claimed approvals.Request, out resetOutcome) Reply {
	upn := Escape(claimed.TargetUPN, 120)
	base := approvals.Event{ActorID: a.ID, ActorName: a.Name, CorrelationID: in.CorrelationID, RequestID: claimed.ID,
		TenantID: claimed.TenantID, CustomerDomain: claimed.CustomerDomain, TargetObjectID: claimed.TargetObjectID, TargetUPN: claimed.TargetUPN}
	if out.err != nil {
		problem := Escape(graph.Sentence(out.err), 400)
		log.Error("temporary access pass failed", "err", out.err)
		s.metrics.Reset("failed")
		if k := graph.KindOf(out.err); k == graph.KindRejected || k == graph.KindForbidden || k == graph.KindNotFound {
			cl := s.channelLang()
			status := texts.Text(cl, messages.TAPRefusedStatus, messages.Data{"Problem": Escape(graph.Sentence(out.err), 400)})
			s.finish(ctx, log, claimed, approvals.StateFailed, "temporary access pass refused: "+graphDetail(out.err), a, in.CorrelationID, func(u approvals.Request) []approvals.Message {
				return []approvals.Message{s.owedCard(u, status, false)}
			})
			return Reply{Text: texts.Text(a.Lang, messages.TAPNotCreated, messages.Data{"User": upn, "Problem": problem})}
		}
		rctx, cancel := detached(ctx)
		_, rerr := s.store.ReleaseReset(rctx, claimed.ID, "temporary access pass not confirmed: "+graphDetail(out.err))
		cancel()
		if rerr != nil {
			log.Error("release after a failed temporary access pass failed", "err", rerr)
			return Reply{Text: texts.Text(a.Lang, messages.TAPUnconfirmedReopenFailed, messages.Data{"User": upn, "Problem": problem})}
		}
		return Reply{Text: texts.Text(a.Lang, messages.TAPUnconfirmed, messages.Data{"User": upn, "Problem": problem, "UseBy": slackTime(a.Lang, claimed.UseBy)})}
	}
	if !out.delivered {
		s.metrics.Reset("delivery_failed")
		text := texts.Text(a.Lang, messages.TAPLost, messages.Data{"User": upn})
		s.finish(ctx, log, claimed, approvals.StateDone, "temporary access pass created; ephemeral DM failed, pass lost", a, in.CorrelationID, func(u approvals.Request) []approvals.Message {
			return []approvals.Message{s.owedCard(u, texts.Text(s.channelLang(), messages.TAPLostStatus, nil), false),
				owedDM(u, a.ID, Notice{Lang: a.Lang, Text: text})}
		})
		lost := base
		lost.Outcome, lost.Detail = approvals.OutcomeTAPDeliveryFailed, "the ephemeral DM failed; the pass is gone"
		s.recordOutcome(ctx, lost)
		return Reply{Text: text}
	}
	s.metrics.Reset("done")
	cl := s.channelLang()
	s.finish(ctx, log, claimed, approvals.StateDone, "temporary access pass delivered by ephemeral DM", a, in.CorrelationID, func(u approvals.Request) []approvals.Message {
		done := u.FinishedAt
		return []approvals.Message{
			s.owedCard(u, texts.Text(cl, messages.TAPIssuedStatus, messages.Data{"Requester": Escape(a.ID, 20), "When": slackTime(cl, done)}), false),
			owedDM(u, u.RequesterID, followUps(Notice{Lang: a.Lang, Text: texts.Text(a.Lang, messages.TAPIssuedNotice, messages.Data{
				"User": upn, "Customer": Escape(u.CustomerName, 100), "When": slackTime(a.Lang, done)})}, u)),
		}
	})
	issued := base
	issued.Outcome, issued.Detail = approvals.OutcomeTAPIssued, "delivered by ephemeral DM; the password was not changed"
	s.recordOutcome(ctx, issued)
	return Reply{Text: texts.Text(a.Lang, messages.TAPDone, nil)}
}

// followUps adds the buttons of recipes that still make sense after the
// credential was delivered (revoke sessions, re-enable) to a notice.
func followUps(n Notice, r approvals.Request) Notice {
	for _, rc := range requestRecipes(r) {
		if rc == RecipeRevokeSessions || rc == RecipeEnableAccount {
			n.Offer = append(n.Offer, rc)
		}
	}
	if len(n.Offer) > 0 {
		n.OfferRequest, n.ValidUntil = r.ID, r.UseBy
	}
	return n
}
