package bot

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/locksmithbot/locksmith/commands"
)

// Action IDs of the buttons locksmith renders. A button's value is only the
// request ID: on a click everything else is reloaded and checked again by the
// workflow, so nothing in a (forgeable) payload is trusted beyond "who clicked
// which button for which request".
const (
	ActionIDApprove = "locksmith_approve"
	ActionIDDeny    = "locksmith_deny"
	ActionIDCancel  = "locksmith_cancel"
	ActionIDReset   = "locksmith_reset"
	ActionIDTAP     = "locksmith_tap"
	ActionIDRevoke  = "locksmith_revoke"
	ActionIDEnable  = "locksmith_enable"
	ActionIDReview  = "locksmith_review"
)

// actionKinds maps action IDs to what the workflow calls them.
var actionKinds = map[string]commands.ActionKind{
	ActionIDApprove: commands.ActionApprove,
	ActionIDDeny:    commands.ActionDeny,
	ActionIDCancel:  commands.ActionCancel,
	ActionIDReset:   commands.ActionReset,
	ActionIDTAP:     commands.ActionTAP,
	ActionIDRevoke:  commands.ActionRevoke,
	ActionIDEnable:  commands.ActionEnable,
	ActionIDReview:  commands.ActionReview,
}

// recipeButtons are the buttons of the recipes an approval may cover, in the
// order Notice.Offer lists them.
var recipeButtons = map[commands.Recipe]struct{ actionID, label string }{
	commands.RecipeResetPassword:       {ActionIDReset, "Reset password now"},
	commands.RecipeTemporaryAccessPass: {ActionIDTAP, "Temporary Access Pass now"},
	commands.RecipeRevokeSessions:      {ActionIDRevoke, "Revoke sessions"},
	commands.RecipeEnableAccount:       {ActionIDEnable, "Re-enable account"},
}

// Block IDs. Slack requires them unique within a message, and slack-go only
// recognises a click as a block action when the action carries one.
const (
	blockApprovalActions = "locksmith_approval_actions"
	blockNoticeActions   = "locksmith_notice_actions"
	blockReviewActions   = "locksmith_review_actions"
)

// Slack's limits (Block Kit reference) and locksmith's own truncation lengths.
const (
	maxSectionText = 3000 // section.text
	maxFieldText   = 2000 // each section field
	maxContextText = 2000 // context element text
	maxBlocks      = 50   // blocks per message
	maxFallback    = 3000 // what we send as `text` next to blocks (Slack allows 40k)
	maxReplyText   = 3000 // ephemeral replies

	maxNameRunes   = 100 // customer, user, role and domain names
	maxReasonRunes = 300 // the requester's free text
	maxIDRunes     = 64  // tenant, object and request IDs
	maxRoles       = 10  // admin roles listed before "+N more"
)

// slackUserID matches what may safely be put inside <@…>: anything else is shown
// as escaped text, so a crafted ID cannot become a broadcast mention.
var slackUserID = regexp.MustCompile(`^[UW][A-Z0-9]{2,30}$`)

