-- When the approvers of a pending request were reminded, and when it was
-- escalated. Each is set once, by a conditional UPDATE, so of several
-- replicas sweeping at once exactly one sends each message.
ALTER TABLE requests ADD COLUMN reminded_at {{TIME}};
ALTER TABLE requests ADD COLUMN escalated_at {{TIME}};
