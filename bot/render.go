package bot

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/locksmithbot/locksmith/commands"
	"github.com/locksmithbot/locksmith/messages"
)

// texts is the catalogue every label, button and fixed line comes from.
var texts = messages.Default()

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
var recipeButtons = map[commands.Recipe]struct {
	actionID string
	label    messages.ID
}{
	commands.RecipeResetPassword:       {ActionIDReset, messages.ButtonReset},
	commands.RecipeTemporaryAccessPass: {ActionIDTAP, messages.ButtonTAP},
	commands.RecipeRevokeSessions:      {ActionIDRevoke, messages.ButtonRevoke},
	commands.RecipeEnableAccount:       {ActionIDEnable, messages.ButtonEnable},
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

// renderCard renders the approval request for the approval channel, in c.Lang.
// Every string field is escaped here; Status arrives escaped from the workflow.
func renderCard(c commands.Card) (blocks []slack.Block, fallback string) {
	l := c.Lang
	tx := func(id messages.ID, d messages.Data) string { return texts.Text(l, id, d) }
	user := esc(c.UserDisplayName, maxNameRunes)
	upn := esc(c.UserPrincipalName, maxNameRunes)
	customer := esc(c.CustomerName, maxNameRunes)
	roleNeeded := "—"
	if strings.TrimSpace(c.RoleNeeded) != "" {
		roleNeeded = esc(texts.RoleName(l, c.RoleNeeded), maxNameRunes)
	}
	fields := []*slack.TextBlockObject{
		mrkdwn(tx(messages.CardRequester, nil)+"\n"+mention(c.RequesterID), maxFieldText),
		mrkdwn(tx(messages.CardCustomer, nil)+"\n"+customer+"\n"+esc(c.CustomerDomain, maxNameRunes)+"\n"+
			tx(messages.CardTenantID, messages.Data{"TenantID": esc(c.TenantID, maxIDRunes)}), maxFieldText),
		mrkdwn(tx(messages.CardUser, nil)+"\n"+user+"\n"+upn, maxFieldText),
		mrkdwn(tx(messages.CardAdminRoles, nil)+"\n"+roleList(l, c.AdminRoles), maxFieldText),
		mrkdwn(tx(messages.CardRoleNeeded, nil)+"\n"+roleNeeded, maxFieldText),
		mrkdwn(tx(messages.CardExpires, nil)+"\n"+texts.Date(l, messages.DatePlain, c.ExpiresAt), maxFieldText),
	}
	// Policy details only where a policy asks for more than today's single
	// approval, so a card under the default rule looks as it always did.
	if c.ApprovalsRequired > 1 {
		got := tx(messages.CardApprovalsProgress, messages.Data{"Have": len(c.Approvers), "Required": c.ApprovalsRequired})
		if len(c.Approvers) > 0 {
			who := make([]string, len(c.Approvers))
			for i, a := range c.Approvers {
				who[i] = mention(a)
			}
			got += ": " + texts.List(l, who)
		}
		fields = append(fields, mrkdwn(tx(messages.CardApprovals, nil)+"\n"+got, maxFieldText))
	}
	if c.Ticket != "" {
		fields = append(fields, mrkdwn(tx(messages.CardTicket, nil)+"\n"+ticketLink(c.Ticket, c.TicketURL), maxFieldText))
	}
	if c.PolicyName != "" {
		fields = append(fields, mrkdwn(tx(messages.CardPolicy, nil)+"\n"+esc(c.PolicyName, maxNameRunes), maxFieldText))
	}
	if c.ReviewedBy != "" {
		fields = append(fields, mrkdwn(tx(messages.CardReviewedBy, nil)+"\n"+mention(c.ReviewedBy), maxFieldText))
	}
	header := tx(messages.CardHeader, nil)
	if c.BreakGlass {
		header = tx(messages.CardHeaderBreakGlass, nil)
	}
	reason := tx(messages.CardReasonNone, nil)
	if strings.TrimSpace(c.Reason) != "" {
		reason = esc(c.Reason, maxReasonRunes)
	}
	status := c.Status
	if status == "" {
		status = tx(messages.CardWaiting, nil)
	}
	blocks = []slack.Block{
		slack.NewHeaderBlock(plain(header)),
		slack.NewSectionBlock(nil, fields, nil),
		slack.NewSectionBlock(mrkdwn(tx(messages.CardReason, nil)+"\n"+reason, maxSectionText), nil, nil),
		slack.NewSectionBlock(mrkdwn(tx(messages.CardStatus, messages.Data{"Status": status}), maxSectionText), nil, nil),
		slack.NewContextBlock("", mrkdwn(tx(messages.CardContext, messages.Data{
			"RequestID": esc(c.RequestID, maxIDRunes), "ObjectID": esc(c.UserObjectID, maxIDRunes)}), maxContextText)),
	}
	if len(c.Facts) > 0 {
		// Microsoft Graph's view of the user, between the reason and the
		// status; the lines arrive escaped.
		graph := slack.NewSectionBlock(mrkdwn(tx(messages.CardGraph, nil)+"\n"+strings.Join(c.Facts, "\n"), maxSectionText), nil, nil)
		blocks = slices.Insert(blocks, 3, slack.Block(graph))
	}
	if c.Buttons {
		approve := slack.NewButtonBlockElement(ActionIDApprove, c.RequestID, plain(tx(messages.ButtonApprove, nil))).WithStyle(slack.StylePrimary)
		// Deny opens a form asking why (denyForm), which also confirms it.
		deny := slack.NewButtonBlockElement(ActionIDDeny, c.RequestID, plain(tx(messages.ButtonDeny, nil))).WithStyle(slack.StyleDanger)
		blocks = append(blocks, slack.NewActionBlock(blockApprovalActions, approve, deny))
	}
	if c.Review {
		ack := slack.NewButtonBlockElement(ActionIDReview, c.RequestID, plain(tx(messages.ButtonAcknowledge, nil))).WithStyle(slack.StylePrimary)
		blocks = append(blocks, slack.NewActionBlock(blockReviewActions, ack))
	}
	fallback = tx(messages.CardFallback, messages.Data{"User": upn, "Customer": customer})
	if c.BreakGlass {
		fallback = tx(messages.CardFallbackBreakGlass, messages.Data{"User": upn, "Customer": customer})
	}
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

// renderNotice renders a DM to a requester or approver, in n.Lang. Text
// arrives escaped.
func renderNotice(n commands.Notice) (blocks []slack.Block, fallback string) {
	l := n.Lang
	text := n.Text
	if strings.TrimSpace(text) == "" {
		text = texts.Text(l, messages.NoticeNoDetails, nil) // Slack rejects an empty text object
	}
	blocks = []slack.Block{slack.NewSectionBlock(mrkdwn(text, maxSectionText), nil, nil)}
	var buttons []slack.BlockElement
	if n.ResetButton != "" {
		buttons = append(buttons, slack.NewButtonBlockElement(ActionIDReset, n.ResetButton, plain(texts.Text(l, messages.ButtonReset, nil))).WithStyle(slack.StylePrimary))
	}
	for i, r := range n.Offer {
		if b, ok := recipeButtons[r]; ok && n.OfferRequest != "" {
			btn := slack.NewButtonBlockElement(b.actionID, n.OfferRequest, plain(texts.Text(l, b.label, nil)))
			if i == 0 {
				btn = btn.WithStyle(slack.StylePrimary)
			}
			buttons = append(buttons, btn)
		}
	}
	if n.CancelButton != "" {
		buttons = append(buttons, slack.NewButtonBlockElement(ActionIDCancel, n.CancelButton, plain(texts.Text(l, messages.ButtonWithdraw, nil))))
	}
	if len(buttons) > 0 {
		blocks = append(blocks, slack.NewActionBlock(blockNoticeActions, buttons...))
	}
	if (n.ResetButton != "" || n.OfferRequest != "") && !n.ValidUntil.IsZero() {
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn(texts.Text(l, messages.NoticeValidUntil, messages.Data{
			"When": texts.Date(l, messages.DatePlain, n.ValidUntil)}), maxContextText)))
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
	l := d.Lang
	head := texts.Text(l, messages.DeliveryHead, messages.Data{"Who": who, "UPN": upn})
	rules := texts.Text(l, messages.DeliveryRules, messages.Data{"Who": who})
	fallback = texts.Text(l, messages.DeliveryFallback, messages.Data{"UPN": upn})
	customer := ""
	if strings.TrimSpace(d.CustomerName) != "" {
		customer = esc(d.CustomerName, maxNameRunes)
		head = texts.Text(l, messages.DeliveryHeadCustomer, messages.Data{"Who": who, "UPN": upn, "Customer": customer})
	}
	if d.TAP != nil {
		// A Temporary Access Pass replaces sign-in, not the password: the user
		// signs in with it and registers a method of their own.
		rulesID := messages.DeliveryTAPRulesMulti
		if d.TAP.UsableOnce {
			rulesID = messages.DeliveryTAPRulesOnce
		}
		head = texts.Text(l, messages.DeliveryTAPHead, messages.Data{"Who": who, "UPN": upn})
		if customer != "" {
			head = texts.Text(l, messages.DeliveryTAPHeadCustomer, messages.Data{"Who": who, "UPN": upn, "Customer": customer})
		}
		rules = texts.Text(l, rulesID, messages.Data{"Who": who, "Lifetime": durationText(l, d.TAP.Lifetime)})
		fallback = texts.Text(l, messages.DeliveryTAPFallback, messages.Data{"UPN": upn})
	}
	// & < > must be escaped even inside a code span; Slack shows them decoded.
	// The password never passes through the catalogue's templates.
	head += "\n`" + escapeEntities(pw) + "`"
	blocks = []slack.Block{
		slack.NewSectionBlock(mrkdwn(head, maxSectionText), nil, nil),
		slack.NewSectionBlock(mrkdwn(rules, maxSectionText), nil, nil),
	}
	return blocks, fallback, nil
}

// durationText says a whole-minute duration the way people do, in l: "90
// minutes", "1 hour", "2 hours".
func durationText(l messages.Lang, d time.Duration) string {
	m := int(d / time.Minute)
	if m%60 == 0 && m >= 60 {
		return texts.Count(l, messages.DurationHours, m/60, nil)
	}
	return texts.Count(l, messages.DurationMinutes, m, nil)
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

// roleList names the target's admin roles as Microsoft does in l.
func roleList(l messages.Lang, roles []string) string {
	if len(roles) == 0 {
		return texts.Text(l, messages.CardRolesNone, nil)
	}
	shown := roles
	if len(shown) > maxRoles {
		shown = shown[:maxRoles]
	}
	parts := make([]string, len(shown))
	for i, r := range shown {
		parts[i] = esc(texts.RoleName(l, r), maxNameRunes)
	}
	out := texts.List(l, parts)
	if len(roles) > maxRoles {
		out += texts.Count(l, messages.CardRolesMore, len(roles)-maxRoles, nil)
	}
	return out
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

// slackDate renders t for Slack's date syntax in English; the App Home still
// uses it (not yet in the catalogue).
func slackDate(t time.Time) string { return texts.Date(messages.English, messages.DatePlain, t) }
