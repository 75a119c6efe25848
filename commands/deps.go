package commands

import (
	"context"
	"errors"
	"time"

	"github.com/locksmithbot/locksmith/internal/secret"
	"github.com/locksmithbot/locksmith/messages"
)

// This file declares what the workflow needs from Slack and what Slack needs from
// the workflow. bot implements Messenger and Groups and calls Workflow; commands
// never imports slack-go, so everything here is transport-neutral.

// Messenger is what the workflow asks Slack to show. *bot.Bot implements it.
// Every method returns an error wrapping the Slack error code on failure.
type Messenger interface {
	// PostApproval posts the approval card to the approval channel and returns where
	// it landed (with a permalink for the requester's notice).
	PostApproval(ctx context.Context, channel string, c Card) (MessageRef, error)
	// UpdateApproval replaces the card in place (chat.update), e.g. without buttons
	// after a decision.
	UpdateApproval(ctx context.Context, ref MessageRef, c Card) error
	// Notify sends a normal (persistent) DM to a user. It never carries a secret.
	Notify(ctx context.Context, userID string, n Notice) error
	// DeliverPassword opens the DM with userID and posts the password there with
	// chat.postEphemeral (channel = that DM, user = userID): the only Slack call that
	// ever carries a password.
	DeliverPassword(ctx context.Context, userID string, d Delivery) error
	// PostChannel posts a one-line message (mrkdwn, already escaped) to a channel;
	// used for the optional audit channel. Never a secret.
	PostChannel(ctx context.Context, channel, text string) error
	// PostThread posts a message (mrkdwn, already escaped) in the thread of a
	// message, e.g. a reminder under the approval card. Never a secret.
	PostThread(ctx context.Context, parent MessageRef, text string) error
}

// Groups answers Slack user-group membership, for grants that name user groups.
type Groups interface {
	// Members returns the user IDs in the group (usergroups.users.list).
	Members(ctx context.Context, usergroupID string) ([]string, error)
}

// People answers who a Slack user is (users.info), so that only active full
// members of the workspace act through locksmith, and the audit trail names
// them by their real name rather than a handle they can change.
type People interface {
	// Person describes userID. An error means Slack could not say; the caller
	// then refuses (fails closed), except for ErrPeopleNotReadable.
	Person(ctx context.Context, userID string) (Person, error)
}

// ErrPeopleNotReadable is what People returns (wrapped) when the Slack app may
// not read users at all: an app installed from a manifest older than the
// users:read scope. Such a deployment worked before locksmith checked account
// kinds, so it keeps working: grants are honoured as they were, without the
// member check, and start-up and `locksmith check` tell the operator to
// reinstall the app. Any other error still fails closed.
var ErrPeopleNotReadable = errors.New("the Slack app lacks the users:read scope")

// Person is a Slack user as users.info describes them.
type Person struct {
	ID              string
	RealName        string // "" when Slack has none
	Deleted         bool   // deactivated
	Bot             bool
	Restricted      bool // a guest (multi-channel, or single-channel when UltraRestricted)
	UltraRestricted bool
	// Locale is the language the person's Slack client is set to ("ja-JP",
	// "en-US"); "" when Slack does not say.
	Locale string
}

// Problem says why the person may not use locksmith even when a grant names
// them, or "" for an active full member.
func (p Person) Problem() string {
	switch {
	case p.Deleted:
		return "a deactivated account"
	case p.Bot:
		return "a bot"
	case p.UltraRestricted:
		return "a single-channel guest"
	case p.Restricted:
		return "a guest"
	}
	return ""
}

// Invocation is one /reset-password typed in Slack.
type Invocation struct {
	UserID    string // who typed it (U…/W…)
	UserName  string // their Slack handle, for messages and the audit trail
	TeamID    string
	ChannelID string // where it was typed
	Text      string // everything after the command, as Slack delivered it
	// CorrelationID ties every log line, Partner Center call and audit row of this
	// request together (MS-CorrelationId).
	CorrelationID string
	// TriggerID is Slack's trigger_id for this invocation and EnvelopeID the
	// Socket Mode envelope that carried it. Slack redelivers an envelope whose ack
	// was late, with the same payload; the workflow acts on an invocation once,
	// keyed on TriggerID (EnvelopeID when there is none). Both empty: no
	// deduplication (callers that are not Slack).
	TriggerID, EnvelopeID string
	// RetryAttempt and RetryReason are Slack's, set on a redelivery (for the log).
	RetryAttempt int
	RetryReason  string
}

