package bot

import "github.com/locksmithbot/locksmith/messages"

// A person's Slack language comes with the users.info answer Person already
// fetches and caches (commands.Person.Locale); only the acknowledgement,
// which must go out before any I/O, needs a hook of its own.

// SetAckLanguage sets Config.AckLanguage; call it before Run.
func (b *Bot) SetAckLanguage(f func(userID string) messages.Lang) { b.cfg.AckLanguage = f }

// ackLanguage is the language of an acknowledgement, chosen without I/O.
func (b *Bot) ackLanguage(userID string) messages.Lang {
	if b.cfg.AckLanguage != nil {
		return b.cfg.AckLanguage(userID)
	}
	return messages.English
}
