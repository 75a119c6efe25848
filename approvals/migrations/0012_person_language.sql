-- A person's chosen language for locksmith's messages (/reset-password
-- language ja|en). No row: follow their Slack locale. Not audited: it changes
-- only how texts read, never what locksmith may do.
CREATE TABLE person_language (
	slack_user_id TEXT PRIMARY KEY,
	language      TEXT NOT NULL,
	updated_at    {{TIME}} NOT NULL
);
