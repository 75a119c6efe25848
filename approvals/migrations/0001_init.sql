-- The sign-off record, the audit trail and the sealed refresh token.
-- Shared by both backends: {{TIME}} is TIMESTAMPTZ on PostgreSQL and
-- fixed-width UTC text on SQLite; {{BYTES}} is BYTEA or BLOB.

CREATE TABLE requests (
	id                   TEXT PRIMARY KEY,
	state                TEXT NOT NULL CHECK (state IN
		('pending', 'approved', 'denied', 'cancelled', 'expired', 'resetting', 'done', 'failed')),
	version              BIGINT NOT NULL DEFAULT 1,
	requester_id         TEXT NOT NULL,
	requester_name       TEXT NOT NULL DEFAULT '',
	tenant_id            TEXT NOT NULL,
	customer_name        TEXT NOT NULL DEFAULT '',
	customer_domain      TEXT NOT NULL DEFAULT '',
	target_object_id     TEXT NOT NULL,
	target_upn           TEXT NOT NULL DEFAULT '',
	target_display_name  TEXT NOT NULL DEFAULT '',
	target_roles         TEXT NOT NULL DEFAULT '[]', -- JSON array of display names
	role_needed          TEXT NOT NULL DEFAULT '',
	reason               TEXT NOT NULL DEFAULT '',
	correlation_id       TEXT NOT NULL DEFAULT '',
	created_at           {{TIME}} NOT NULL,
	expires_at           {{TIME}} NOT NULL,
	decider_id           TEXT NOT NULL DEFAULT '',
	decider_name         TEXT NOT NULL DEFAULT '',
	decided_at           {{TIME}},
	use_by               {{TIME}},
	claimed_at           {{TIME}},
	reset_correlation_id TEXT NOT NULL DEFAULT '',
	finished_at          {{TIME}},
	detail               TEXT NOT NULL DEFAULT '',
	approval_channel     TEXT NOT NULL DEFAULT '',
	approval_ts          TEXT NOT NULL DEFAULT ''
);

-- The sweeper and the pending-requests gauge look requests up by state.
CREATE INDEX requests_state ON requests (state);

-- Append-only: rows are inserted with seq = last seq + 1 while appends are
-- serialised, and never updated or deleted (see the next migration).
CREATE TABLE audit_events (
	seq              BIGINT PRIMARY KEY,
	at               {{TIME}} NOT NULL,
	actor_id         TEXT NOT NULL,
	actor_name       TEXT NOT NULL,
	tenant_id        TEXT NOT NULL,
	customer_domain  TEXT NOT NULL,
	target_object_id TEXT NOT NULL,
	target_upn       TEXT NOT NULL,
	request_id       TEXT NOT NULL,
	correlation_id   TEXT NOT NULL,
	outcome          TEXT NOT NULL,
	detail           TEXT NOT NULL,
	prev_hash        TEXT NOT NULL,
	hash             TEXT NOT NULL
);

CREATE INDEX audit_events_at ON audit_events (at);

-- Ciphertext only: the caller seals before saving.
CREATE TABLE secrets (
	name       TEXT PRIMARY KEY,
	sealed     {{BYTES}} NOT NULL,
	issued_at  {{TIME}} NOT NULL,
	updated_at {{TIME}} NOT NULL
);
