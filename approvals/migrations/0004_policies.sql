-- Approval policies: which rule a request was made under, its ticket, and
-- how many distinct approvals it needs. Each approval is a row of its own;
-- the primary key is what makes "the same person never counts twice" hold
-- across grants, clicks and replicas.

ALTER TABLE requests ADD COLUMN policy_name TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN tier TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN ticket TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN ticket_url TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN approvals_required INTEGER NOT NULL DEFAULT 1;
ALTER TABLE requests ADD COLUMN approvals_count INTEGER NOT NULL DEFAULT 0;

CREATE TABLE request_approvals (
	request_id    TEXT NOT NULL REFERENCES requests (id),
	approver_id   TEXT NOT NULL,
	approver_name TEXT NOT NULL DEFAULT '',
	approved_at   {{TIME}} NOT NULL,
	-- 1 for the first approval, 2 for the second, …: unique too, so two
	-- approvals can never both believe they were the Nth.
	ordinal       INTEGER NOT NULL,
	PRIMARY KEY (request_id, approver_id),
	UNIQUE (request_id, ordinal)
);

-- Requests approved before this migration were approved by one person, their
-- decider: record that approval so re-checks at reset see it.
INSERT INTO request_approvals (request_id, approver_id, approver_name, approved_at, ordinal)
	SELECT id, decider_id, decider_name, decided_at, 1 FROM requests
	WHERE decided_at IS NOT NULL AND decider_id <> '' AND state NOT IN ('denied', 'cancelled');
UPDATE requests SET approvals_count = 1
	WHERE id IN (SELECT request_id FROM request_approvals);
