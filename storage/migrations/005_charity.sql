-- Charity help requests: a citizen asks for help, the coordinators of the
-- region are offered it, the first to take it owns it.

CREATE TABLE help_requests (
	id               INTEGER PRIMARY KEY AUTOINCREMENT,  -- shown as C-000045
	user_id          INTEGER NOT NULL,                   -- the citizen's Telegram user id
	kind             TEXT    NOT NULL CHECK (kind IN ('food', 'medicine', 'clothing', 'household',
	                                                   'financial', 'education', 'other')),
	family_size      INTEGER NOT NULL CHECK (family_size BETWEEN 1 AND 20),
	description      TEXT    NOT NULL,
	region           TEXT    NOT NULL,                   -- region code
	place            TEXT    NOT NULL DEFAULT '',        -- town, as found in the gazetteer
	phone            TEXT    NOT NULL,                   -- +7XXXXXXXXXX; shown only to the owner
	status           TEXT    NOT NULL CHECK (status IN ('open', 'taken', 'fulfilled', 'unfulfilled', 'withdrawn')),
	coordinator_id   INTEGER,                            -- the owner, once taken
	coordinator_name TEXT    NOT NULL DEFAULT '',
	note             TEXT    NOT NULL DEFAULT '',        -- the coordinator's note when closing
	created_at       TIMESTAMP NOT NULL,
	updated_at       TIMESTAMP NOT NULL,
	taken_at         TIMESTAMP,
	closed_at        TIMESTAMP
);
-- One open request per user per kind.
CREATE UNIQUE INDEX help_requests_one_open ON help_requests (user_id, kind) WHERE status IN ('open', 'taken');
CREATE INDEX help_requests_region ON help_requests (region, status);
CREATE INDEX help_requests_coordinator ON help_requests (coordinator_id, status);

-- Which coordinators were offered a request (their message is edited when
-- someone takes it, or the citizen changes or withdraws it).
CREATE TABLE help_offers (
	request_id     INTEGER NOT NULL REFERENCES help_requests (id),
	coordinator_id INTEGER NOT NULL,
	ref            TEXT    NOT NULL,   -- outbox ref of the offer message, to edit it
	offered_at     TIMESTAMP NOT NULL,
	PRIMARY KEY (request_id, coordinator_id)
);
