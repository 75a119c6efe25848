package commands

import (
	"context"
	"fmt"
	"strings"

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
}

// roleRank orders the two roles a reset can need. A Privileged Authentication
// Administrator may reset everyone a User Administrator may (reference §9).
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
// strongest role they hold for it. Group lookups that fail make the whole check
// fail: a permission check that cannot be completed refuses (fail closed).
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

// grantsNaming returns the grants that name userID, directly or through a
// Slack user group.
func (s *Service) grantsNaming(ctx context.Context, grants []Grant, userID string) ([]Grant, error) {
	var held []Grant
	for _, g := range grants {
		member, err := s.grantNames(ctx, g, userID)
		if err != nil {
			return nil, err
		}
		if member {
			held = append(held, g)
		}
	}
	return held, nil
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
