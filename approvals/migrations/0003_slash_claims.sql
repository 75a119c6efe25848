-- A slash command is acted on once. Slack sends an envelope again when its ack
-- was late or its socket dropped, possibly to another replica; the first
-- delivery to claim the command's trigger_id here acts on it, and the others
-- do nothing. Rows are only needed while Slack may still redeliver, so they
-- expire and are removed as new claims are made.
CREATE TABLE slash_claims (
	claim_key      TEXT PRIMARY KEY,
	envelope_id    TEXT NOT NULL,
	correlation_id TEXT NOT NULL,
	claimed_at     {{TIME}} NOT NULL,
	expires_at     {{TIME}} NOT NULL
);

CREATE INDEX slash_claims_expires_at ON slash_claims (expires_at);
