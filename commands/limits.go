package commands

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/locksmithbot/locksmith/messages"
	"github.com/locksmithbot/locksmith/partner"
)

// Limit is at most N counted attempts in any window of Window. The zero
// Limit is no limit.
type Limit struct {
	N      int
	Window time.Duration
}

func (l Limit) set() bool { return l.N > 0 && l.Window > 0 }

func (l Limit) String() string { return fmt.Sprintf("%d per %s", l.N, l.Window) }

// Limits bound how fast resets can be asked for, so a compromised Slack
// account (or a runaway script) cannot reset everyone: per requester, every
// /reset-password they type counts (checks and refusals too, so nobody can
// flood the audit trail either); per customer, every request recorded for it.
type Limits struct {
	PerRequester Limit
	PerCustomer  Limit
}

// admit counts one attempt against a limit. It returns the reply that refuses
// it, or "" when it may go on. A store failure lets the attempt through: the
// limit is a brake, and every request still needs its grants and approvals.
// Of the refusals in one window only the first is audited (and so posted to
// the audit channel); the rest are logged, so a flood stays bounded.
func (s *Service) admit(ctx context.Context, log *slog.Logger, l Limit, key, what string, a actor, correlationID string, c *partner.Customer) string {
	if !l.set() {
		return ""
	}
	adm, err := s.store.Admit(ctx, key, l.N, l.Window)
	if err != nil {
		log.Error("velocity limit check failed; letting the attempt through", "key", key, "err", err)
		return ""
	}
	if adm.Allowed {
		return ""
	}
	s.metrics.Reset("rate_limited")
	log.Warn("velocity limit reached", "key", key, "count", adm.Count, "limit", l.String())
	if adm.NoticeDue {
		s.refuse(ctx, a, correlationID, c, nil, fmt.Sprintf("velocity limit: %s reached %d attempts in %s (limit %s); further refusals in this window are only logged",
			what, adm.Count, l.Window, l))
	}
	// what above is the audit trail's English; the reply names the same
	// subject in the reader's language.
	who := texts.Text(a.Lang, messages.LimitWhoYou, nil)
	if c != nil {
		who = texts.Text(a.Lang, messages.LimitWhoCustomer, messages.Data{"Customer": Escape(c.Name, 100)})
	}
	return texts.Text(a.Lang, messages.ReplyTooManyResets, messages.Data{
		"Who": who, "Count": adm.Count, "Window": l.Window.String(), "Limit": l.N})
}
