-- The directory: Houses of Friendship, mediation offices, councils,
-- associations, youth organisations and theatres, loaded by `dostyq import`.
CREATE TABLE places (
	id           INTEGER PRIMARY KEY,
	kind         TEXT    NOT NULL,             -- house, mediation_office, council_accord, ...
	external_id  TEXT    NOT NULL,             -- the Assembly's id of the place, unique per kind
	name_kk      TEXT    NOT NULL DEFAULT '',
	name_ru      TEXT    NOT NULL DEFAULT '',
	name_en      TEXT    NOT NULL DEFAULT '',
	region       TEXT    NOT NULL,             -- code of data/regions.csv
	locality     TEXT    NOT NULL DEFAULT '',
	level        TEXT    NOT NULL DEFAULT '',  -- councils: village, district, city, region
	address_kk   TEXT    NOT NULL DEFAULT '',
	address_ru   TEXT    NOT NULL DEFAULT '',
	address_en   TEXT    NOT NULL DEFAULT '',
	lat          REAL    NOT NULL,
	lon          REAL    NOT NULL,
	phone        TEXT    NOT NULL DEFAULT '',  -- +7 XXX XXX XX XX, several separated by |
	hours        TEXT    NOT NULL DEFAULT '',
	website      TEXT    NOT NULL DEFAULT '',
	ethnic_group TEXT    NOT NULL DEFAULT '',  -- associations: russian, uzbek, ...
	languages    TEXT    NOT NULL DEFAULT '',  -- |-separated language codes
	sample       INTEGER NOT NULL DEFAULT 0,   -- 1 for the shipped sample directory
	updated_at   TIMESTAMP NOT NULL,
	UNIQUE (kind, external_id)
);
CREATE INDEX places_kind_region ON places (kind, region);
CREATE INDEX places_ethnic_group ON places (ethnic_group) WHERE ethnic_group <> '';

-- version grows with every import, so running bots reload their in-memory
-- nearest-place index after `dostyq import` in another process.
CREATE TABLE places_version (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	version INTEGER NOT NULL
);
INSERT INTO places_version (id, version) VALUES (1, 0);
