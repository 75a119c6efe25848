package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/internal/dbtest"
	"github.com/locksmithbot/locksmith/internal/secret"
	"github.com/locksmithbot/locksmith/partner"
)

// TestSealedStore_WhichTokenWins: the newest of the chain wins. A signed-in
// token beats the environment's; a token the bot rotated loses to a different
// PARTNER_REFRESH_TOKEN put in the environment later; an empty environment
// never discards a stored token; rows written before login (v1) still load.
func TestSealedStore_WhichTokenWins(t *testing.T) {
	ctx := context.Background()
	store, err := approvals.Open(ctx, dbtest.SQLite(t), approvals.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	open := func(env string) *sealedTokenStore {
		s, err := newSealedTokenStore(store, key, secret.NewToken(env), log)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	loads := func(s *sealedTokenStore, want string, public bool) {
		t.Helper()
		got, ok, err := s.Load(ctx)
		switch {
		case err != nil:
			t.Fatal(err)
		case want == "" && ok:
			t.Errorf("Load returned a token, want none (the environment's wins)")
		case want != "" && (!ok || got.Token.Reveal() != want || got.Public != public):
			t.Errorf("Load = %v public=%v, want the token %q public=%v", ok, got.Public, want, public)
		}
	}
	says := func(s *sealedTokenStore, want string) {
		t.Helper()
		if got, _, _ := s.describe(ctx); !strings.Contains(got, want) {
			t.Errorf("describe = %q, want %q", got, want)
		}
	}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

	// A v1 row (before login existed), bound to env token "env-A".
	seed := sha256.Sum256([]byte("env-A"))
	s := open("env-A")
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	v1 := s.aead.Seal(nonce, nonce, append(seed[:], "rotated-1"...), additionalDataV1)
	if err := store.SaveSecret(ctx, refreshTokenSecret, v1, t0); err != nil {
		t.Fatal(err)
	}
	loads(s, "rotated-1", false)
	says(s, "using the newest stored refresh token")
	loads(open("env-B"), "", false) // a new environment token is newer
	says(open("env-B"), "using PARTNER_REFRESH_TOKEN: it differs")
	loads(open(""), "rotated-1", false) // no environment token: keep the chain

	// A sign-in beats any environment token, and says so.
	if err := open("env-B").SaveSignIn(ctx, secret.NewToken("signed-in"), t0.Add(time.Hour), true); err != nil {
		t.Fatal(err)
	}
	loads(open("env-B"), "signed-in", true)
	loads(open("env-C"), "signed-in", true)
	says(open("env-C"), "saved by `locksmith login`")
	says(open("env-C"), "PARTNER_REFRESH_TOKEN is set but only tried if the stored token is refused")

	// The bot rotates it under env-C: the chain is now bound to env-C and
	// stays public; a later different environment token wins again.
	if err := open("env-C").Save(ctx, partner.StoredToken{Token: secret.NewToken("rotated-2"), IssuedAt: t0.Add(2 * time.Hour), Public: true}); err != nil {
		t.Fatal(err)
	}
	loads(open("env-C"), "rotated-2", true)
	loads(open("env-D"), "", false)

	// A sign-in from a machine whose clock is behind the stored token's still
	// replaces it.
	if err := open("env-D").SaveSignIn(ctx, secret.NewToken("signed-in-2"), t0, false); err != nil {
		t.Fatalf("SaveSignIn behind the stored token's time: %v", err)
	}
	loads(open("env-D"), "signed-in-2", false)

	// Another key cannot read the row: the environment token is used.
	other := make([]byte, 32)
	_, _ = rand.Read(other)
	s2, _ := newSealedTokenStore(store, other, secret.NewToken("env-C"), log)
	loads(s2, "", false)
	says(s2, "cannot be decrypted")
}
