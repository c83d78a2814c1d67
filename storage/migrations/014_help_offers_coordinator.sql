-- The requests offered to one coordinator (HelpRequestsAwaiting: the hint to a
-- coordinator typing instead of pressing) without scanning every request.
CREATE INDEX help_offers_coordinator ON help_offers (coordinator_id);
