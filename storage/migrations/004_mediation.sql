-- Mediation cases, the offers of a case to mediators, and each case's history.

CREATE TABLE mediation_cases (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,  -- shown as M-000123
	citizen_id    INTEGER,                -- Telegram user id; NULL once anonymised
	kind          TEXT    NOT NULL,       -- family, neighbours, interethnic, labour, other
	description   TEXT    NOT NULL,
	region        TEXT    NOT NULL,       -- region code
	place         TEXT    NOT NULL DEFAULT '',  -- settlement named or nearest to the shared location
	lang          TEXT    NOT NULL,       -- preferred language: kk, ru, en
	phone         TEXT    NOT NULL DEFAULT '',  -- only when the citizen chose to share it
	status        TEXT    NOT NULL CHECK (status IN ('waiting', 'accepted', 'closed', 'withdrawn')),
	mediator_id   INTEGER,
	created_at    TIMESTAMP NOT NULL,
	accepted_at   TIMESTAMP,
	closed_at     TIMESTAMP,
	escalated_at  TIMESTAMP,
	outcome       TEXT    NOT NULL DEFAULT '',  -- resolved, partly, unresolved, referred
	outcome_note  TEXT    NOT NULL DEFAULT '',
	rating        INTEGER,                -- 1 to 5
	rating_comment TEXT   NOT NULL DEFAULT ''
);
CREATE INDEX mediation_cases_citizen ON mediation_cases (citizen_id);
CREATE INDEX mediation_cases_mediator ON mediation_cases (mediator_id, status);
CREATE INDEX mediation_cases_status ON mediation_cases (status);

CREATE TABLE mediation_offers (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	case_id     INTEGER NOT NULL REFERENCES mediation_cases (id),
	mediator_id INTEGER NOT NULL,
	offered_at  TIMESTAMP NOT NULL,
	status      TEXT    NOT NULL CHECK (status IN ('open', 'accepted', 'declined', 'expired', 'withdrawn')),
	answered_at TIMESTAMP,
	reason      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX mediation_offers_case ON mediation_offers (case_id);
CREATE INDEX mediation_offers_mediator ON mediation_offers (mediator_id, offered_at);

CREATE TABLE mediation_events (
	id       INTEGER PRIMARY KEY AUTOINCREMENT,
	case_id  INTEGER NOT NULL REFERENCES mediation_cases (id),
	at       TIMESTAMP NOT NULL,
	actor_id INTEGER NOT NULL DEFAULT 0,  -- 0: the bot
	event    TEXT    NOT NULL,            -- created, offered, declined, expired, accepted, escalated, closed, rated, withdrawn, released
	detail   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX mediation_events_case ON mediation_events (case_id, id);
