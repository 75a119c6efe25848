package bot

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/slack-go/slack"

	"github.com/locksmithbot/locksmith/commands"
)

// PostApproval posts the approval card (chat.postMessage) and looks up its
// permalink (chat.getPermalink). A failed permalink lookup is logged, not
// returned: the card is already posted, and an error would invite a second one.
func (b *Bot) PostApproval(ctx context.Context, channel string, c commands.Card) (commands.MessageRef, error) {
	blocks, fallback := renderCard(c)
	var ref commands.MessageRef
	err := b.call(ctx, "chat.postMessage", func(ctx context.Context) error {
		var err error
		ref.Channel, ref.TS, err = b.api.PostMessageContext(ctx, channel, b.message(fallback, blocks))
		return err
	})
	if err != nil {
		return commands.MessageRef{}, err
	}
	if ref.Channel == "" {
		ref.Channel = channel
	}
	err = b.call(ctx, "chat.getPermalink", func(ctx context.Context) error {
		var err error
		ref.Permalink, err = b.api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: ref.Channel, Ts: ref.TS})
		return err
	})
	if err != nil {
		b.logFrom(ctx).Warn("approval posted without a permalink", "channel", ref.Channel, "error", err)
	}
	return ref, nil
}

// UpdateApproval replaces the card in place (chat.update).
func (b *Bot) UpdateApproval(ctx context.Context, ref commands.MessageRef, c commands.Card) error {
	blocks, fallback := renderCard(c)
	return b.call(ctx, "chat.update", func(ctx context.Context) error {
		_, _, _, err := b.api.UpdateMessageContext(ctx, ref.Channel, ref.TS, b.message(fallback, blocks))
		return err
	})
}

// Notify sends a persistent DM (conversations.open, then chat.postMessage).
func (b *Bot) Notify(ctx context.Context, userID string, n commands.Notice) error {
	dm, err := b.openDM(ctx, userID)
	if err != nil {
		return err
	}
	blocks, fallback := renderNotice(n)
	return b.call(ctx, "chat.postMessage", func(ctx context.Context) error {
		_, _, err := b.api.PostMessageContext(ctx, dm, b.message(fallback, blocks))
		return err
	})
}

// DeliverPassword shows the password to userID, and only to them: an ephemeral
// message in their DM with the bot (channel = that DM, user = userID). This is
// the one Slack call that ever carries a password. An ephemeral message may
// still go unseen (Slack gives no receipt); the caller handles errors by telling
// the requester, never by posting the password anywhere else.
func (b *Bot) DeliverPassword(ctx context.Context, userID string, d commands.Delivery) error {
	dm, err := b.openDM(ctx, userID)
	if err != nil {
		return err
	}
	blocks, fallback, err := renderDelivery(d)
	if err != nil {
		return err
	}
	return b.call(ctx, "chat.postEphemeral", func(ctx context.Context) error {
		_, err := b.api.PostEphemeralContext(ctx, dm, userID, b.message(fallback, blocks))
		return err
	})
}

// PostChannel posts one line of already-escaped mrkdwn to a channel.
func (b *Bot) PostChannel(ctx context.Context, channel, text string) error {
	return b.call(ctx, "chat.postMessage", func(ctx context.Context) error {
		_, _, err := b.api.PostMessageContext(ctx, channel, b.message(clip(text, maxSectionText), nil))
		return err
	})
}

// PostThread posts already-escaped mrkdwn as a reply in parent's thread
// (chat.postMessage with thread_ts), visible in the channel's thread view.
func (b *Bot) PostThread(ctx context.Context, parent commands.MessageRef, text string) error {
	return b.call(ctx, "chat.postMessage", func(ctx context.Context) error {
		_, _, err := b.api.PostMessageContext(ctx, parent.Channel, b.message(clip(text, maxSectionText), nil), slack.MsgOptionTS(parent.TS))
		return err
	})
}

// openDM returns the ID of the bot's DM with userID (conversations.open),
// remembering it: a user's DM channel with the bot never changes.
func (b *Bot) openDM(ctx context.Context, userID string) (string, error) {
	if userID == "" {
		return "", errors.New("bot: no user to message")
	}
	b.dmMu.Lock()
	dm, ok := b.dms[userID]
	b.dmMu.Unlock()
	if ok {
		return dm, nil
	}
	err := b.call(ctx, "conversations.open", func(ctx context.Context) error {
		ch, _, _, err := b.api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{userID}})
		if err == nil && (ch == nil || ch.ID == "") {
			err = errors.New("conversations.open returned no channel")
		}
		if err == nil {
			dm = ch.ID
		}
		return err
	})
	if err != nil {
		return "", err
	}
	b.dmMu.Lock()
	b.dms[userID] = dm
	b.dmMu.Unlock()
	return dm, nil
}

// groupEntry is one cached usergroups.users.list answer.
type groupEntry struct {
	members []string
	at      time.Time
}

// Members returns the user IDs in a Slack user group (usergroups.users.list),
// cached for GroupCacheTTL so that checking grants on every click stays cheap.
// Errors are not cached.
func (b *Bot) Members(ctx context.Context, usergroupID string) ([]string, error) {
	b.groupMu.Lock()
	e, ok := b.groups[usergroupID]
	b.groupMu.Unlock()
	if ok && time.Since(e.at) < b.cfg.GroupCacheTTL {
		return slices.Clone(e.members), nil
	}
	var members []string
	err := b.call(ctx, "usergroups.users.list", func(ctx context.Context) error {
		var err error
		members, err = b.api.GetUserGroupMembersContext(ctx, usergroupID)
		return err
	})
	if err != nil {
		return nil, err
	}
	b.groupMu.Lock()
	b.groups[usergroupID] = groupEntry{members: slices.Clone(members), at: time.Now()}
	b.groupMu.Unlock()
	return members, nil
}
