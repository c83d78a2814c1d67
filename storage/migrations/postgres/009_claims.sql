-- PostgreSQL version of ../009_claims.sql: TIMESTAMPTZ.
ALTER TABLE outbox ADD COLUMN claimed_until TIMESTAMPTZ;
ALTER TABLE timers ADD COLUMN claimed_until TIMESTAMPTZ;
