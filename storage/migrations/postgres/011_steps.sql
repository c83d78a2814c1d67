-- PostgreSQL version of ../011_steps.sql: BIGINT user id, TIMESTAMPTZ.
-- A flow step that commits records the update it handled in the same
-- transaction, so that handled again it answers as the first time did.
CREATE TABLE steps_done (
	step       TEXT    PRIMARY KEY,  -- the step's operation, user id and update id
	user_id    BIGINT  NOT NULL,
	result     TEXT    NOT NULL DEFAULT '',
	created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX steps_done_created ON steps_done (created_at);
CREATE INDEX steps_done_user ON steps_done (user_id);