// renderCard renders the approval request for the approval channel. Every string
// field is escaped here; Status arrives escaped from the workflow.
func renderCard(c commands.Card) (blocks []slack.Block, fallback string) {
	user := esc(c.UserDisplayName, maxNameRunes)
	upn := esc(c.UserPrincipalName, maxNameRunes)
	customer := esc(c.CustomerName, maxNameRunes)
	fields := []*slack.TextBlockObject{
		mrkdwn("*Requester*\n"+mention(c.RequesterID), maxFieldText),
		mrkdwn("*Customer*\n"+customer+"\n"+esc(c.CustomerDomain, maxNameRunes)+"\nTenant ID "+esc(c.TenantID, maxIDRunes), maxFieldText),
		mrkdwn("*User*\n"+user+"\n"+upn, maxFieldText),
		mrkdwn("*Admin roles*\n"+roleList(c.AdminRoles), maxFieldText),
		mrkdwn("*Role needed*\n"+esc(c.RoleNeeded, maxNameRunes), maxFieldText),
		mrkdwn("*Expires*\n"+slackDate(c.ExpiresAt), maxFieldText),
	}
	// Policy details only where a policy asks for more than today's single
	// approval, so a card under the default rule looks as it always did.
	if c.ApprovalsRequired > 1 {
		got := fmt.Sprintf("%d of %d", len(c.Approvers), c.ApprovalsRequired)
		for i, a := range c.Approvers {
			sep := ", "
			if i == 0 {
				sep = ": "
			}
			got += sep + mention(a)
		}
		fields = append(fields, mrkdwn("*Approvals*\n"+got, maxFieldText))
	}
	if c.Ticket != "" {
		fields = append(fields, mrkdwn("*Ticket*\n"+ticketLink(c.Ticket, c.TicketURL), maxFieldText))
	}
	if c.PolicyName != "" {
		fields = append(fields, mrkdwn("*Policy*\n"+esc(c.PolicyName, maxNameRunes), maxFieldText))
	}
	if c.ReviewedBy != "" {
		fields = append(fields, mrkdwn("*Reviewed by*\n"+mention(c.ReviewedBy), maxFieldText))
	}
	header := "Password reset request"
	if c.BreakGlass {
		header = "Break-glass password reset"
	}
	reason := "_none given_"
	if strings.TrimSpace(c.Reason) != "" {
		reason = esc(c.Reason, maxReasonRunes)
	}
	status := c.Status
	if status == "" {
		status = "Waiting for approval"
	}
	blocks = []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, header, false, false)),
		slack.NewSectionBlock(nil, fields, nil),
		slack.NewSectionBlock(mrkdwn("*Reason*\n"+reason, maxSectionText), nil, nil),
		slack.NewSectionBlock(mrkdwn("*Status:* "+status, maxSectionText), nil, nil),
		slack.NewContextBlock("", mrkdwn("Request "+esc(c.RequestID, maxIDRunes)+" · user object ID "+esc(c.UserObjectID, maxIDRunes), maxContextText)),
	}
	if len(c.Facts) > 0 {
		// Microsoft Graph's view of the user, between the reason and the
		// status; the lines arrive escaped.
		graph := slack.NewSectionBlock(mrkdwn("*Microsoft Graph*\n"+strings.Join(c.Facts, "\n"), maxSectionText), nil, nil)
		blocks = slices.Insert(blocks, 3, slack.Block(graph))
	}
	if c.Buttons {
		approve := slack.NewButtonBlockElement(ActionIDApprove, c.RequestID, plain("Approve")).WithStyle(slack.StylePrimary)
		// Deny opens a form asking why (denyForm), which also confirms it.
		deny := slack.NewButtonBlockElement(ActionIDDeny, c.RequestID, plain("Deny…")).WithStyle(slack.StyleDanger)
		blocks = append(blocks, slack.NewActionBlock(blockApprovalActions, approve, deny))
	}
	if c.Review {
		ack := slack.NewButtonBlockElement(ActionIDReview, c.RequestID, plain("Acknowledge")).WithStyle(slack.StylePrimary)
		blocks = append(blocks, slack.NewActionBlock(blockReviewActions, ack))
	}
	fallback = header + " for " + upn + " at " + customer
	if c.Status != "" {
		fallback += ": " + c.Status
	}
	return blocks, clip(fallback, maxFallback)
}

// ticketLink shows a ticket as a link to the PSA when there is a URL. The
// URL is built by the workflow from the operator's template with the ticket
// path-escaped; both parts are entity-escaped here.
func ticketLink(ticket, url string) string {
	if url == "" || !strings.HasPrefix(url, "https://") {
		return esc(ticket, maxNameRunes)
	}
	return "<" + escapeEntities(strings.ReplaceAll(url, "|", "%7C")) + "|" + esc(ticket, maxNameRunes) + ">"
}

// renderNotice renders a DM to a requester or approver. Text arrives escaped.
func renderNotice(n commands.Notice) (blocks []slack.Block, fallback string) {
	text := n.Text
	if strings.TrimSpace(text) == "" {
		text = "(no details)" // Slack rejects an empty text object
	}
	blocks = []slack.Block{slack.NewSectionBlock(mrkdwn(text, maxSectionText), nil, nil)}
	var buttons []slack.BlockElement
	if n.ResetButton != "" {
		buttons = append(buttons, slack.NewButtonBlockElement(ActionIDReset, n.ResetButton, plain("Reset password now")).WithStyle(slack.StylePrimary))
	}
	for i, r := range n.Offer {
		if b, ok := recipeButtons[r]; ok && n.OfferRequest != "" {
			btn := slack.NewButtonBlockElement(b.actionID, n.OfferRequest, plain(b.label))
			if i == 0 {
				btn = btn.WithStyle(slack.StylePrimary)
			}
			buttons = append(buttons, btn)
		}
	}
	if n.CancelButton != "" {
		buttons = append(buttons, slack.NewButtonBlockElement(ActionIDCancel, n.CancelButton, plain("Withdraw request")))
	}
	if len(buttons) > 0 {
		blocks = append(blocks, slack.NewActionBlock(blockNoticeActions, buttons...))
	}
	if (n.ResetButton != "" || n.OfferRequest != "") && !n.ValidUntil.IsZero() {
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn("Valid until "+slackDate(n.ValidUntil)+". The password is shown to you only, in this conversation.", maxContextText)))
	}
	return blocks, clip(text, maxFallback)
}

