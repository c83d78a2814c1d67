-- /stats counts what was submitted in a period.
CREATE INDEX mediation_cases_created ON mediation_cases (created_at);
CREATE INDEX help_requests_created ON help_requests (created_at);
