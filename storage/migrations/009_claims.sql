-- Several replicas of the bot may share one database. A replica claims a
-- notification or a timer until claimed_until before working on it, so no
-- other replica takes it meanwhile; the claim of a replica that died runs
-- out and another takes the work over.
ALTER TABLE outbox ADD COLUMN claimed_until TIMESTAMP;
ALTER TABLE timers ADD COLUMN claimed_until TIMESTAMP;
