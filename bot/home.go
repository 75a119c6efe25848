package bot

import (
	"context"

	"github.com/slack-go/slack"

	"github.com/locksmithbot/locksmith/commands"
)

// The App Home tab: a person's requests, what waits for their decision, and
// what they decided lately, with the buttons that apply (the same action IDs
// as on cards and DMs, so a click is handled the same way wherever it is).

// maxHomeBlocks is Slack's limit for a Home tab view.
const maxHomeBlocks = 100

// HomeOpener is the optional part of a Workflow that builds and publishes a
// person's Home when they open it. *commands.Service implements it.
type HomeOpener interface {
	HomeOpened(ctx context.Context, userID string) error
}

// buttonFor renders one action of a Home item.
func buttonFor(k commands.ActionKind, requestID string) *slack.ButtonBlockElement {
	switch k {
	case commands.ActionApprove:
		return slack.NewButtonBlockElement(ActionIDApprove, requestID, plain("Approve")).WithStyle(slack.StylePrimary)
	case commands.ActionDeny:
		return slack.NewButtonBlockElement(ActionIDDeny, requestID, plain("Deny…")).WithStyle(slack.StyleDanger)
	case commands.ActionCancel:
		return slack.NewButtonBlockElement(ActionIDCancel, requestID, plain("Withdraw request"))
	case commands.ActionReset:
		return slack.NewButtonBlockElement(ActionIDReset, requestID, plain("Reset password now")).WithStyle(slack.StylePrimary)
	case commands.ActionReview:
		return slack.NewButtonBlockElement(ActionIDReview, requestID, plain("Acknowledge")).WithStyle(slack.StylePrimary)
	}
	return nil
}

// renderHome renders a Home as a Home tab view. Item text arrives escaped.
// Each item is a section and, with buttons, an actions block whose block_id
// carries the request ID (block IDs must be unique in a view).
func renderHome(h commands.Home) slack.HomeTabViewRequest {
	var blocks []slack.Block
	list := func(title string, items []commands.HomeItem, more int, empty string) {
		blocks = append(blocks, slack.NewHeaderBlock(plain(title)))
		if len(items) == 0 {
			blocks = append(blocks, slack.NewContextBlock("", mrkdwn("_"+empty+"_", maxContextText)))
		}
		for _, it := range items {
			blocks = append(blocks, slack.NewSectionBlock(mrkdwn(it.Text, maxSectionText), nil, nil))
			var buttons []slack.BlockElement
			for _, k := range it.Buttons {
				if b := buttonFor(k, it.RequestID); b != nil {
					buttons = append(buttons, b)
				}
			}
			if len(buttons) > 0 {
				blocks = append(blocks, slack.NewActionBlock(clip("home_"+title[:4]+"_"+it.RequestID, 255), buttons...))
			}
			if !it.ValidUntil.IsZero() {
				blocks = append(blocks, slack.NewContextBlock("", mrkdwn("Valid until "+slackDate(it.ValidUntil)+". The password is shown to you only, in your DM with locksmith.", maxContextText)))
			}
		}
		if more > 0 {
			blocks = append(blocks, slack.NewContextBlock("", mrkdwn("…and more. `/reset-password status` lists them too.", maxContextText)))
		}
		blocks = append(blocks, slack.NewDividerBlock())
	}
	list("Your requests", h.Mine, h.MoreMine, "You have no requests. Type /reset-password <customer> <user> [reason] in any channel.")
	list("Waiting for you", h.Waiting, h.MoreWaiting, "Nothing waits for your decision.")
	list("Recently decided by you", h.History, 0, "Nothing yet.")
	if len(blocks) > maxHomeBlocks {
		// The list sizes in commands keep far below this; never publish a
		// view Slack would refuse.
		blocks = append(blocks[:maxHomeBlocks-1], slack.NewContextBlock("", mrkdwn("…more than fits here: `/reset-password status`.", maxContextText)))
	}
	return slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}, CallbackID: "locksmith_home"}
}

// PublishHome shows h in its user's App Home tab (views.publish).
func (b *Bot) PublishHome(ctx context.Context, h commands.Home) error {
	view := renderHome(h)
	if b.cfg.Label != "" && len(view.Blocks.BlockSet) < maxHomeBlocks {
		// Which locksmith this is (staging, a second tenant), as on messages.
		note := slack.NewContextBlock("", mrkdwn("*"+escapeEntities(b.cfg.Label)+"*", maxContextText))
		view.Blocks.BlockSet = append([]slack.Block{note}, view.Blocks.BlockSet...)
	}
	return b.call(ctx, "views.publish", func(ctx context.Context) error {
		_, err := b.api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: h.UserID, View: view})
		return err
	})
}

var _ commands.HomePublisher = (*Bot)(nil)
