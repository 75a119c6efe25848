package bot

import (
	"context"
	"time"

	"github.com/slack-go/slack"

	"github.com/locksmithbot/locksmith/messages"
)

// DefaultLocaleCacheTTL is how long a user's Slack locale is reused. People
// rarely change their Slack language; a stale answer costs at most a few
// messages in the previous one.
const DefaultLocaleCacheTTL = 10 * time.Minute

// localeEntry is one cached users.info answer; failures are cached too, so a
// workspace that did not grant users:read costs one failed call per person
// per TTL, not one per message.
type localeEntry struct {
	locale string
	err    error
	at     time.Time
}

// SlackLocale returns the locale userID's Slack client is set to ("ja-JP",
// "en-US"), from users.info with include_locale=true, cached for
// LocaleCacheTTL. It implements commands.Locales.
func (b *Bot) SlackLocale(ctx context.Context, userID string) (string, error) {
	b.localeMu.Lock()
	e, ok := b.locales[userID]
	b.localeMu.Unlock()
	if ok && time.Since(e.at) < b.cfg.LocaleCacheTTL {
		return e.locale, e.err
	}
	var locale string
	err := b.call(ctx, "users.info", func(ctx context.Context) error {
		u, err := b.api.GetUserInfoContext(ctx, userID, slack.GetUserInfoOptionIncludeLocale(true))
		if err == nil {
			locale = u.Locale
		}
		return err
	})
	if err != nil && ctx.Err() != nil {
		return "", err // our deadline, not Slack's answer: do not remember it
	}
	if err != nil {
		b.logFrom(ctx).Warn("Slack locale unknown (does the app have users:read?); using locale.default", "error", err)
	}
	b.localeMu.Lock()
	if len(b.locales) >= maxCachedLocales {
		b.locales = make(map[string]localeEntry)
	}
	b.locales[userID] = localeEntry{locale: locale, err: err, at: time.Now()}
	b.localeMu.Unlock()
	return locale, err
}

// maxCachedLocales bounds the locale cache; it is cleared when full.
const maxCachedLocales = 10000

// SetAckLanguage sets Config.AckLanguage; call it before Run.
func (b *Bot) SetAckLanguage(f func(userID string) messages.Lang) { b.cfg.AckLanguage = f }

// ackLanguage is the language of an acknowledgement, chosen without I/O.
func (b *Bot) ackLanguage(userID string) messages.Lang {
	if b.cfg.AckLanguage != nil {
		return b.cfg.AckLanguage(userID)
	}
	return messages.English
}
