// Package approvals keeps the sign-off record of every password reset: the
// request and its states, stored in SQLite or PostgreSQL, and the hash-chained
// audit trail written in the same transaction as each state change.
//
// Every state change is one conditional UPDATE (WHERE id = ? AND state = ?,
// plus the rule it enforces), so two clicks, two replicas or a redelivered
// envelope cannot make the same transition twice (docs/architecture.md, guarantee 3); the
// loser gets a *ConflictError carrying the request as the winner left it.
//
// approvals stores no secret, ever: the refresh token is stored only as
// ciphertext the caller sealed (SaveSecret).
package approvals

import (
	"crypto/rand"
	"fmt"
	"time"
)

// State is where a request is in its life. The same text is used in the
// database, the logs and the audit trail.
type State string

const (
	StatePending   State = "pending"   // waiting for an approver
	StateApproved  State = "approved"  // approved; the requester may reset until UseBy
	StateDenied    State = "denied"    // final
	StateCancelled State = "cancelled" // withdrawn by the requester; final
	StateExpired   State = "expired"   // not decided, or not used, in time; final
	StateResetting State = "resetting" // the requester clicked "Reset password now"; Partner Center call in flight
	StateDone      State = "done"      // password reset; final
	StateFailed    State = "failed"    // reset failed for good, or its outcome is unknown; final
)

// States lists every state, in life-cycle order.
var States = []State{
	StatePending, StateApproved, StateDenied, StateCancelled,
	StateExpired, StateResetting, StateDone, StateFailed,
}

// transitions is the whole state machine, as data. resetting → approved is the
// way back after a transient Partner Center failure, so the requester may
// click again; every state not listed as a key is final.
var transitions = map[State][]State{
	StatePending:   {StateApproved, StateDenied, StateCancelled, StateExpired},
	StateApproved:  {StateResetting, StateExpired},
	StateResetting: {StateDone, StateFailed, StateApproved},
}

// CanTransition reports whether a request in state from may move to state to.
func CanTransition(from, to State) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Final reports whether no transition leaves s.
func (s State) Final() bool { return s.Valid() && len(transitions[s]) == 0 }

// Valid reports whether s is one of States.
func (s State) Valid() bool {
	for _, v := range States {
		if v == s {
			return true
		}
	}
	return false
}

// Request is one password-reset request and everything decided about it.
// Times are UTC, kept to the microsecond (PostgreSQL's resolution) on both
// backends so a value read back equals the value returned when it was written.
type Request struct {
	ID string // UUID, set by Create

	RequesterID, RequesterName string // Slack user ID and handle

	TenantID, CustomerName, CustomerDomain       string
	TargetObjectID, TargetUPN, TargetDisplayName string
	TargetRoles                                  []string // directory role display names; nil for none
	RoleNeeded                                   string   // "User Administrator" or "Privileged Authentication Administrator"
	// TargetFacts is what Microsoft Graph said about the target (opaque JSON
	// the workflow writes and reads); "" when Graph was not asked.
	TargetFacts string
	// Recipes are what the approval covers besides or instead of the password
	// reset ("temporary_access_pass", …); nil means the reset only.
	Recipes []string

	Reason        string
	CorrelationID string // of the slash command that created the request

	State     State
	CreatedAt time.Time
	ExpiresAt time.Time // a pending request must be decided before this

	// DeciderID and DeciderName are who approved, denied or cancelled it.
	DeciderID, DeciderName string
	DecidedAt              time.Time

	UseBy     time.Time // set on approve: the reset must be claimed before it
	ClaimedAt time.Time // set when resetting was claimed; cleared when released
	// ResetCorrelationID is the correlation ID of the click that claimed the
	// reset (the MS-CorrelationId of its Partner Center calls); the reset's
	// audit rows carry it.
	ResetCorrelationID string
	FinishedAt         time.Time

	// Detail explains the outcome (a denial reason, a failure, "outcome
	// unknown: …"). It never holds a secret.
	Detail string

	// ApprovalChannel and ApprovalTS locate the approval message in Slack.
	ApprovalChannel, ApprovalTS string

	// PolicyName is the approval policy the request was made under, Tier the
	// target's tier ("standard" or "privileged") that selected it.
	PolicyName, Tier string
	// Ticket is the ticket reference found in the reason, TicketURL its link
	// in the PSA; both empty when the policy wants none.
	Ticket, TicketURL string

	// ApprovalsRequired is how many distinct people must approve (at least 1),
	// fixed when the request is made. ApprovalsCount is how many have.
	ApprovalsRequired, ApprovalsCount int
	// Approvals are the approvals given so far, oldest first. Filled by Get
	// and Approve; nil elsewhere.
	Approvals []Approval

	// RemindedAt and EscalatedAt are when the approvers were reminded and
	// when the request was escalated; zero until then.
	RemindedAt, EscalatedAt time.Time

	// BreakGlass marks a reset made without approval by someone on the
	// break-glass list; ReviewedBy (ID and name) and ReviewedAt say who
	// acknowledged it afterwards, ReviewRemindedAt when reviewers were last
	// reminded.
	BreakGlass                 bool
	ReviewedBy, ReviewedByName string
	ReviewedAt                 time.Time
	ReviewRemindedAt           time.Time

	// Version increases with every change to the row.
	Version int64
}

// Approval is one person's approval of a request.
type Approval struct {
	ApproverID, ApproverName string
	At                       time.Time
}

// newID returns a random (version 4) UUID.
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
