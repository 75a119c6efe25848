package commands

import (
	"context"
	"errors"
	"fmt"
)

// The point of no return. Until the workflow asks Partner Center to change a
// password, stopping it (shutdown) loses nothing: nothing has changed, and the
// requester can be told so. From the moment the PATCH is about to be sent, the
// password may change, and then it must be shown to the requester and the
// outcome recorded, or the user is left with a password nobody knows. So the
// workflow marks that moment, and the transport that runs it keeps the work
// going through shutdown (within its grace period) from then on.

// errNotStarted marks work stopped by shutdown before Partner Center was asked
// to change anything: nothing changed, and an approval is kept.
var errNotStarted = errors.New("stopped before Partner Center was called")

type commitKey struct{}

// WithPointOfNoReturn returns ctx for one Workflow call. reached is called when
// the workflow is about to ask Partner Center to change something; it returns
// false to refuse (the transport is shutting down and has already given up on
// this work), and the workflow then stops without calling Partner Center. Once
// reached has returned true the workflow no longer honours ctx's cancellation,
// only its deadline, and the transport must let the call finish.
func WithPointOfNoReturn(ctx context.Context, reached func() bool) context.Context {
	return context.WithValue(ctx, commitKey{}, reached)
}

// pointOfNoReturn is called just before a Partner Center write. It returns the
// context the write and everything after it (delivery, outcome record) run
// under: ctx's values and deadline, without its cancellation. It fails, and
// nothing may be written, when ctx is already cancelled or the transport
// refuses.
func pointOfNoReturn(ctx context.Context) (context.Context, context.CancelFunc, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errNotStarted, err)
	}
	if reached, ok := ctx.Value(commitKey{}).(func() bool); ok && !reached() {
		return nil, nil, fmt.Errorf("%w: %w", errNotStarted, context.Canceled)
	}
	committed := context.WithoutCancel(ctx)
	if deadline, ok := ctx.Deadline(); ok {
		c, cancel := context.WithDeadline(committed, deadline)
		return c, cancel, nil
	}
	c, cancel := context.WithCancel(committed)
	return c, cancel, nil
}
