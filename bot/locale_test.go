package bot

import (
	"context"
	"testing"

	"github.com/locksmithbot/locksmith/messages"
)

// The locale rides on the users.info answer the grant check already asks for:
// one call, cached, serves both.
func TestPerson_CarriesTheSlackLocale(t *testing.T) {
	fake := newFake(t)
	fake.SetLocale(alice, "ja-JP")
	b := newBot(t, fake, &syncBuffer{}, nil)
	for range 3 {
		p, err := b.Person(context.Background(), alice)
		if err != nil || p.Locale != "ja-JP" {
			t.Fatalf("Person = %+v, %v", p, err)
		}
	}
	n := 0
	for _, c := range fake.Calls() {
		if c.Method == "users.info" {
			n++
			if c.Form.Get("include_locale") != "true" {
				t.Errorf("users.info without include_locale: %v", c.Form)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d users.info calls for three lookups, want 1", n)
	}
}

func TestAckLanguage(t *testing.T) {
	b := newBot(t, newFake(t), &syncBuffer{}, nil)
	if got := b.ackLanguage(alice); got != messages.English {
		t.Fatalf("without AckLanguage: %q", got)
	}
	b.SetAckLanguage(func(string) messages.Lang { return messages.Japanese })
	if got := b.ackLanguage(alice); got != messages.Japanese {
		t.Fatalf("with AckLanguage: %q", got)
	}
}