// ActionKind names a button locksmith renders.
type ActionKind string

const (
	ActionApprove ActionKind = "approve"
	ActionDeny    ActionKind = "deny"
	ActionCancel  ActionKind = "cancel" // the requester withdraws a pending request
	ActionReset   ActionKind = "reset"  // "Reset password now", requester only
	ActionReview  ActionKind = "review" // acknowledge a break-glass reset, anyone but its requester
)

// Action is one button click.
type Action struct {
	Kind          ActionKind
	RequestID     string // the button's value: only the request ID, everything else is reloaded
	UserID        string // who clicked
	UserName      string
	ChannelID     string // where the clicked message is
	MessageTS     string
	CorrelationID string
	// Reason is the reason given in the deny form; empty for other actions.
	Reason string
}

// Reply is what the person who typed or clicked sees, ephemerally. Text is mrkdwn
// with every piece of user or directory text already escaped (see Escape).
type Reply struct {
	Text string
}

// Workflow is what the transport calls; *Service implements it. Both methods run
// after the envelope has been acked, on the bot's worker pool.
type Workflow interface {
	SlashCommand(ctx context.Context, in Invocation) Reply
	Action(ctx context.Context, in Action) Reply
}

// MessageRef says where a posted message is.
type MessageRef struct {
	Channel   string
	TS        string
	Permalink string
}

// Card is the approval request as the approval channel shows it. bot renders it
// (Block Kit) and escapes every string field itself.
type Card struct {
	// Lang is the language of the card's labels and buttons (locale.channel).
	Lang              messages.Lang
	RequestID         string
	RequesterID       string
	CustomerName      string
	CustomerDomain    string
	TenantID          string
	UserDisplayName   string
	UserPrincipalName string
	UserObjectID      string
	AdminRoles        []string // display names of the target's directory roles, empty for none
	RoleNeeded        string   // "User Administrator" or "Privileged Authentication Administrator"
	Reason            string
	ExpiresAt         time.Time
	// Facts are what Microsoft Graph said about the user and what the
	// approval covers: mrkdwn lines, already escaped; empty without Graph.
	Facts []string
	// ApprovalsRequired and Approvers show progress ("1 of 2: @bob") when a
	// policy needs more than one approval; Approvers are Slack user IDs.
	ApprovalsRequired int
	Approvers         []string
	// Ticket and TicketURL are the ticket found in the reason and its link.
	Ticket, TicketURL string
	// PolicyName is shown when the request is under a policy other than the default.
	PolicyName string
	// BreakGlass marks a reset made without approval; Review offers the
	// "Acknowledge" button while nobody has reviewed it; ReviewedBy is the
	// Slack user ID of who did.
	BreakGlass, Review bool
	ReviewedBy         string
	// Status is the line shown under the details ("Approved by <@U…> at 10:02",
	// "Reset done", …); mrkdwn, already escaped. Empty while pending.
	Status string
	// Buttons is true only while the request is pending (Approve + Deny).
	Buttons bool
}

// Notice is a DM to a requester (or approver) about a request. Text is mrkdwn,
// already escaped. When ResetButton is set the DM carries a "Reset password now"
// button whose value is the request ID.
type Notice struct {
	// Lang is the recipient's language, for the buttons and the line under them.
	Lang        messages.Lang
	Text        string
	ResetButton string    // request ID, or "" for no button
	ValidUntil  time.Time // shown next to the button
	// CancelButton, when set, offers "Withdraw request" for that request ID.
	CancelButton string
	// Offer, when set, replaces ResetButton: one button per recipe the approval
	// covers ("Reset password now", "Temporary Access Pass now", "Revoke
	// sessions", "Re-enable account"), each valued OfferRequest.
	Offer        []Recipe
	OfferRequest string
}

// Delivery is the ephemeral password message.
type Delivery struct {
	// Lang is the requester's language.
	Lang messages.Lang
	// Password is the temporary password, or the Temporary Access Pass when
	// TAP is set: both follow the same rules (memory only, one ephemeral DM).
	Password          secret.Password
	UserPrincipalName string
	UserDisplayName   string
	CustomerName      string
	TAP               *TAPDetails
}

// TAPDetails describe a Temporary Access Pass being delivered.
type TAPDetails struct {
	Lifetime   time.Duration
	UsableOnce bool
}
