-- Issue 7: see migrations/010_history_indexes.sql. The same indexes; only
-- outbox_ref_prefix differs.

CREATE INDEX mediation_offers_open ON mediation_offers (mediator_id) WHERE status = 'open';

CREATE INDEX mediation_offers_case_mediator ON mediation_offers (case_id, mediator_id);
DROP INDEX mediation_offers_case;

CREATE INDEX help_requests_user ON help_requests (user_id);

-- PostgreSQL's LIKE is case-sensitive, and an index serves a prefix LIKE
-- under any collation only with the text_pattern_ops operator class.
CREATE INDEX outbox_ref_prefix ON outbox (ref text_pattern_ops) WHERE ref <> '';
