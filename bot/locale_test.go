package bot

import (
	"context"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/messages"
)

func TestSlackLocale_AskedOnceAndCached(t *testing.T) {
	fake := newFake(t)
	fake.SetLocale(alice, "ja-JP")
	b := newBot(t, fake, &syncBuffer{}, func(c *Config) { c.LocaleCacheTTL = time.Hour })
	ctx := context.Background()
	count := func() int {
		n := 0
		for _, c := range fake.Calls() {
			if c.Method == "users.info" {
				n++
				if c.Form.Get("include_locale") != "true" {
					t.Errorf("users.info without include_locale: %v", c.Form)
				}
			}
		}
		return n
	}
	for range 3 {
		got, err := b.SlackLocale(ctx, alice)
		if err != nil || got != "ja-JP" {
			t.Fatalf("SlackLocale = %q, %v", got, err)
		}
	}
	if n := count(); n != 1 {
		t.Fatalf("%d users.info calls for three lookups, want 1", n)
	}
	// A failure (an unknown user, or no users:read) is remembered too, so it
	// costs one call per TTL, not one per message.
	for range 2 {
		if _, err := b.SlackLocale(ctx, "U0NOBODY"); err == nil {
			t.Fatal("no error for an unknown user")
		}
	}
	if n := count(); n != 2 {
		t.Fatalf("%d users.info calls after two failed lookups, want 2", n)
	}
}

func TestSlackLocale_ExpiresAfterTTL(t *testing.T) {
	fake := newFake(t)
	b := newBot(t, fake, &syncBuffer{}, func(c *Config) { c.LocaleCacheTTL = time.Nanosecond })
	if got, _ := b.SlackLocale(context.Background(), alice); got != "en-US" {
		t.Fatalf("first: %q", got)
	}
	fake.SetLocale(alice, "ja-JP")
	time.Sleep(time.Millisecond)
	if got, _ := b.SlackLocale(context.Background(), alice); got != "ja-JP" {
		t.Fatalf("after the TTL: %q, want the new locale", got)
	}
}

func TestAckLanguage(t *testing.T) {
	b := newBot(t, newFake(t), &syncBuffer{}, nil)
	if got := b.ackLanguage(alice); got != messages.English {
		t.Fatalf("without AckLanguage: %q", got)
	}
	b = newBot(t, newFake(t), &syncBuffer{}, func(c *Config) {
		c.AckLanguage = func(string) messages.Lang { return messages.Japanese }
	})
	if got := b.ackLanguage(alice); got != messages.Japanese {
		t.Fatalf("with AckLanguage: %q", got)
	}
}
