package commands

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/locksmithbot/locksmith/messages"
)

// texts is the catalogue every person-facing text comes from. Values are
// escaped (Escape) before they go into a text, never the text itself.
var texts = messages.Default()

// maxRemembered bounds the languages kept for acknowledgements; a workspace
// has far fewer people who use locksmith.
const maxRemembered = 10000

// langMemory keeps each person's last resolved language, so the transport can
// acknowledge a command in it without any I/O before the ack.
type langMemory struct {
	mu sync.Mutex
	m  map[string]messages.Lang
}

func (lm *langMemory) get(userID string) (messages.Lang, bool) {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	l, ok := lm.m[userID]
	return l, ok
}

func (lm *langMemory) put(userID string, l messages.Lang) {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	if lm.m == nil || len(lm.m) >= maxRemembered {
		lm.m = make(map[string]messages.Lang)
	}
	lm.m[userID] = l
}

// langOf is the language locksmith writes to a person in: their own choice
// (/reset-password language), else their Slack locale when locksmith speaks
// it, else locale.default. A lookup that fails falls through to the next.
func (s *Service) langOf(ctx context.Context, userID string) messages.Lang {
	l := s.chosenOrSlackLang(ctx, userID)
	if l == "" {
		l = s.currentPolicy().DefaultLang
	}
	s.langs.put(userID, l)
	return l
}

func (s *Service) chosenOrSlackLang(ctx context.Context, userID string) messages.Lang {
	if userID == "" {
		return ""
	}
	// A person's choice is read from the database each time (one indexed
	// row), so a change made through another replica counts at once.
	chosen, err := s.store.Language(ctx, userID)
	if err != nil {
		s.log.Warn("reading a person's language failed; using their Slack locale", "slack_user", userID, "err", err)
	}
	if l, ok := messages.ParseLang(chosen); ok {
		return l
	}
	if s.people == nil {
		return ""
	}
	// The same users.info answer (cached by the transport) that the grant
	// check reads: no extra Slack call per message.
	p, err := s.people.Person(ctx, userID)
	if err != nil {
		s.log.Debug("Slack locale unknown; using locale.default", "slack_user", userID, "err", err)
		return ""
	}
	l, _ := messages.ParseLang(p.Locale)
	return l
}

// channelLang is the language of messages to a channel (the approval card, the
// audit channel): locale.channel, which defaults to locale.default.
func (s *Service) channelLang() messages.Lang {
	p := s.currentPolicy()
	return p.ChannelLang.Or(p.DefaultLang)
}

// AckLanguage returns the language to acknowledge userID's command in before
// any work is done: the one last resolved for them, else locale.default. It
// does no I/O.
func (s *Service) AckLanguage(userID string) messages.Lang {
	if l, ok := s.langs.get(userID); ok {
		return l
	}
	return s.currentPolicy().DefaultLang
}

// setLanguage handles "/reset-password language ja|en|auto". Anyone may set
// their own language: it changes only how texts read.
func (s *Service) setLanguage(ctx context.Context, in Invocation, current messages.Lang, choice string) Reply {
	var (
		stored  string
		confirm messages.ID
	)
	switch l, ok := messages.ParseLang(choice); {
	case strings.EqualFold(strings.TrimSpace(choice), "auto"):
		confirm = messages.LanguageSetAuto
	case ok && l == messages.Japanese:
		stored, confirm = string(l), messages.LanguageSetJa
	case ok:
		stored, confirm = string(l), messages.LanguageSetEn
	default:
		return Reply{Text: texts.Text(current, messages.LanguageUsage, nil)}
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.store.SetLanguage(sctx, in.UserID, stored); err != nil {
		s.requestLog(in.CorrelationID, in.UserID).Error("saving a person's language failed", "err", err)
		return Reply{Text: texts.Text(current, messages.LanguageSaveFailed, nil)}
	}
	// Confirm in the language that now applies.
	return Reply{Text: texts.Text(s.langOf(ctx, in.UserID), confirm, nil)}
}
