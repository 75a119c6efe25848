package commands

import (
	"context"
	"log/slog"

	"github.com/locksmithbot/locksmith/approvals"
)

// offerReset owes the requester the DM with the *Reset password now* button,
// after a change already committed (a break-glass reset that must be tried
// again). That DM is the only place the button appears, so the outbox keeps
// trying it for as long as the approval can be used, and if the requester
// still cannot be reached the card says so and the trail records it
// (deliverer.afterGivingUp).
func (s *Service) offerReset(ctx context.Context, log *slog.Logger, r approvals.Request, n Notice) {
	s.enqueue(ctx, log, owedOffer(r, n))
}
