-- Charity events and the volunteers who register for them.
CREATE TABLE events (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,  -- shown as E-000012
	coordinator_id INTEGER NOT NULL,
	title          TEXT    NOT NULL,
	description    TEXT    NOT NULL,
	starts_at      TIMESTAMP NOT NULL,
	region         TEXT    NOT NULL,
	place          TEXT    NOT NULL DEFAULT '',   -- town
	address        TEXT    NOT NULL DEFAULT '',
	lat            REAL    NOT NULL,
	lon            REAL    NOT NULL,
	capacity       INTEGER NOT NULL CHECK (capacity BETWEEN 1 AND 10000),
	status         TEXT    NOT NULL CHECK (status IN ('open', 'cancelled')),
	created_at     TIMESTAMP NOT NULL
);
CREATE INDEX events_upcoming ON events (status, starts_at);
CREATE INDEX events_coordinator ON events (coordinator_id, starts_at);

-- A volunteer's name and phone, asked once at the first registration.
CREATE TABLE volunteers (
	user_id    INTEGER PRIMARY KEY,
	name       TEXT    NOT NULL,
	phone      TEXT    NOT NULL,
	updated_at TIMESTAMP NOT NULL
);

-- confirmed and offered hold a place; offered is a place passed on from
-- the waitlist, held until offered_until for the volunteer to confirm.
CREATE TABLE registrations (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	event_id      INTEGER NOT NULL REFERENCES events (id),
	user_id       INTEGER NOT NULL,
	status        TEXT    NOT NULL CHECK (status IN ('confirmed', 'waitlist', 'offered', 'cancelled')),
	registered_at TIMESTAMP NOT NULL,
	offered_until TIMESTAMP,
	updated_at    TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX registrations_once ON registrations (event_id, user_id) WHERE status != 'cancelled';
CREATE INDEX registrations_event ON registrations (event_id, status, id);
CREATE INDEX registrations_user ON registrations (user_id, status);
