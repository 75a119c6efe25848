package bot

import (
	"github.com/slack-go/slack"
)

// message is the content of every chat.postMessage, chat.update and
// chat.postEphemeral the bot makes: fallback text and, when there are any,
// blocks, both passed through the label. Together with labelText (for the
// text-only answers: slash-command acks and response_url replies) it is the one
// place where a Config.Label reaches Slack, so no message can miss it.
func (b *Bot) message(text string, blocks []slack.Block) slack.MsgOption {
	text = b.labelText(text)
	if len(blocks) == 0 {
		return slack.MsgOptionText(text, false)
	}
	if b.cfg.Label != "" {
		note := "*" + escapeEntities(b.cfg.Label) + "*"
		if b.cfg.LabelNote != "" {
			note += " · " + escapeEntities(b.cfg.LabelNote)
		}
		labelled := make([]slack.Block, 0, len(blocks)+1)
		labelled = append(labelled, slack.NewContextBlock("", mrkdwn(note, maxContextText)))
		blocks = append(labelled, blocks...)
	}
	return slack.MsgOptionCompose(slack.MsgOptionBlocks(blocks...), slack.MsgOptionText(text, false))
}

// labelText prefixes text with "[Label] " when a label is configured.
func (b *Bot) labelText(text string) string {
	if b.cfg.Label == "" {
		return text
	}
	return "[" + escapeEntities(b.cfg.Label) + "] " + text
}
