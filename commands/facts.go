package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/locksmithbot/locksmith/graph"
	"github.com/locksmithbot/locksmith/messages"
	"github.com/locksmithbot/locksmith/partner"
)

// Directory is what the workflow asks Microsoft Graph in a customer tenant;
// *graph.Client implements it. Errors are *graph.Error values with a Kind.
type Directory interface {
	// Facts may return partial facts: a part Graph could not answer is in
	// Facts.Unknown and must never be read as "none".
	Facts(ctx context.Context, tenantID, userID string) (graph.Facts, error)
	RevokeSessions(ctx context.Context, tenantID, userID string) error
	EnableAccount(ctx context.Context, tenantID, userID string) error
	CreateTemporaryAccessPass(ctx context.Context, tenantID, userID string, o graph.TAPOptions) (graph.TemporaryAccessPass, error)
}

// TargetFacts is what Graph said about a target when it was checked, as
// stored with the request (JSON) and shown on the card and in DMs.
type TargetFacts struct {
	Enabled         *bool      `json:"enabled,omitempty"`
	Guest           bool       `json:"guest,omitempty"`
	Synced          bool       `json:"synced,omitempty"`
	PasswordChanged *time.Time `json:"password_changed,omitempty"`
	Roles           []HeldRole `json:"roles,omitempty"`
	// Unknown names each fact Graph could not answer, with why.
	Unknown []string `json:"unknown,omitempty"`
}

// HeldRole is a directory role and how the target holds it.
type HeldRole struct {
	Name  string `json:"name"`
	How   string `json:"how"` // active, eligible, active via group, eligible via group
	Group string `json:"group,omitempty"`
}

// Label is the role as the card lists it: "Global Administrator (eligible)".
func (h HeldRole) Label() string {
	switch {
	case h.How == string(graph.HowActive):
		return h.Name
	case h.Group != "":
		return fmt.Sprintf("%s (%s %s)", h.Name, h.How, h.Group)
	}
	return fmt.Sprintf("%s (%s)", h.Name, h.How)
}

func (f TargetFacts) encode() string {
	b, err := json.Marshal(f)
	if err != nil {
		return ""
	}
	return string(b)
}

func decodeFacts(s string) (TargetFacts, bool) {
	var f TargetFacts
	if s == "" || json.Unmarshal([]byte(s), &f) != nil {
		return TargetFacts{}, false
	}
	return f, true
}

// verdict is what Graph's facts mean for a request.
type verdict struct {
	facts   TargetFacts
	need    partner.Role // at least what Partner Center's roles need
	refusal string       // non-empty: refuse, and tell the requester this (escaped mrkdwn)
	audit   string       // why, for the audit trail
}

// judge applies the rules to Graph's answer about a target whose Partner
// Center roles are pcRoles. An eligible or group-held role counts exactly like
// an active one. A guest, and a member of a restricted-management
// administrative unit, are refused. Facts Graph could not answer are handled
// by pol.WhenUnavailable and never read as "none".
func judge(l messages.Lang, pol GraphPolicy, upn string, pcRoles []partner.DirectoryRole, gf graph.Facts, err error) verdict {
	v := verdict{}
	if err != nil {
		why := graph.Sentence(err)
		for _, f := range []graph.Fact{graph.FactAccount, graph.FactActiveRoles, graph.FactEligible, graph.FactAdminUnits} {
			v.facts.Unknown = append(v.facts.Unknown, string(f)+": "+why)
		}
	} else {
		for _, u := range gf.Unknown {
			v.facts.Unknown = append(v.facts.Unknown, string(u.Fact)+": "+graph.Sentence(u.Err))
		}
		if gf.Known(graph.FactAccount) {
			u := gf.User
			v.facts.Enabled, v.facts.Guest, v.facts.Synced, v.facts.PasswordChanged = u.AccountEnabled, u.Guest(), u.Synced(), u.LastPasswordChange
		}
	}
	roles := append([]partner.DirectoryRole(nil), pcRoles...)
	seen := map[string]bool{}
	for _, r := range gf.Roles {
		dr := partner.DirectoryRole{ID: r.RoleDefinitionID}
		roles = append(roles, dr)
		h := HeldRole{Name: partner.DisplayName(dr), How: string(r.How), Group: r.Group}
		if !seen[h.Label()] {
			seen[h.Label()] = true
			v.facts.Roles = append(v.facts.Roles, h)
		}
	}
	v.need = partner.RequiredRole(roles)

	switch {
	case v.facts.Guest:
		v.refusal = texts.Text(l, messages.FactsRefuseGuest, messages.Data{"User": Escape(upn, 120)})
		v.audit = "target is a guest account"
		return v
	case len(gf.RestrictedUnits()) > 0:
		names := make([]string, 0, len(gf.RestrictedUnits()))
		for _, au := range gf.RestrictedUnits() {
			names = append(names, "_"+Escape(au.DisplayName, 80)+"_")
		}
		v.refusal = texts.Text(l, messages.FactsRefuseRestrictedUnit, messages.Data{"User": Escape(upn, 120), "Units": strings.Join(names, ", ")})
		v.audit = "target is in a restricted-management administrative unit"
		return v
	}
	if len(v.facts.Unknown) > 0 {
		list := strings.Join(v.facts.Unknown, "; ")
		if pol.WhenUnavailable == RefuseUnknown {
			v.refusal = texts.Text(l, messages.FactsRefuseUnknown, messages.Data{"User": Escape(upn, 120), "Unknown": Escape(list, 600)})
			v.audit = "graph facts unknown (when_unavailable: refuse): " + list
			return v
		}
		// Never "could not ask" = "no roles": treat the target as privileged.
		v.need = partner.RolePrivilegedAuthenticationAdministrator
	}
	return v
}

