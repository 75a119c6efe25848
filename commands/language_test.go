package commands

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/locksmithbot/locksmith/messages"
)

// localePeople describes everyone as an active member with a Slack locale from
// a map, or fails with err.
type localePeople struct {
	mu     sync.Mutex
	locale map[string]string
	err    error
}

func (f *localePeople) Person(_ context.Context, userID string) (Person, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return Person{}, f.err
	}
	return Person{ID: userID, RealName: strings.ToLower(userID), Locale: f.locale[userID]}, nil
}

func withLocales(h *harness, locale map[string]string) *localePeople {
	f := &localePeople{locale: locale}
	h.svc.people = f
	return f
}

func TestLanguage_SlackLocaleThenDefault(t *testing.T) {
	h := newHarness(t, true)
	withLocales(h, map[string]string{requester: "ja-JP", approver: "fr-FR"})
	if r := h.slash(requester, "help"); !strings.HasPrefix(r, "*使い方:*") {
		t.Fatalf("ja-JP requester got %q", r)
	}
	if r := h.slash(approver, "help"); !strings.HasPrefix(r, "*Usage:*") {
		t.Fatalf("a locale locksmith does not speak should read locale.default (en), got %q", r)
	}
	h.setPolicy(func(p *Policy) { p.DefaultLang = messages.Japanese })
	if r := h.slash(approver, "help"); !strings.HasPrefix(r, "*使い方:*") {
		t.Fatalf("with locale.default ja, fr-FR should read Japanese, got %q", r)
	}
}

func TestLanguage_LocaleFailureFallsBack(t *testing.T) {
	h := newHarness(t, true)
	f := withLocales(h, nil)
	f.err = errors.New("ratelimited")
	// Help needs no grant: it is answered, in locale.default, although Slack
	// could not say who is asking.
	if r := h.slash(requester, "help"); !strings.HasPrefix(r, "*Usage:*") {
		t.Fatalf("got %q", r)
	}
}

func TestLanguage_ChoiceWinsOverSlack(t *testing.T) {
	h := newHarness(t, true)
	withLocales(h, map[string]string{requester: "ja-JP"})
	if r := h.slash(requester, "language en"); !strings.Contains(r, "in English from now on") {
		t.Fatalf("language en: %q", r)
	}
	if got, _ := h.store.Language(context.Background(), requester); got != "en" {
		t.Fatalf("stored %q", got)
	}
	if r := h.slash(requester, "help"); !strings.HasPrefix(r, "*Usage:*") {
		t.Fatalf("after choosing English: %q", r)
	}
	if r := h.slash(requester, "language klingon"); !strings.Contains(r, "Give `ja`, `en` or `auto`") {
		t.Fatalf("unsupported language: %q", r)
	}
	if r := h.slash(requester, "language auto"); !strings.Contains(r, "Slack の言語設定") {
		t.Fatalf("language auto: %q", r)
	}
	if got, _ := h.store.Language(context.Background(), requester); got != "" {
		t.Fatalf("auto left %q stored", got)
	}
}

func TestLanguage_EachReaderTheirOwn(t *testing.T) {
	h := newHarness(t, true)
	withLocales(h, map[string]string{requester: "ja-JP", approver: "en-US"})
	h.setPolicy(func(p *Policy) { p.ChannelLang = messages.Japanese })

	if got := h.svc.AckLanguage(requester); got != messages.English {
		t.Fatalf("ack language before any command = %q, want locale.default", got)
	}
	id := h.request()
	if got := h.svc.AckLanguage(requester); got != messages.Japanese {
		t.Fatalf("ack language after a command = %q", got)
	}
	cards := h.msg.Posted()
	if len(cards) != 1 || cards[0].Lang != messages.Japanese {
		t.Fatalf("card language: %+v", cards)
	}
	if r := h.click(ActionApprove, id, approver); !strings.HasPrefix(r, "Approved.") {
		t.Fatalf("approver reply = %q", r)
	}
	ups := h.msg.Updates()
	if st := ups[len(ups)-1].Card.Status; !strings.Contains(st, "承認") || ups[len(ups)-1].Card.Lang != messages.Japanese {
		t.Fatalf("card status in locale.channel: %q", st)
	}
	ns := h.noticesTo(requester)
	last := ns[len(ns)-1]
	if last.Lang != messages.Japanese || !strings.Contains(last.Text, "今すぐパスワードをリセット") || last.ResetButton != id {
		t.Fatalf("requester's approval DM: %+v", last)
	}
	// The audit channel reads locale.channel; the outcome stays its code.
	for _, line := range h.msg.ChannelPosts() {
		if !strings.HasPrefix(line, auditChannel+": `") || !strings.Contains(line, "実行者") {
			t.Errorf("audit line %q", line)
		}
	}
	if r := h.click(ActionReset, id, requester); !strings.Contains(r, "完了しました") {
		t.Fatalf("reset reply = %q", r)
	}
	ds := h.msg.Deliveries()
	if len(ds) != 1 || ds[0].Delivery.Lang != messages.Japanese {
		t.Fatalf("delivery: %+v", ds)
	}
}

// Every reason Person gives for refusing an account has a text in every
// language: the audit trail keeps the English one, the person reads theirs.
func TestAccountProblemsTranslated(t *testing.T) {
	for _, p := range []Person{{Deleted: true}, {Bot: true}, {Restricted: true}, {Restricted: true, UltraRestricted: true}} {
		en := p.Problem()
		if got := accountProblem(messages.English, en); got != en {
			t.Errorf("English for %q is %q", en, got)
		}
		if got := accountProblem(messages.Japanese, en); got == en || got == "" {
			t.Errorf("no Japanese for %q", en)
		}
	}
}
