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
// Which token wins when both a stored one and PARTNER_REFRESH_TOKEN exist
// (docs/signin.md): the newest. A token saved by `locksmith login` is newer
// than whatever the environment held then, so it wins. A token the bot rotated
// is bound to the environment token of the time (a SHA-256 fingerprint inside
// the ciphertext); when the operator later puts a different PARTNER_REFRESH_TOKEN
// in the environment, that one is the newer and wins. An empty environment
// never discards a stored token.
type sealedTokenStore struct {
	store    *approvals.Store
	aead     cipher.AEAD
	seed     [sha256.Size]byte // fingerprint of PARTNER_REFRESH_TOKEN
	envToken bool              // PARTNER_REFRESH_TOKEN is set
	log      *slog.Logger
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
	return &sealedTokenStore{store: store, aead: aead, seed: sha256.Sum256([]byte(envToken.Reveal())),
		envToken: !envToken.IsZero(), log: log}, nil
}

// Sealed formats. The additional data binds a ciphertext to its purpose and
// version, so a sealed value cannot be moved to another row or read as
// another format. v1 (before `locksmith login`): fingerprint ‖ token. v2:
// flags ‖ fingerprint ‖ token; a login-saved token has a zero fingerprint.
var (
	additionalDataV1 = []byte("locksmith/" + refreshTokenSecret + "/v1")
	additionalDataV2 = []byte("locksmith/" + refreshTokenSecret + "/v2")
)

const (
	flagPublic    = 1 << 0 // issued to a public client: redeem without the secret
	flagFromLogin = 1 << 1 // saved by `locksmith login`, not yet rotated by the bot
)

// sealedRecord is a decrypted row.
type sealedRecord struct {
	tok    partner.StoredToken
	origin [sha256.Size]byte
}

func (s *sealedTokenStore) Save(ctx context.Context, tok partner.StoredToken) error {
	var flags byte
	if tok.Public {
		flags |= flagPublic
	}
	return s.save(ctx, tok, flags, s.seed)
}

// SaveSignIn stores the refresh token of a `locksmith login`. A sign-in must
// replace whatever is stored, but the store keeps only a token issued at the
// same time or later, and `login` may run on a machine whose clock is behind
// the bot's: so the sign-in is dated just after the stored token when needed,
// and read back to confirm it is the one kept.
func (s *sealedTokenStore) SaveSignIn(ctx context.Context, tok secret.Token, issuedAt time.Time, public bool) error {
	flags := byte(flagFromLogin)
	if public {
		flags |= flagPublic
	}
	_, storedAt, err := s.store.LoadSecret(ctx, refreshTokenSecret)
	switch {
	case err == nil && !issuedAt.After(storedAt):
		issuedAt = storedAt.Add(time.Millisecond)
	case err != nil && !errors.Is(err, approvals.ErrNotFound):
		return err
	}
	if err := s.save(ctx, partner.StoredToken{Token: tok, IssuedAt: issuedAt, Public: public}, flags, [sha256.Size]byte{}); err != nil {
		return err
	}
	ch, err := s.choose(ctx)
	if err != nil {
		return err
	}
	if !ch.fromLogin || ch.rec.tok.Token.Reveal() != tok.Reveal() {
		return errors.New("a running bot replaced the stored refresh token at the same moment; run `locksmith login` again")
	}
	return nil
}

func (s *sealedTokenStore) save(ctx context.Context, tok partner.StoredToken, flags byte, origin [sha256.Size]byte) error {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	plain := make([]byte, 0, 1+sha256.Size+len(tok.Token.Reveal()))
	plain = append(append(append(plain, flags), origin[:]...), tok.Token.Reveal()...)
	sealed := s.aead.Seal(nonce, nonce, plain, additionalDataV2)
	clear(plain)
	return s.store.SaveSecret(ctx, refreshTokenSecret, sealed, tok.IssuedAt)
}

// tokenChoice is what Load decided, for Load itself and for the sentence
// that tells the operator which token is in use.
type tokenChoice struct {
	rec        sealedRecord
	stored     bool // a row exists
	readable   bool // it decrypts with this key
	fromLogin  bool
	useStored  bool
	envChanged bool // PARTNER_REFRESH_TOKEN differs from the stored chain's origin
}

