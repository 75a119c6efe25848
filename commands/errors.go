package commands

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/locksmithbot/locksmith/partner"
)

// partnerProblem turns a Partner Center error into a sentence for the person in
// Slack. Only the kind, status, code, Partner Center's own description and the
// correlation ID are shown; the full error goes to the log. Operator problems
// (broken credentials) say so, so a technician knows it is not their fault.
func partnerProblem(ctx context.Context, err error) string {
	ref := partner.CorrelationID(ctx)
	var pe *partner.Error
	if errors.As(err, &pe) && pe.CorrelationID != "" {
		ref = pe.CorrelationID
	}
	refText := ""
	if ref != "" {
		refText = fmt.Sprintf(" (ref `%s`)", Escape(ref, 40))
	}
	detail := ""
	if pe != nil {
		switch {
		case pe.Code != "" && pe.Description != "":
			detail = fmt.Sprintf(": %d, code %s, “%s”", pe.Status, Escape(pe.Code, 20), Escape(pe.Description, 300))
		case pe.Description != "":
			detail = fmt.Sprintf(": %d, “%s”", pe.Status, Escape(pe.Description, 300))
		case pe.Status != 0:
			detail = fmt.Sprintf(": HTTP %d", pe.Status)
		}
	}
	switch partner.KindOf(err) {
	case partner.KindThrottled:
		wait := "a minute"
		if pe != nil && pe.RetryAfter > 0 {
			wait = fmt.Sprintf("%d seconds", int(math.Ceil(pe.RetryAfter.Seconds())))
		}
		return fmt.Sprintf("Partner Center is throttling locksmith; try again in %s%s.", wait, refText)
	case partner.KindUnavailable:
		return fmt.Sprintf("Partner Center is unavailable right now; try again in a few minutes%s.", refText)
	case partner.KindUnauthorised:
		return fmt.Sprintf("locksmith's Partner Center credentials are not working; an operator must fix them (see `locksmith check`)%s.", refText)
	case partner.KindForbidden:
		return fmt.Sprintf("Partner Center refused%s. locksmith's service account may lack the GDAP role for this customer, or the customer relationship has ended%s.", detail, refText)
	case partner.KindNotFound:
		return fmt.Sprintf("Partner Center could not find it%s%s.", detail, refText)
	case partner.KindRejected:
		return fmt.Sprintf("Partner Center rejected the request%s%s.", detail, refText)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Sprintf("It took too long and was stopped%s.", refText)
	}
	return fmt.Sprintf("Something went wrong%s.", refText)
}

// resetFailure says what a failed reset attempt means for the user's password
// and for the approval.
type resetFailure int

const (
	// notApplied: nothing changed in Partner Center (throttled, credentials
	// refused, no password generated). Trying again later is safe.
	notApplied resetFailure = iota
	// maybeApplied: the PATCH may have reached Partner Center (5xx after retries,
	// a timeout, a cancellation). The password may have changed, and nobody saw
	// it; a new attempt sets a new password, which supersedes it.
	maybeApplied
	// refused: Partner Center refused the reset for good (bad request, forbidden,
	// user not found). Nothing changed and trying again will not help.
	refused
)

func classifyResetFailure(err error) resetFailure {
	// An earlier attempt may have reached Partner Center: what later attempts
	// answered (throttled, refused, not found) says nothing about it.
	if partner.MaybeApplied(err) {
		return maybeApplied
	}
	switch partner.KindOf(err) {
	case partner.KindThrottled, partner.KindUnauthorised:
		return notApplied
	case partner.KindRejected, partner.KindForbidden, partner.KindNotFound:
		return refused
	case partner.KindUnavailable:
		return maybeApplied
	}
	if errors.Is(err, errGeneratePassword) {
		return notApplied
	}
	// Timeouts, cancellations and anything unforeseen: be honest that the
	// outcome is unknown rather than claim nothing changed.
	return maybeApplied
}

// partnerDetail is the audit trail's record of a Partner Center failure: status,
// code and correlation ID, never a body.
func partnerDetail(err error) string {
	var pe *partner.Error
	if errors.As(err, &pe) {
		return fmt.Sprintf("%s: status %d, code %q, %q, correlation %s", pe.Kind, pe.Status, pe.Code, pe.Description, pe.CorrelationID)
	}
	return err.Error()
}
