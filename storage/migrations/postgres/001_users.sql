-- PostgreSQL version of ../001_users.sql: BIGINT for every integer (Telegram ids
-- are 64-bit), identity columns, TIMESTAMPTZ, BOOLEAN flags.
CREATE TABLE users (
	id          BIGINT  PRIMARY KEY,          -- Telegram user id (int64)
	lang        TEXT    NOT NULL DEFAULT 'kk',
	lang_chosen BOOLEAN NOT NULL DEFAULT FALSE,   -- 1 once the user picked a language
	first_name  TEXT    NOT NULL DEFAULT '',
	first_seen  TIMESTAMPTZ NOT NULL,
	last_seen   TIMESTAMPTZ NOT NULL
);
CREATE INDEX users_last_seen ON users (last_seen);
