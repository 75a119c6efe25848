-- Velocity limits: one row per counted attempt, keyed by what is limited
-- ("requester:U…", "customer:<tenant ID>"), counted over a sliding window in
-- the database so every replica sees the same numbers.
CREATE TABLE velocity (
	id  TEXT PRIMARY KEY,
	key TEXT NOT NULL,
	at  {{TIME}} NOT NULL
);
CREATE INDEX velocity_key_at ON velocity (key, at);

-- When a key was last reported as over its limit: at most one audit row and
-- one audit-channel post per key and window, however hard someone pushes.
CREATE TABLE velocity_notices (
	key         TEXT PRIMARY KEY,
	noticed_at  {{TIME}} NOT NULL
);
