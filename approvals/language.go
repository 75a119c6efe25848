package approvals

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Language returns the language a person chose for locksmith's messages, or
// "" when they have not chosen one. The store keeps the code it is given
// ("ja", "en") and does not interpret it.
func (s *Store) Language(ctx context.Context, slackUserID string) (string, error) {
	var lang string
	err := s.db.QueryRowContext(ctx, s.d.q("SELECT language FROM person_language WHERE slack_user_id = ?"), slackUserID).Scan(&lang)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("approvals: language of %s: %w", slackUserID, err)
	}
	return lang, nil
}

// SetLanguage records a person's language; "" removes the choice, so their
// Slack locale counts again. One statement, so concurrent changes simply
// leave the last one.
func (s *Store) SetLanguage(ctx context.Context, slackUserID, lang string) error {
	if slackUserID == "" {
		return errors.New("approvals: set language: no Slack user ID")
	}
	var err error
	if lang == "" {
		_, err = s.db.ExecContext(ctx, s.d.q("DELETE FROM person_language WHERE slack_user_id = ?"), slackUserID)
	} else {
		_, err = s.db.ExecContext(ctx, s.d.q(`INSERT INTO person_language (slack_user_id, language, updated_at)
			VALUES (?, ?, ?)
			ON CONFLICT (slack_user_id) DO UPDATE SET language = excluded.language, updated_at = excluded.updated_at`),
			slackUserID, lang, s.d.t(s.clock()))
	}
	if err != nil {
		return fmt.Errorf("approvals: set language of %s: %w", slackUserID, err)
	}
	return nil
}
