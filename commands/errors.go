package commands

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/locksmithbot/locksmith/messages"
	"github.com/locksmithbot/locksmith/partner"
)

// partnerProblem turns a Partner Center error into a sentence for the person in
// Slack, in lang: locksmith's own classification of the failure, the HTTP status and,
// where Partner Center uses one, its numeric error code, and the correlation ID
// that finds the full error in the log. Partner Center's own description never
// goes into Slack, the database or the audit trail: it is text locksmith does
// not control, and a server that echoed the request (the password, escaped or
// cut short) would leak it there. It goes to the log only, scrubbed (see
// partner.Error). Operator problems (broken credentials) say so, so a technician
// knows it is not their fault.
func partnerProblem(ctx context.Context, lang messages.Lang, err error) string {
	ref := partner.CorrelationID(ctx)
	var pe *partner.Error
	if errors.As(err, &pe) && pe.CorrelationID != "" {
		ref = pe.CorrelationID
	}
	refText := ""
	if ref != "" {
		refText = texts.Text(lang, messages.PartnerRef, messages.Data{"Ref": Escape(ref, 40)})
	}
	detail := ""
	if pe != nil && pe.Status != 0 {
		detail = texts.Text(lang, messages.PartnerDetailStatus, messages.Data{"Status": pe.Status})
		if code := numericCode(pe.Code); code != "" {
			detail = texts.Text(lang, messages.PartnerDetailCode, messages.Data{"Status": pe.Status, "Code": code})
		}
	}
	d := messages.Data{"Ref": refText, "Detail": detail}
	switch partner.KindOf(err) {
	case partner.KindThrottled:
		d["Wait"] = texts.Text(lang, messages.PartnerWaitMinute, nil)
		if pe != nil && pe.RetryAfter > 0 {
			d["Wait"] = texts.Count(lang, messages.PartnerWaitSeconds, int(math.Ceil(pe.RetryAfter.Seconds())), nil)
		}
		return texts.Text(lang, messages.PartnerThrottled, d)
	case partner.KindUnavailable:
		return texts.Text(lang, messages.PartnerUnavailable, d)
	case partner.KindUnauthorised:
		return texts.Text(lang, messages.PartnerUnauthorised, d)
	case partner.KindForbidden:
		return texts.Text(lang, messages.PartnerForbidden, d)
	case partner.KindNotFound:
		return texts.Text(lang, messages.PartnerNotFound, d)
	case partner.KindRejected:
		return texts.Text(lang, messages.PartnerRejected, d)
	}
	if errors.Is(err, errNotStarted) {
		return texts.Text(lang, messages.PartnerNotStarted, d)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return texts.Text(lang, messages.PartnerTimeout, d)
	}
	return texts.Text(lang, messages.PartnerOther, d)
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
	if errors.Is(err, errGeneratePassword) || errors.Is(err, errNotStarted) {
		return notApplied
	}
	// Timeouts, cancellations and anything unforeseen: be honest that the
	// outcome is unknown rather than claim nothing changed.
	return maybeApplied
}

// partnerDetail is the audit trail's record of a Partner Center failure:
// locksmith's classification, status, numeric code and correlation ID, never
// Partner Center's description (see partnerProblem) and never a body.
func partnerDetail(err error) string {
	var pe *partner.Error
	if errors.As(err, &pe) {
		d := fmt.Sprintf("%s: status %d", pe.Kind, pe.Status)
		if code := numericCode(pe.Code); code != "" {
			d += ", code " + code
		}
		if pe.CorrelationID != "" {
			d += ", correlation " + pe.CorrelationID
		}
		return d
	}
	if errors.Is(err, errNotStarted) {
		return "stopped by shutdown before Partner Center was called; nothing changed"
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return "timed out or cancelled"
	}
	if errors.Is(err, errGeneratePassword) {
		return "no password could be generated"
	}
	return "unexpected error (see the log)"
}

// numericCode returns Partner Center's error code when it is a plain number
// (1000, 20002, …), the form its documentation lists; any other code is server
// text and is left to the log.
func numericCode(code string) string {
	if code == "" || len(code) > 12 {
		return ""
	}
	for _, r := range code {
		if r < '0' || r > '9' {
			return ""
		}
	}
	return code
}
