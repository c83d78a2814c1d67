CREATE TABLE users (
	id          INTEGER PRIMARY KEY,          -- Telegram user id (int64)
	lang        TEXT    NOT NULL DEFAULT 'kk',
	lang_chosen INTEGER NOT NULL DEFAULT 0,   -- 1 once the user picked a language
	first_name  TEXT    NOT NULL DEFAULT '',
	first_seen  TIMESTAMP NOT NULL,
	last_seen   TIMESTAMP NOT NULL
);
CREATE INDEX users_last_seen ON users (last_seen);
