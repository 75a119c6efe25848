package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/locksmithbot/locksmith/messages"
	"github.com/locksmithbot/locksmith/partner"
)

// Grant gives Slack users (by immutable user ID) and user groups (by ID) a GDAP
// role for some customers. Names and e-mail addresses are never matched: they can
// be changed by the people they describe.
type Grant struct {
	Users      []string       // Slack user IDs (U…/W…)
	Usergroups []string       // Slack user-group IDs (S…)
	Roles      []partner.Role // User Administrator and/or Privileged Authentication Administrator
	Customers  []string       // "*", tenant IDs or domains, lower case
	// Actions are the recipes the grant allows; nil means only the password reset.
	Actions []Recipe
}

// roleRank orders the two roles a reset can need. A Privileged Authentication
// Administrator may reset everyone a User Administrator may (docs/partner-center.md §9).
func roleRank(r partner.Role) int {
	switch r {
	case partner.RoleUserAdministrator:
		return 1
	case partner.RolePrivilegedAuthenticationAdministrator:
		return 2
	}
	return 0
}

// Access is what the grants give one Slack user.
type access struct {
	any  bool         // some grant names the user at all
	best partner.Role // strongest role covering the customer asked about, "" for none
}

func (a access) allows(need partner.Role) bool {
	return a.best != "" && roleRank(a.best) >= roleRank(need)
}

// covers reports whether a grant's customer list includes the customer.
func (g Grant) covers(c partner.Customer) bool {
	for _, want := range g.Customers {
		switch {
		case want == "*":
			return true
		case strings.EqualFold(want, c.TenantID), c.Domain != "" && strings.EqualFold(want, c.Domain):
			return true
		}
	}
	return false
}

// accessFor evaluates the grants for one user and, when customer is non-nil, the
// strongest role they hold for it. It fails (fail closed) when the user is not
// an active full member of the workspace (*AccountError), when Slack cannot say
// whether they are, and when no grant could be confirmed because a user group
// could not be read.
func (s *Service) accessFor(ctx context.Context, grants []Grant, userID string, customer *partner.Customer) (access, error) {
	held, err := s.grantsNaming(ctx, grants, userID)
	if err != nil {
		return access{}, err
	}
	a := access{any: len(held) > 0}
	if customer != nil {
		a.best = bestRole(held, *customer)
	}
	return a, nil
}

// AccountError means a grant names someone whose Slack account may not act:
// deactivated, a bot or a guest. Grants are matched by user ID, and an ID
// stays in locksmith.yaml after its person leaves or becomes a guest.
type AccountError struct {
	UserID  string
	Problem string // Person.Problem
}

func (e *AccountError) Error() string {
	return fmt.Sprintf("Slack user %s is %s", e.UserID, e.Problem)
}

// grantsNaming returns the grants that name userID, directly or through a
// Slack user group. A user group that cannot be read counts as not naming the
// user, so a broken group takes away only the grants that name it; the error is
// returned only when it may have hidden the one grant that would have counted,
// i.e. when no other grant names the user.
func (s *Service) grantsNaming(ctx context.Context, grants []Grant, userID string) ([]Grant, error) {
	if err := s.checkAccount(ctx, userID); err != nil {
		return nil, err
	}
	var held []Grant
	var groupErrs []error
	for i, g := range grants {
		member, err := s.grantNames(ctx, g, userID)
		if err != nil {
			groupErrs = append(groupErrs, fmt.Errorf("grants[%d]: %w", i, err))
			continue
		}
		if member {
			held = append(held, g)
		}
	}
	if len(groupErrs) > 0 {
		if len(held) == 0 {
			return nil, errors.Join(groupErrs...)
		}
		if s.log != nil {
			s.log.Warn("grants skipped: a Slack user group in them could not be read", "slack_user", userID, "err", errors.Join(groupErrs...))
		}
	}
	return held, nil
}

// checkAccount returns an *AccountError when userID's Slack account may not
// act (deactivated, a bot, a guest), or an error when Slack cannot say.
func (s *Service) checkAccount(ctx context.Context, userID string) error {
	if s.people == nil {
		return nil
	}
	p, err := s.people.Person(ctx, userID)
	switch {
	case errors.Is(err, ErrPeopleNotReadable):
		// An older installation: see ErrPeopleNotReadable.
	case err != nil:
		return fmt.Errorf("look up Slack user %s: %w", userID, err)
	default:
		if why := p.Problem(); why != "" {
			return &AccountError{UserID: userID, Problem: why}
		}
	}
	return nil
}

// actorFor names the person who typed or clicked, for the audit trail: their
// real name from Slack rather than the handle in the payload, which Slack has
// deprecated and anyone can change. Without an answer from Slack the handle
// is kept; the grant check then refuses anyway.
func (s *Service) actorFor(ctx context.Context, userID, payloadName string) actor {
	a := actor{ID: userID, Name: payloadName}
	if s.people == nil {
		return a
	}
	if p, err := s.people.Person(ctx, userID); err == nil && p.RealName != "" {
		a.Name = p.RealName
	}
	return a
}

// permissionProblem is the reply, in lang, when grantsNaming or accessFor
// failed: the account Slack described is refused, or (id) the check could not
// be made.
func permissionProblem(lang messages.Lang, err error, id messages.ID) string {
	var ae *AccountError
	if errors.As(err, &ae) {
		return texts.Text(lang, messages.ReplyAccountRefused, messages.Data{"Problem": accountProblem(lang, ae.Problem)})
	}
	return texts.Text(lang, id, nil)
}

// accountProblem says in lang what Person.Problem says in English (which the
// audit trail keeps).
func accountProblem(lang messages.Lang, problem string) string {
	id, ok := accountProblems[problem]
	if !ok {
		return Escape(problem, 100)
	}
	return texts.Text(lang, id, nil)
}

var accountProblems = map[string]messages.ID{
	Person{Deleted: true}.Problem():         messages.AccountDeactivated,
	Person{Bot: true}.Problem():             messages.AccountBot,
	Person{UltraRestricted: true}.Problem(): messages.AccountSingleChannelGuest,
	Person{Restricted: true}.Problem():      messages.AccountGuest,
}

// bestRole is the strongest role the held grants give for customer, "" for none.
func bestRole(held []Grant, c partner.Customer) partner.Role {
	var best partner.Role
	for _, g := range held {
		if !g.covers(c) {
			continue
		}
		for _, r := range g.Roles {
			if roleRank(r) > roleRank(best) {
				best = r
			}
		}
	}
	return best
}

func (s *Service) grantNames(ctx context.Context, g Grant, userID string) (bool, error) {
	for _, u := range g.Users {
		if u == userID {
			return true, nil
		}
	}
	for _, group := range g.Usergroups {
		members, err := s.groups.Members(ctx, group)
		if err != nil {
			return false, fmt.Errorf("read members of Slack user group %s: %w", group, err)
		}
		for _, m := range members {
			if m == userID {
				return true, nil
			}
		}
	}
	return false, nil
}