func (s *sealedTokenStore) choose(ctx context.Context) (tokenChoice, error) {
	sealed, issuedAt, err := s.store.LoadSecret(ctx, refreshTokenSecret)
	if errors.Is(err, approvals.ErrNotFound) {
		return tokenChoice{}, nil
	}
	if err != nil {
		return tokenChoice{}, err
	}
	ch := tokenChoice{stored: true}
	rec, flags, ok := s.open(sealed)
	if !ok {
		return ch, nil
	}
	rec.tok.IssuedAt = issuedAt
	ch.rec, ch.readable = rec, true
	ch.fromLogin = flags&flagFromLogin != 0
	switch {
	case ch.fromLogin, !s.envToken:
		ch.useStored = true
	case bytes.Equal(rec.origin[:], s.seed[:]):
		ch.useStored = true
	default:
		ch.envChanged = true
	}
	return ch, nil
}

// open decrypts a row in either format; ok is false for a different key or a
// tampered or corrupt row.
func (s *sealedTokenStore) open(sealed []byte) (rec sealedRecord, flags byte, ok bool) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return rec, 0, false
	}
	if plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], additionalDataV2); err == nil {
		defer clear(plain)
		if len(plain) < 1+sha256.Size {
			return rec, 0, false
		}
		flags = plain[0]
		copy(rec.origin[:], plain[1:1+sha256.Size])
		rec.tok = partner.StoredToken{Token: secret.NewToken(string(plain[1+sha256.Size:])), Public: flags&flagPublic != 0}
		return rec, flags, true
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], additionalDataV1)
	if err != nil || len(plain) < sha256.Size {
		return rec, 0, false
	}
	defer clear(plain)
	copy(rec.origin[:], plain[:sha256.Size])
	rec.tok = partner.StoredToken{Token: secret.NewToken(string(plain[sha256.Size:]))}
	return rec, 0, true
}

func (s *sealedTokenStore) Load(ctx context.Context) (partner.StoredToken, bool, error) {
	ch, err := s.choose(ctx)
	if err != nil {
		return partner.StoredToken{}, false, err
	}
	if ch.stored && !ch.readable {
		// A different key (rotated LOCKSMITH_SECRET_KEY) or a tampered row: the
		// environment token is the only trustworthy start left.
		s.log.Warn("stored refresh token cannot be decrypted (LOCKSMITH_SECRET_KEY changed?); using PARTNER_REFRESH_TOKEN")
		return partner.StoredToken{}, false, nil
	}
	if !ch.useStored {
		return partner.StoredToken{}, false, nil
	}
	return ch.rec.tok, true, nil
}

// describe says, in one sentence for the log and for `check`, which refresh
// token locksmith starts from and why. It never includes a token.
func (s *sealedTokenStore) describe(ctx context.Context) (choice string, ok bool, err error) {
	ch, err := s.choose(ctx)
	if err != nil {
		return "", false, err
	}
	at := ch.rec.tok.IssuedAt.UTC().Format(time.RFC3339)
	env := ""
	if s.envToken {
		env = "; PARTNER_REFRESH_TOKEN is set but only tried if the stored token is refused (you may remove it)"
	}
	switch {
	case !ch.stored && s.envToken:
		return "using PARTNER_REFRESH_TOKEN (no refresh token is stored yet)", true, nil
	case !ch.stored:
		return "no refresh token: run `locksmith login` (or set PARTNER_REFRESH_TOKEN)", false, nil
	case !ch.readable && s.envToken:
		return "using PARTNER_REFRESH_TOKEN: the stored refresh token cannot be decrypted with this LOCKSMITH_SECRET_KEY", true, nil
	case !ch.readable:
		return "no usable refresh token: the stored one cannot be decrypted with this LOCKSMITH_SECRET_KEY; run `locksmith login`", false, nil
	case ch.fromLogin:
		return "using the refresh token saved by `locksmith login` at " + at + env, true, nil
	case ch.useStored:
		return "using the newest stored refresh token (saved at " + at + ")" + env, true, nil
	}
	return "using PARTNER_REFRESH_TOKEN: it differs from the token the stored chain started from, so it is taken as the newer; the stored token (saved at " + at + ") is ignored", true, nil
}
