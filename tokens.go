package main

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/internal/secret"
	"github.com/locksmithbot/locksmith/partner"
)

// refreshTokenSecret names the stored Partner Center refresh token.
const refreshTokenSecret = "partner_refresh_token"

// sealedTokenStore keeps the newest Partner Center refresh token in the database,
// encrypted with AES-256-GCM under LOCKSMITH_SECRET_KEY. Entra rotates the refresh
// token on every use and expires one that goes 90 days unused, so a restart must
// resume from the newest token, not the one in the environment.
//
// Each stored token is bound to the environment token its chain started from (a
// SHA-256 fingerprint inside the ciphertext). When the operator puts a new
// PARTNER_REFRESH_TOKEN in the environment (after re-consenting), the stored chain
// no longer matches and the environment token wins; otherwise the stored one,
// being newer, wins.
type sealedTokenStore struct {
	store *approvals.Store
	aead  cipher.AEAD
	seed  [sha256.Size]byte
	log   *slog.Logger
}

var _ partner.TokenStore = (*sealedTokenStore)(nil)

func newSealedTokenStore(store *approvals.Store, key []byte, envToken secret.Token, log *slog.Logger) (*sealedTokenStore, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("LOCKSMITH_SECRET_KEY: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("LOCKSMITH_SECRET_KEY: %w", err)
	}
	return &sealedTokenStore{store: store, aead: aead, seed: sha256.Sum256([]byte(envToken.Reveal())), log: log}, nil
}

// additionalData binds a ciphertext to its purpose, so a sealed value cannot be
// moved to another row and decrypted as something else.
var additionalData = []byte("locksmith/" + refreshTokenSecret + "/v1")

func (s *sealedTokenStore) Save(ctx context.Context, tok secret.Token, issuedAt time.Time) error {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	plain := append(append(s.seed[:0:0], s.seed[:]...), tok.Reveal()...)
	sealed := s.aead.Seal(nonce, nonce, plain, additionalData)
	clear(plain)
	return s.store.SaveSecret(ctx, refreshTokenSecret, sealed, issuedAt)
}

func (s *sealedTokenStore) Load(ctx context.Context) (secret.Token, time.Time, bool, error) {
	sealed, issuedAt, err := s.store.LoadSecret(ctx, refreshTokenSecret)
	if errors.Is(err, approvals.ErrNotFound) {
		return secret.Token{}, time.Time{}, false, nil
	}
	if err != nil {
		return secret.Token{}, time.Time{}, false, err
	}
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return secret.Token{}, time.Time{}, false, errors.New("stored refresh token is corrupt")
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], additionalData)
	if err != nil {
		// A different key (rotated LOCKSMITH_SECRET_KEY) or a tampered row: the
		// environment token is the only trustworthy start left.
		s.log.Warn("stored refresh token cannot be decrypted (LOCKSMITH_SECRET_KEY changed?); using PARTNER_REFRESH_TOKEN")
		return secret.Token{}, time.Time{}, false, nil
	}
	if len(plain) < sha256.Size || !bytes.Equal(plain[:sha256.Size], s.seed[:]) {
		// The operator supplied a different environment token: a new chain.
		return secret.Token{}, time.Time{}, false, nil
	}
	tok := secret.NewToken(string(plain[sha256.Size:]))
	clear(plain)
	return tok, issuedAt, true, nil
}