// askGraph reads the facts about a target, when graph.enabled. ok is false
// when Graph is not in use.
func (s *Service) askGraph(ctx context.Context, l messages.Lang, pol *Policy, tenantID, upn, objectID string, pcRoles []partner.DirectoryRole) (verdict, bool) {
	if !pol.Graph.Enabled {
		return verdict{}, false
	}
	var (
		gf  graph.Facts
		err = errors.New("locksmith was started without a Microsoft Graph client")
	)
	if s.dir != nil {
		gf, err = s.dir.Facts(graph.WithCorrelationID(ctx, partner.CorrelationID(ctx)), tenantID, objectID)
	}
	if err != nil {
		s.log.Warn("graph facts unavailable", "correlation_id", partner.CorrelationID(ctx), "tenant", tenantID, "err", err)
	}
	for _, u := range gf.Unknown {
		s.log.Warn("graph fact unknown", "correlation_id", partner.CorrelationID(ctx), "tenant", tenantID, "fact", u.Fact, "err", u.Err)
	}
	return judge(l, pol.Graph, upn, pcRoles, gf, err), true
}

// factLines renders facts in l for the card and DMs: escaped mrkdwn, one
// line per topic.
func factLines(l messages.Lang, f TargetFacts) []string {
	var lines []string
	account := []string{}
	switch {
	case f.Enabled == nil:
		account = append(account, texts.Text(l, messages.FactsEnabledUnknown, nil))
	case *f.Enabled:
		account = append(account, texts.Text(l, messages.FactsEnabled, nil))
	default:
		account = append(account, texts.Text(l, messages.FactsDisabled, nil))
	}
	if f.Guest {
		account = append(account, texts.Text(l, messages.FactsGuest, nil))
	}
	if f.Synced {
		account = append(account, texts.Text(l, messages.FactsSynced, nil))
	}
	if f.PasswordChanged != nil {
		account = append(account, texts.Text(l, messages.FactsPasswordChanged, messages.Data{"When": slackTime(l, *f.PasswordChanged)}))
	}
	lines = append(lines, texts.Text(l, messages.FactsAccount, messages.Data{"Account": strings.Join(account, " · ")}))
	if len(f.Roles) > 0 {
		roles := make([]string, len(f.Roles))
		for i, r := range f.Roles {
			roles[i] = Escape(r.Label(), 160)
		}
		lines = append(lines, texts.Text(l, messages.FactsRoles, messages.Data{"Roles": strings.Join(roles, ", ")}))
	} else if len(f.Unknown) == 0 {
		lines = append(lines, texts.Text(l, messages.FactsNoRoles, nil))
	}
	if len(f.Unknown) > 0 {
		// A request with unknown facts exists only under require_privileged.
		u := make([]string, len(f.Unknown))
		for i, x := range f.Unknown {
			u[i] = "• " + Escape(x, 400)
		}
		lines = append(lines, texts.Text(l, messages.FactsUnknown, messages.Data{"Unknown": strings.Join(u, "\n")}))
	}
	return lines
}

// roleNamesWith merges Partner Center's role names with how Graph says each
// role is held, for the card's role list.
func roleNamesWith(pc []string, f TargetFacts) []string {
	if len(f.Roles) == 0 {
		return pc
	}
	out := make([]string, 0, len(f.Roles)+len(pc))
	have := map[string]bool{}
	for _, r := range f.Roles {
		out = append(out, r.Label())
		if r.How == string(graph.HowActive) {
			have[r.Name] = true
		}
	}
	for _, n := range pc {
		if !have[n] {
			out = append(out, n)
		}
	}
	return out
}
