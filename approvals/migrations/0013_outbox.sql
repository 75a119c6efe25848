-- Slack messages owed because of a state change (an approval card, its
-- updates, a requester's DM, an audit-channel line), written in the same
-- transaction as the change and delivered by the outbox: after a crash, on
-- another replica, after Slack recovers. A row holds no secret: the password
-- never passes through here. See docs/outbox.md.
CREATE TABLE outbox (
	id          {{SERIAL}},
	kind        TEXT NOT NULL,               -- card, dm, channel, thread
	channel     TEXT NOT NULL,               -- channel ID; a user ID for a DM
	pace_key    TEXT NOT NULL,               -- the allowance it is sent under
	order_key   TEXT NOT NULL,               -- rows with one key are sent in id order
	request_id  TEXT NOT NULL DEFAULT '',
	after_id    BIGINT,                      -- sent only once that row is finished
	payload     TEXT NOT NULL,               -- JSON for the sender; never a secret
	state       TEXT NOT NULL DEFAULT 'pending', -- pending, sending, sent, abandoned, superseded
	attempts    INTEGER NOT NULL DEFAULT 0,
	created_at  {{TIME}} NOT NULL,
	next_at     {{TIME}} NOT NULL,
	claimed_by  TEXT NOT NULL DEFAULT '',
	claimed_at  {{TIME}},
	finished_at {{TIME}},
	result      TEXT NOT NULL DEFAULT '',    -- what sending returned (a card's permalink)
	last_error  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due ON outbox (state, next_at);
CREATE INDEX outbox_order ON outbox (order_key, id);
CREATE INDEX outbox_request ON outbox (request_id, kind);

-- Each allowance's theoretical arrival time (the generic cell rate
-- algorithm): a message may go when tat - (burst-1)*interval <= now. Shared
-- by every replica, so together they keep one allowance per channel.
CREATE TABLE outbox_pace (
	pace_key TEXT PRIMARY KEY,
	tat      {{TIME}} NOT NULL
);