// errUnshowable is returned instead of rendering a password that a Slack code
// span cannot show faithfully. The generator never produces one; this only
// guards against a future change there.
var errUnshowable = errors.New("bot: password contains characters Slack cannot show in a code span")

// renderDelivery renders the ephemeral password message. It is the only place in
// bot that reveals a password, and its result goes only to chat.postEphemeral.
// The fallback text (used for notifications and previews) never contains it.
func renderDelivery(d commands.Delivery) (blocks []slack.Block, fallback string, err error) {
	if d.Password.IsZero() {
		return nil, "", errors.New("bot: no password to deliver")
	}
	pw := d.Password.Reveal()
	if strings.ContainsFunc(pw, func(r rune) bool { return r == '`' || unicode.IsControl(r) || unicode.IsSpace(r) }) {
		return nil, "", errUnshowable
	}
	upn := esc(d.UserPrincipalName, maxNameRunes)
	who := upn
	if strings.TrimSpace(d.UserDisplayName) != "" {
		who = esc(d.UserDisplayName, maxNameRunes)
	}
	kind, change := "Temporary password", "• "+who+" must change it at next sign-in.\n"
	if d.TAP != nil {
		// A Temporary Access Pass replaces sign-in, not the password: the user
		// signs in with it and registers a method of their own.
		use := "usable more than once"
		if d.TAP.UsableOnce {
			use = "usable once"
		}
		kind, change = "Temporary Access Pass", fmt.Sprintf("• Valid for %s from now, %s. %s signs in with it and then sets up their own sign-in method.\n",
			minutesText(d.TAP.Lifetime), use, who)
	}
	head := "*" + kind + " for " + who + "* (" + upn + ")"
	if strings.TrimSpace(d.CustomerName) != "" {
		head += " at " + esc(d.CustomerName, maxNameRunes)
	}
	// & < > must be escaped even inside a code span; Slack shows them decoded.
	head += "\n`" + escapeEntities(pw) + "`"
	blocks = []slack.Block{
		slack.NewSectionBlock(mrkdwn(head, maxSectionText), nil, nil),
		slack.NewSectionBlock(mrkdwn(
			change+
				"• Give it to them by a verified channel (phone call to a known number, in person). Never by email or chat.\n"+
				"• Only you can see this message, and it disappears when Slack reloads. locksmith keeps no copy.",
			maxSectionText), nil, nil),
	}
	return blocks, kind + " for " + upn, nil
}

// minutesText says a whole-minute duration the way people do: "90 minutes",
// "2 hours".
func minutesText(d time.Duration) string {
	m := int(d / time.Minute)
	switch {
	case m%60 == 0 && m >= 120:
		return fmt.Sprintf("%d hours", m/60)
	case m == 60:
		return "1 hour"
	}
	return fmt.Sprintf("%d minutes", m)
}

// esc escapes user or directory text for mrkdwn and truncates it; empty text
// becomes a dash so a field never reads as missing by accident.
func esc(s string, maxRunes int) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return commands.Escape(s, maxRunes)
}

var entityEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func escapeEntities(s string) string { return entityEscaper.Replace(s) }

// mention renders <@U…> for a well-formed Slack user ID and escaped text otherwise.
func mention(userID string) string {
	if slackUserID.MatchString(userID) {
		return "<@" + userID + ">"
	}
	return esc(userID, maxIDRunes)
}

func roleList(roles []string) string {
	if len(roles) == 0 {
		return "none"
	}
	shown := roles
	if len(shown) > maxRoles {
		shown = shown[:maxRoles]
	}
	parts := make([]string, len(shown))
	for i, r := range shown {
		parts[i] = esc(r, maxNameRunes)
	}
	out := strings.Join(parts, ", ")
	if len(roles) > maxRoles {
		out += fmt.Sprintf(" (+%d more)", len(roles)-maxRoles)
	}
	return out
}

// slackDate renders t in each reader's own time zone with Slack's date syntax;
// the fallback (for clients that cannot) is UTC.
func slackDate(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04 UTC"))
}

func mrkdwn(text string, maxChars int) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, clip(text, maxChars), false, false)
}

func plain(text string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, text, false, false)
}

// clip cuts already-escaped mrkdwn to maxChars runes with a visible ellipsis,
// backing off so that no half entity (&am…) or half mention/link (<@U…) is left
// at the end to be misread.
func clip(s string, maxChars int) string {
	if utf8.RuneCountInString(s) <= maxChars {
		return s
	}
	cut := string([]rune(s)[:maxChars-1])
	if i := strings.LastIndexByte(cut, '&'); i >= 0 && !strings.Contains(cut[i:], ";") {
		cut = cut[:i]
	}
	if i := strings.LastIndexByte(cut, '<'); i >= 0 && !strings.Contains(cut[i:], ">") {
		cut = cut[:i]
	}
	return cut + "…"
}
