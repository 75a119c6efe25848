-- Break-glass resets: made without approval by someone on the break-glass
-- list, then reviewed after the fact by someone else. review_reminded_at is
-- when the reviewers were last reminded; each reminder is claimed by one
-- conditional UPDATE, so replicas do not repeat it.
ALTER TABLE requests ADD COLUMN break_glass INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN reviewed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN reviewed_by_name TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN reviewed_at {{TIME}};
ALTER TABLE requests ADD COLUMN review_reminded_at {{TIME}};
