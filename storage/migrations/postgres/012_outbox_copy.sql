-- PostgreSQL version of ../012_outbox_copy.sql: BIGINT for the chat id.
ALTER TABLE outbox ADD COLUMN copy_from BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN copy_message INTEGER NOT NULL DEFAULT 0;
