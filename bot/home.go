package bot

import (
	"context"

	"github.com/slack-go/slack"

	"github.com/locksmithbot/locksmith/commands"
	"github.com/locksmithbot/locksmith/messages"
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

// buttonFor renders one action of a Home item, in l.
func buttonFor(l messages.Lang, k commands.ActionKind, requestID string) *slack.ButtonBlockElement {
	label := func(id messages.ID) *slack.TextBlockObject { return plain(texts.Text(l, id, nil)) }
	switch k {
	case commands.ActionApprove:
		return slack.NewButtonBlockElement(ActionIDApprove, requestID, label(messages.ButtonApprove)).WithStyle(slack.StylePrimary)
	case commands.ActionDeny:
		return slack.NewButtonBlockElement(ActionIDDeny, requestID, label(messages.ButtonDeny)).WithStyle(slack.StyleDanger)
	case commands.ActionCancel:
		return slack.NewButtonBlockElement(ActionIDCancel, requestID, label(messages.ButtonWithdraw))
	case commands.ActionReset:
		return slack.NewButtonBlockElement(ActionIDReset, requestID, label(messages.ButtonReset)).WithStyle(slack.StylePrimary)
	case commands.ActionReview:
		return slack.NewButtonBlockElement(ActionIDReview, requestID, label(messages.ButtonAcknowledge)).WithStyle(slack.StylePrimary)
	}
	return nil
}

// renderHome renders a Home as a Home tab view, in h.Lang. Item text arrives
// escaped. Each item is a section and, with buttons, an actions block whose
// block_id carries the list's key and the request ID (block IDs must be unique
// in a view; the key stays ASCII whatever the language).
func renderHome(h commands.Home) slack.HomeTabViewRequest {
	l := h.Lang
	var blocks []slack.Block
	list := func(key string, title messages.ID, items []commands.HomeItem, more int, empty messages.ID) {
		blocks = append(blocks, slack.NewHeaderBlock(plain(texts.Text(l, title, nil))))
		if len(items) == 0 {
			blocks = append(blocks, slack.NewContextBlock("", mrkdwn(texts.Text(l, empty, nil), maxContextText)))
		}
		for _, it := range items {
			blocks = append(blocks, slack.NewSectionBlock(mrkdwn(it.Text, maxSectionText), nil, nil))
			var buttons []slack.BlockElement
			for _, k := range it.Buttons {
				if b := buttonFor(l, k, it.RequestID); b != nil {
					buttons = append(buttons, b)
				}
			}
			if len(buttons) > 0 {
				blocks = append(blocks, slack.NewActionBlock(clip("home_"+key+"_"+it.RequestID, 255), buttons...))
			}
			if !it.ValidUntil.IsZero() {
				valid := texts.Text(l, messages.HomeValidUntil, messages.Data{"When": texts.Date(l, messages.DatePlain, it.ValidUntil)})
				blocks = append(blocks, slack.NewContextBlock("", mrkdwn(valid, maxContextText)))
			}
		}
		if more > 0 {
			blocks = append(blocks, slack.NewContextBlock("", mrkdwn(texts.Text(l, messages.HomeMore, nil), maxContextText)))
		}
		blocks = append(blocks, slack.NewDividerBlock())
	}
	list("Your", messages.HomeTitleMine, h.Mine, h.MoreMine, messages.HomeEmptyMine)
	list("Wait", messages.HomeTitleWaiting, h.Waiting, h.MoreWaiting, messages.HomeEmptyWaiting)
	list("Rece", messages.HomeTitleHistory, h.History, 0, messages.HomeEmptyHistory)
	if len(blocks) > maxHomeBlocks {
		// The list sizes in commands keep far below this; never publish a
		// view Slack would refuse.
		blocks = append(blocks[:maxHomeBlocks-1], slack.NewContextBlock("", mrkdwn(texts.Text(l, messages.HomeOverflow, nil), maxContextText)))
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
