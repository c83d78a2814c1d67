-- Staff (mediators, coordinators), their profiles, one-time invites,
-- consents, the outbox of notifications, timers and the audit log.
-- Administrators are not stored: they come from ADMIN_IDS.

CREATE TABLE staff_roles (
	user_id    INTEGER NOT NULL,            -- Telegram user id
	role       TEXT    NOT NULL CHECK (role IN ('mediator', 'coordinator')),
	granted_by INTEGER NOT NULL DEFAULT 0,  -- administrator who issued the invite
	granted_at TIMESTAMP NOT NULL,
	PRIMARY KEY (user_id, role)
);
CREATE INDEX staff_roles_role ON staff_roles (role);

CREATE TABLE staff_profiles (
	user_id      INTEGER PRIMARY KEY,
	display_name TEXT    NOT NULL DEFAULT '',  -- shown to citizens; a first name is enough
	max_open     INTEGER NOT NULL DEFAULT 5,   -- open cases or requests at most
	on_duty      INTEGER NOT NULL DEFAULT 0,
	updated_at   TIMESTAMP NOT NULL
);

-- What a staff member serves: regions (region codes), languages (kk, ru,
-- en) and kinds (of conflict, of help), one row each, so matching is a join.
CREATE TABLE staff_scopes (
	user_id INTEGER NOT NULL,
	field   TEXT    NOT NULL CHECK (field IN ('region', 'language', 'kind')),
	value   TEXT    NOT NULL,
	PRIMARY KEY (user_id, field, value)
);
CREATE INDEX staff_scopes_value ON staff_scopes (field, value);

CREATE TABLE invites (
	code       TEXT    PRIMARY KEY,
	role       TEXT    NOT NULL CHECK (role IN ('mediator', 'coordinator')),
	created_by INTEGER NOT NULL,
	created_at TIMESTAMP NOT NULL,
	expires_at TIMESTAMP NOT NULL,
	used_by    INTEGER,
	used_at    TIMESTAMP
);

CREATE TABLE consents (
	id        INTEGER PRIMARY KEY AUTOINCREMENT,
	user_id   INTEGER NOT NULL,
	purpose   TEXT    NOT NULL,   -- mediation, charity, volunteering ...
	version   TEXT    NOT NULL,   -- version of the consent text shown
	agreed_at TIMESTAMP NOT NULL
);
CREATE INDEX consents_user ON consents (user_id, purpose);

-- Messages the bot sends because of something another user did. A row is
-- written in the same transaction as the change that caused it and sent by
-- the background worker until Telegram accepts it.
CREATE TABLE outbox (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	chat_id         INTEGER NOT NULL,
	text            TEXT    NOT NULL,
	keyboard        TEXT    NOT NULL DEFAULT '',  -- inline keyboard as JSON
	protect         INTEGER NOT NULL DEFAULT 0,   -- protect_content
	ref             TEXT    NOT NULL DEFAULT '',  -- names the message, so it can be edited later
	edit_ref        TEXT    NOT NULL DEFAULT '',  -- edit the message sent for this ref instead
	created_at      TIMESTAMP NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at TIMESTAMP NOT NULL,
	sent_at         TIMESTAMP,
	message_id      INTEGER NOT NULL DEFAULT 0,   -- Telegram's id of the message sent
	failed_at       TIMESTAMP,                    -- given up (blocked by the user, too many attempts, cancelled)
	last_error      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX outbox_chat ON outbox (chat_id, id) WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX outbox_ref ON outbox (ref) WHERE ref <> '';

-- Deadlines: offer timeouts, escalations, reminders. A timer fires once,
-- in the transaction that records it fired.
CREATE TABLE timers (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	kind       TEXT    NOT NULL,
	ref        TEXT    NOT NULL,
	due_at     TIMESTAMP NOT NULL,
	created_at TIMESTAMP NOT NULL,
	fired_at   TIMESTAMP
);
CREATE UNIQUE INDEX timers_pending ON timers (kind, ref) WHERE fired_at IS NULL;
CREATE INDEX timers_due ON timers (due_at) WHERE fired_at IS NULL;

-- Who did what to whose data, when. Append-only: no update, no delete.
CREATE TABLE audit_log (
	id       INTEGER PRIMARY KEY AUTOINCREMENT,
	actor_id INTEGER NOT NULL,
	action   TEXT    NOT NULL,   -- e.g. case.view, invite.create
	subject  TEXT    NOT NULL DEFAULT '',  -- e.g. M-000123
	at       TIMESTAMP NOT NULL
);
CREATE INDEX audit_log_subject ON audit_log (subject);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
