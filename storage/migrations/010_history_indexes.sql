-- Issue 7: queries on a conversation's path read rows that grow with the
-- history; these indexes make them seeks (docs/BENCHMARKS.md, "Storage
-- queries"). Index names are the same on PostgreSQL.

-- NextMediator counts, and OpenOffersOf lists, a mediator's open offers:
-- with only (mediator_id, offered_at) it read every offer the mediator
-- ever had to find the few open ones.
CREATE INDEX mediation_offers_open ON mediation_offers (mediator_id) WHERE status = 'open';

-- NextMediator's "not offered this case before" (case_id = ? AND
-- mediator_id = ?): SQLite chose (mediator_id, offered_at) over (case_id)
-- and read, for every candidate, every offer they ever had. Both
-- columns in one index make it a seek; it serves every query by case_id
-- too, so the index of case_id alone goes.
CREATE INDEX mediation_offers_case_mediator ON mediation_offers (case_id, mediator_id);
DROP INDEX mediation_offers_case;

-- A citizen's requests (UserHelpRequests, /mydata, /forget): the only
-- index on user_id covered open and taken requests, so the rest was a
-- scan of every request.
CREATE INDEX help_requests_user ON help_requests (user_id);

-- NewHelpOfferRef counts the offers of a request to a coordinator with
-- ref LIKE 'help:ID:COORDINATOR:%' AND ref <> ''. SQLite's LIKE ignores
-- case, so only an index of ref under NOCASE turns it into a range (the
-- index outbox_ref is BINARY): without it, a scan of the whole outbox.
CREATE INDEX outbox_ref_prefix ON outbox (ref COLLATE NOCASE) WHERE ref <> '';
