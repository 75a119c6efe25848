-- What Microsoft Graph said about the target when the request was made (JSON,
-- shown on the card again after every decision), and the recipes the approval
-- covers (JSON array: reset_password, temporary_access_pass, revoke_sessions,
-- enable_account). Requests made before this migration cover the reset only.

ALTER TABLE requests ADD COLUMN target_facts TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN recipes TEXT NOT NULL DEFAULT '';
