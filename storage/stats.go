package storage

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Stats are the figures administrators see with /stats: counts only, no
// personal data. Cases and requests are those submitted in [From, To);
// active users are counted back from Now.
type Stats struct {
	From, To, Now time.Time

	Users       int
	Active7     int
	Active30    int
	UsersByLang map[string]int

	Cases         int
	CasesByStatus map[string]int
	CasesByKind   map[string]int
	CasesByRegion map[string]int
	// Accepted is how many of the period's cases a mediator accepted, and
	// MedianAccept the median time from submission to acceptance.
	Accepted     int
	MedianAccept time.Duration

	Requests         int
	RequestsByKind   map[string]int
	RequestsByStatus map[string]int
	// FamiliesHelped is the period's requests marked fulfilled, People the
	// family members in them.
	FamiliesHelped int
	People         int

	// Events are the charity events starting in the period, by status;
	// Registrations their registrations not cancelled, by status
	// (confirmed, waitlist, offered); Volunteers the people with a
	// confirmed place: the distinct users still known, plus one for each
	// confirmed registration that lost its user (/forget, or the retention
	// rule after the event), since two of those cannot be told to be the
	// same person. Someone who came to several of the period's events
	// counts once for each of those registrations once they lost the user.
	Events                int
	EventsByStatus        map[string]int
	Registrations         int
	RegistrationsByStatus map[string]int
	Volunteers            int
}

// countBy runs a "SELECT key, COUNT(*)" query into a map.
func (db *DB) countBy(ctx context.Context, query string, args ...any) (map[string]int, int, error) {
	var rows []struct {
		Key string `db:"k"`
		N   int    `db:"n"`
	}
	if err := db.read.SelectContext(ctx, &rows, query, args...); err != nil {
		return nil, 0, err
	}
	m, total := map[string]int{}, 0
	for _, r := range rows {
		m[r.Key] += r.N
		total += r.N
	}
	return m, total, nil
}

// Stats computes the figures for submissions in [from, to).
func (db *DB) Stats(ctx context.Context, from, to time.Time) (Stats, error) {
	now := db.now().UTC()
	from, to = from.UTC(), to.UTC()
	s := Stats{From: from, To: to, Now: now}
	var err error
	wrapErr := func(what string, err error) error { return fmt.Errorf("storage: stats: %s: %w", what, err) }

	if s.UsersByLang, s.Users, err = db.countBy(ctx, `SELECT lang AS k, COUNT(*) AS n FROM users GROUP BY lang`); err != nil {
		return s, wrapErr("users", err)
	}
	if err := db.read.GetContext(ctx, &s.Active7, `SELECT COUNT(*) FROM users WHERE last_seen >= ?`, now.Add(-7*24*time.Hour)); err != nil {
		return s, wrapErr("active users", err)
	}
	if err := db.read.GetContext(ctx, &s.Active30, `SELECT COUNT(*) FROM users WHERE last_seen >= ?`, now.Add(-30*24*time.Hour)); err != nil {
		return s, wrapErr("active users", err)
	}

	period := `created_at >= ? AND created_at < ?`
	if s.CasesByStatus, s.Cases, err = db.countBy(ctx, `SELECT status AS k, COUNT(*) AS n FROM mediation_cases WHERE `+period+` GROUP BY status`, from, to); err != nil {
		return s, wrapErr("cases", err)
	}
	if s.CasesByKind, _, err = db.countBy(ctx, `SELECT kind AS k, COUNT(*) AS n FROM mediation_cases WHERE `+period+` GROUP BY kind`, from, to); err != nil {
		return s, wrapErr("cases", err)
	}
	if s.CasesByRegion, _, err = db.countBy(ctx, `SELECT region AS k, COUNT(*) AS n FROM mediation_cases WHERE `+period+` GROUP BY region`, from, to); err != nil {
		return s, wrapErr("cases", err)
	}
	var accepted []struct {
		Created  time.Time `db:"created_at"`
		Accepted time.Time `db:"accepted_at"`
	}
	if err := db.read.SelectContext(ctx, &accepted, `SELECT created_at, accepted_at FROM mediation_cases
		WHERE `+period+` AND accepted_at IS NOT NULL`, from, to); err != nil {
		return s, wrapErr("acceptance times", err)
	}
	waits := make([]time.Duration, len(accepted))
	for i, a := range accepted {
		waits[i] = a.Accepted.Sub(a.Created)
	}
	s.Accepted, s.MedianAccept = len(waits), median(waits)

	if s.RequestsByKind, s.Requests, err = db.countBy(ctx, `SELECT kind AS k, COUNT(*) AS n FROM help_requests WHERE `+period+` GROUP BY kind`, from, to); err != nil {
		return s, wrapErr("help requests", err)
	}
	if s.RequestsByStatus, _, err = db.countBy(ctx, `SELECT status AS k, COUNT(*) AS n FROM help_requests WHERE `+period+` GROUP BY status`, from, to); err != nil {
		return s, wrapErr("help requests", err)
	}
	if err := db.read.GetContext(ctx, &s.FamiliesHelped, `SELECT COUNT(*) FROM help_requests
		WHERE `+period+` AND status = 'fulfilled'`, from, to); err != nil {
		return s, wrapErr("families helped", err)
	}
	if err := db.read.GetContext(ctx, &s.People, `SELECT COALESCE(SUM(family_size), 0) FROM help_requests
		WHERE `+period+` AND status = 'fulfilled'`, from, to); err != nil {
		return s, wrapErr("families helped", err)
	}

	if s.EventsByStatus, s.Events, err = db.countBy(ctx, `SELECT status AS k, COUNT(*) AS n FROM events
		WHERE starts_at >= ? AND starts_at < ? GROUP BY status`, from, to); err != nil {
		return s, wrapErr("events", err)
	}
	ofEvents := `FROM registrations r JOIN events e ON e.id = r.event_id
		WHERE e.starts_at >= ? AND e.starts_at < ? AND r.status <> 'cancelled'`
	if s.RegistrationsByStatus, s.Registrations, err = db.countBy(ctx, `SELECT r.status AS k, COUNT(*) AS n `+ofEvents+` GROUP BY r.status`, from, to); err != nil {
		return s, wrapErr("registrations", err)
	}
	// A registration that lost its user has minus its own id as user id
	// (EraseUser, Anonymise): distinct, so each counts as one volunteer.
	if err := db.read.GetContext(ctx, &s.Volunteers, `SELECT COUNT(DISTINCT r.user_id) `+ofEvents+` AND r.status = 'confirmed'`, from, to); err != nil {
		return s, wrapErr("volunteers", err)
	}
	return s, nil
}

// median of ds (the mean of the middle two for an even count; 0 for none).
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	n := len(ds)
	if n%2 == 1 {
		return ds[n/2]
	}
	return (ds[n/2-1] + ds[n/2]) / 2
}
