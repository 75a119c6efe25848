package approvals

import (
	"context"
	"testing"

	"github.com/locksmithbot/locksmith/internal/dbtest"
)

func TestLanguageChoice(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openStore(t, dsn, newClock())
		if got, err := s.Language(ctx, alice); err != nil || got != "" {
			t.Fatalf("before any choice: %q, %v", got, err)
		}
		for _, want := range []string{"ja", "en", "ja"} {
			if err := s.SetLanguage(ctx, alice, want); err != nil {
				t.Fatal(err)
			}
			if got, err := s.Language(ctx, alice); err != nil || got != want {
				t.Fatalf("after choosing %q: %q, %v", want, got, err)
			}
		}
		if got, _ := s.Language(ctx, bob); got != "" {
			t.Fatalf("bob has alice's choice: %q", got)
		}
		if err := s.SetLanguage(ctx, alice, ""); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Language(ctx, alice); err != nil || got != "" {
			t.Fatalf("after clearing: %q, %v", got, err)
		}
		if err := s.SetLanguage(ctx, alice, ""); err != nil {
			t.Fatalf("clearing twice: %v", err)
		}
		if err := s.SetLanguage(ctx, "", "ja"); err == nil {
			t.Fatal("no user ID accepted")
		}
	})
}
