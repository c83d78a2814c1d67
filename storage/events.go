package storage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Statuses of a registration.
const (
	RegConfirmed = "confirmed"
	RegWaitlist  = "waitlist"
	RegOffered   = "offered" // a place passed on from the waitlist, to confirm in time
	RegCancelled = "cancelled"
)

// Statuses of an event.
const (
	EventOpen      = "open"
	EventCancelled = "cancelled"
)

var (
	// ErrEventFull is returned by Register when no place is left and the
	// volunteer did not ask for the waitlist.
	ErrEventFull = errors.New("event full")
	// ErrRegistered is returned by Register for a volunteer already on the
	// event's list.
	ErrRegistered = errors.New("already registered")
	// ErrEventClosed is returned for an event cancelled or already begun.
	ErrEventClosed = errors.New("event closed")
)

// Event is a charity event volunteers register for.
type Event struct {
	ID            int64     `db:"id"`
	CoordinatorID int64     `db:"coordinator_id"`
	Title         string    `db:"title"`
	Description   string    `db:"description"`
	StartsAt      time.Time `db:"starts_at"`
	Region        string    `db:"region"`
	Place         string    `db:"place"`
	Address       string    `db:"address"`
	Lat           float64   `db:"lat"`
	Lon           float64   `db:"lon"`
	Capacity      int       `db:"capacity"`
	Status        string    `db:"status"`
	CreatedAt     time.Time `db:"created_at"`

	// Filled by the listing queries.
	Confirmed int `db:"confirmed"` // places taken (confirmed and offered)
	Waitlist  int `db:"waitlist"`
}

// Number is the event's number as people see it: E-000012.
func (e Event) Number() string { return fmt.Sprintf("E-%06d", e.ID) }

// Left is the number of places still free.
func (e Event) Left() int { return max(0, e.Capacity-e.Confirmed) }

// Registration is a volunteer on an event's list.
type Registration struct {
	ID           int64      `db:"id"`
	EventID      int64      `db:"event_id"`
	UserID       int64      `db:"user_id"`
	Status       string     `db:"status"`
	RegisteredAt time.Time  `db:"registered_at"`
	OfferedUntil *time.Time `db:"offered_until"`
	UpdatedAt    time.Time  `db:"updated_at"`
}

// Volunteer is the name and phone a volunteer gave once.
type Volunteer struct {
	UserID    int64     `db:"user_id"`
	Name      string    `db:"name"`
	Phone     string    `db:"phone"`
	UpdatedAt time.Time `db:"updated_at"`
}

// Registrant is a registration with the volunteer's name and phone, for
// the coordinator's export.
type Registrant struct {
	Registration
	Name  string `db:"name"`
	Phone string `db:"phone"`
}

const eventCounts = `(SELECT COUNT(*) FROM registrations r WHERE r.event_id = e.id AND r.status IN ('confirmed', 'offered')) AS confirmed,
	(SELECT COUNT(*) FROM registrations r WHERE r.event_id = e.id AND r.status = 'waitlist') AS waitlist`

// CreateEvent stores a new open event.
func (tx *Tx) CreateEvent(e Event) (Event, error) {
	e.Status, e.CreatedAt = EventOpen, tx.now
	id, err := tx.insert(`INSERT INTO events (coordinator_id, title, description, starts_at, region, place, address,
		lat, lon, capacity, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.CoordinatorID, e.Title, e.Description, e.StartsAt.UTC(), e.Region, e.Place, e.Address, e.Lat, e.Lon,
		e.Capacity, e.Status, e.CreatedAt)
	if err != nil {
		return e, wrap("create event", err)
	}
	e.ID = id
	return e, nil
}

// Event returns event id with its counts, by pointer: a volunteer's
// registration reads it inside its step's transaction, and a copy would
// take the stack beneath the query (docs/HANDLERS.md, "A worker's stack").
func (tx *Tx) Event(id int64) (*Event, error) {
	e := new(Event)
	if err := tx.get(e, `SELECT e.*, `+eventCounts+` FROM events e WHERE e.id = ?`, id); err != nil {
		return nil, wrap("event", err)
	}
	return e, nil
}

// Event returns event id with its counts.
func (db *DB) Event(ctx context.Context, id int64) (Event, error) {
	var e Event
	err := isNoRows(db.read.GetContext(ctx, &e, `SELECT e.*, `+eventCounts+` FROM events e WHERE e.id = ?`, id))
	return e, wrap("event", err)
}

// AnyUpcomingEvent tells whether any open event starts after now (one seek
// on the events_upcoming index).
func (db *DB) AnyUpcomingEvent(ctx context.Context, now time.Time) (bool, error) {
	var upcoming bool
	err := db.read.GetContext(ctx, &upcoming, `SELECT EXISTS (SELECT 1 FROM events WHERE status = 'open' AND starts_at > ?)`, now.UTC())
	return upcoming, wrap("any upcoming event", err)
}

// UpcomingEvents returns a page of the open events starting after now:
// limit of them from offset, nearest to (lat, lon) first, then soonest,
// then by id, so pages neither miss nor repeat an event. total is the
// number of upcoming events in all, from the same snapshot as the page.
// The counts of registrations are read for the page's events only. On
// PostgreSQL the page is cut in SQL and the total comes with it (a window
// count over the events before the cut): one round trip; only an empty
// page past the first (the list got shorter) counts them apart. On SQLite
// the events' places are ordered in Go (upcomingNear).
func (db *DB) UpcomingEvents(ctx context.Context, now time.Time, lat, lon float64, offset, limit int) (es []Event, total int, err error) {
	now = now.UTC()
	if db.dialect == SQLite {
		es, total, err = db.upcomingNear(ctx, now, lat, lon, offset, limit)
		return es, total, wrap("upcoming events", err)
	}
	rows, err := db.upcomingPage(ctx, now, lat, lon, offset, limit)
	if err != nil {
		return nil, 0, wrap("upcoming events", err)
	}
	if len(rows) == 0 {
		if offset > 0 {
			err = db.read.GetContext(ctx, &total, `SELECT COUNT(*) FROM events WHERE status = 'open' AND starts_at > ?`, now)
		}
		return nil, total, wrap("upcoming events", err)
	}
	es = make([]Event, len(rows))
	for i := range rows {
		es[i] = rows[i].Event
	}
	return es, rows[0].Total, nil
}

// upcomingRow is an event of UpcomingEvents' page with the number of
// upcoming events in all.
type upcomingRow struct {
	Event
	Total int `db:"total"`
}

// upcomingQuery is UpcomingEvents' query on PostgreSQL, made once.
var upcomingQuery = `SELECT e.*, ` + eventCounts + `, p.total FROM (
			SELECT u.id, ` + pgDistanceKm("u") + ` AS km, COUNT(*) OVER () AS total FROM events u WHERE u.status = 'open' AND u.starts_at > ?
			ORDER BY km, u.starts_at, u.id LIMIT ? OFFSET ?) p
		JOIN events e ON e.id = p.id ORDER BY p.km, e.starts_at, e.id`

// upcomingPage reads UpcomingEvents' page on PostgreSQL: the page cut in
// SQL, the total with it.
func (db *DB) upcomingPage(ctx context.Context, now time.Time, lat, lon float64, offset, limit int) ([]upcomingRow, error) {
	var rows []upcomingRow
	err := db.read.SelectContext(ctx, &rows, upcomingQuery, lat, lat, lon, now, limit, offset)
	return rows, err
}

// upcomingPoint is an upcoming event's place and start (upcomingNear).
type upcomingPoint struct {
	ID       int64     `db:"id"`
	Lat      float64   `db:"lat"`
	Lon      float64   `db:"lon"`
	StartsAt time.Time `db:"starts_at"`
	km       float64
}

// upcomingNear is UpcomingEvents on SQLite. In SQL the distance would be
// a call from SQLite back into Go for every upcoming event (distance_km:
// cgo's callback and reflection, 3 KB of stack beneath the query's frames
// and a few microseconds each), so the upcoming events' places are read
// and ordered here by the same DistanceKm, and only the page's events are
// read, with their counts: two queries in one read transaction, one
// snapshot (docs/BENCHMARKS.md, thirteenth round).
func (db *DB) upcomingNear(ctx context.Context, now time.Time, lat, lon float64, offset, limit int) ([]Event, int, error) {
	tx, err := db.read.BeginTxx(ctx, nil)
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback()
	var pts []upcomingPoint
	if err := tx.SelectContext(ctx, &pts, `SELECT id, lat, lon, starts_at FROM events WHERE status = 'open' AND starts_at > ?`, now); err != nil {
		return nil, 0, err
	}
	ids := upcomingIDs(pts, lat, lon, offset, limit)
	if len(ids) == 0 {
		return nil, len(pts), nil
	}
	var es []Event
	if err := tx.SelectContext(ctx, &es, `SELECT e.*, `+eventCounts+` FROM events e WHERE e.id IN (?`+
		strings.Repeat(", ?", len(ids)-1)+`)`, ids...); err != nil {
		return nil, 0, err
	}
	at := make(map[int64]int, len(ids))
	for i, id := range ids {
		at[id.(int64)] = i
	}
	slices.SortFunc(es, func(a, b Event) int { return cmp.Compare(at[a.ID], at[b.ID]) })
	return es, len(pts), nil
}

// upcomingIDs orders the upcoming events pts nearest to (lat, lon) first,
// then soonest, then by id, and returns the ids of limit of them from
// offset.
func upcomingIDs(pts []upcomingPoint, lat, lon float64, offset, limit int) []any {
	for i := range pts {
		pts[i].km = DistanceKm(lat, lon, pts[i].Lat, pts[i].Lon)
	}
	slices.SortFunc(pts, func(a, b upcomingPoint) int {
		if n := cmp.Compare(a.km, b.km); n != 0 {
			return n
		}
		if n := a.StartsAt.Compare(b.StartsAt); n != 0 {
			return n
		}
		return cmp.Compare(a.ID, b.ID)
	})
	from := min(max(offset, 0), len(pts))
	page := pts[from:min(from+max(limit, 0), len(pts))]
	ids := make([]any, len(page))
	for i, p := range page {
		ids[i] = p.ID
	}
	return ids
}

// pgDistanceKm is PostgreSQL's SQL for the great-circle distance in km
// from a point to the lat and lon columns of table alias t, as DistanceKm
// computes it. Its arguments are the point's lat, lat again, and lon.
// (SQLite has no trigonometry built in: there the bot orders by distance
// in Go, upcomingNear.)
func pgDistanceKm(t string) string {
	return `(2 * 6371.0088 * asin(least(1, sqrt(power(sin(radians(` + t + `.lat - ?) / 2), 2) +
			cos(radians(?)) * cos(radians(` + t + `.lat)) * power(sin(radians(` + t + `.lon - ?) / 2), 2)))))`
}

// CoordinatorEvents returns the events of coordinator (every coordinator's
// for 0) not yet over more than a day, soonest first.
func (db *DB) CoordinatorEvents(ctx context.Context, coordinator int64, now time.Time) ([]Event, error) {
	// Two statements, not "(coordinator_id = ? OR ? = 0)": the OR kept the
	// planner off the (coordinator_id, starts_at) index.
	var es []Event
	since := now.UTC().Add(-24 * time.Hour)
	var err error
	if coordinator == 0 {
		err = db.read.SelectContext(ctx, &es, `SELECT e.*, `+eventCounts+` FROM events e
		WHERE e.starts_at > ? ORDER BY e.starts_at LIMIT 50`, since)
	} else {
		err = db.read.SelectContext(ctx, &es, `SELECT e.*, `+eventCounts+` FROM events e
		WHERE e.coordinator_id = ? AND e.starts_at > ? ORDER BY e.starts_at LIMIT 50`, coordinator, since)
	}
	return es, wrap("coordinator events", err)
}

// Volunteer returns the name and phone user gave.
func (db *DB) Volunteer(ctx context.Context, user int64) (Volunteer, error) {
	var v Volunteer
	err := isNoRows(db.read.GetContext(ctx, &v, `SELECT * FROM volunteers WHERE user_id = ?`, user))
	return v, wrap("volunteer", err)
}

// SaveVolunteer stores the volunteer's name and phone.
func (tx *Tx) SaveVolunteer(v Volunteer) error {
	_, err := tx.exec(`INSERT INTO volunteers (user_id, name, phone, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, phone = excluded.phone, updated_at = excluded.updated_at`,
		v.UserID, v.Name, v.Phone, tx.now)
	return wrap("save volunteer", err)
}

// Register puts user on event's list: confirmed while places are left,
// else on the waitlist when waitlist is true (ErrEventFull otherwise). The
// writing transaction makes it atomic: of many racing for the last place,
// exactly one gets it, and the waitlist keeps the order of arrival.
func (tx *Tx) Register(eventID, user int64, waitlist bool) (*Registration, error) {
	e, err := tx.Event(eventID)
	if err != nil {
		return nil, err
	}
	if e.Status != EventOpen || !e.StartsAt.After(tx.now) {
		return nil, ErrEventClosed
	}
	var n int
	if err := tx.get(&n, `SELECT COUNT(*) FROM registrations WHERE event_id = ? AND user_id = ? AND status != 'cancelled'`,
		eventID, user); err != nil {
		return nil, wrap("register", err)
	}
	if n > 0 {
		return nil, ErrRegistered
	}
	status := RegConfirmed
	if e.Left() == 0 {
		if !waitlist {
			return nil, ErrEventFull
		}
		status = RegWaitlist
	}
	r := &Registration{EventID: eventID, UserID: user, Status: status, RegisteredAt: tx.now, UpdatedAt: tx.now}
	if r.ID, err = tx.insert(`INSERT INTO registrations (event_id, user_id, status, registered_at, updated_at)
		VALUES (?, ?, ?, ?, ?)`, eventID, user, status, tx.now, tx.now); err != nil {
		return nil, wrap("register", err)
	}
	return r, nil
}

// Registration returns registration id.
func (tx *Tx) Registration(id int64) (Registration, error) {
	var r Registration
	err := tx.get(&r, `SELECT * FROM registrations WHERE id = ?`, id)
	return r, wrap("registration", err)
}

// RegistrationOf returns registration id when it is user's (ErrNotFound
// when there is none, or it is someone else's), outside a transaction.
func (db *DB) RegistrationOf(ctx context.Context, id, user int64) (Registration, error) {
	var r Registration
	err := db.read.GetContext(ctx, &r, `SELECT * FROM registrations WHERE id = ? AND user_id = ?`, id, user)
	return r, wrap("registration", isNoRows(err))
}

// CancelRegistration cancels registration id of user. When it held a
// place, the first on the waitlist is offered it until offerUntil; that
// registration is returned (zero when nobody was waiting).
func (tx *Tx) CancelRegistration(id, user int64, offerUntil time.Time) (cancelled, promoted Registration, err error) {
	r, err := tx.Registration(id)
	if err != nil {
		return r, promoted, err
	}
	if r.UserID != user || r.Status == RegCancelled {
		return r, promoted, wrap("cancel registration", ErrNotFound)
	}
	held := r.Status == RegConfirmed || r.Status == RegOffered
	if _, err := tx.exec(`UPDATE registrations SET status = 'cancelled', updated_at = ? WHERE id = ?`, tx.now, id); err != nil {
		return r, promoted, wrap("cancel registration", err)
	}
	r.Status = RegCancelled
	if !held {
		return r, promoted, nil
	}
	promoted, err = tx.promote(r.EventID, offerUntil)
	return r, promoted, err
}

// promote offers a freed place of event to the first on its waitlist.
func (tx *Tx) promote(eventID int64, until time.Time) (Registration, error) {
	var next Registration
	err := tx.get(&next, `SELECT * FROM registrations WHERE event_id = ? AND status = 'waitlist' ORDER BY id LIMIT 1`, eventID)
	if errors.Is(err, ErrNotFound) {
		return Registration{}, nil
	}
	if err != nil {
		return next, wrap("promote", err)
	}
	until = until.UTC()
	if _, err := tx.exec(`UPDATE registrations SET status = 'offered', offered_until = ?, updated_at = ? WHERE id = ?`,
		until, tx.now, next.ID); err != nil {
		return next, wrap("promote", err)
	}
	next.Status, next.OfferedUntil = RegOffered, &until
	return next, nil
}

// ConfirmOffer turns user's offered place into a confirmed one while the
// offer lasts.
func (tx *Tx) ConfirmOffer(id, user int64) (Registration, error) {
	n, err := tx.exec(`UPDATE registrations SET status = 'confirmed', offered_until = NULL, updated_at = ?
		WHERE id = ? AND user_id = ? AND status = 'offered' AND offered_until > ?`, tx.now, id, user, tx.now)
	if err != nil {
		return Registration{}, wrap("confirm offer", err)
	}
	if n != 1 {
		return Registration{}, wrap("confirm offer", ErrNotFound)
	}
	return tx.Registration(id)
}

// ExpireOffer ends an offered place not confirmed in time and offers it to
// the next on the waitlist (returned; zero when none). An offer confirmed
// or cancelled meanwhile is left alone (expired false).
func (tx *Tx) ExpireOffer(id int64, offerUntil time.Time) (expired bool, next Registration, err error) {
	r, err := tx.Registration(id)
	if err != nil {
		return false, next, err
	}
	if r.Status != RegOffered {
		return false, next, nil
	}
	if _, err := tx.exec(`UPDATE registrations SET status = 'cancelled', updated_at = ? WHERE id = ?`, tx.now, id); err != nil {
		return false, next, wrap("expire offer", err)
	}
	next, err = tx.promote(r.EventID, offerUntil)
	return true, next, err
}

// EventRegistrations returns the active registrations of event in order
// of arrival, with the volunteers' names and phones.
func (tx *Tx) EventRegistrations(eventID int64) ([]Registrant, error) {
	var rs []Registrant
	err := tx.selectRows(&rs, `SELECT r.*, COALESCE(v.name, '') AS name, COALESCE(v.phone, '') AS phone
		FROM registrations r LEFT JOIN volunteers v ON v.user_id = r.user_id
		WHERE r.event_id = ? AND r.status != 'cancelled' ORDER BY r.id`, eventID)
	return rs, wrap("event registrations", err)
}

// UserRegistrations returns user's active registrations of events not yet
// begun, with their events.
func (db *DB) UserRegistrations(ctx context.Context, user int64, now time.Time) ([]Registration, error) {
	var rs []Registration
	err := db.read.SelectContext(ctx, &rs, `SELECT r.* FROM registrations r JOIN events e ON e.id = r.event_id
		WHERE r.user_id = ? AND r.status != 'cancelled' AND e.status = 'open' AND e.starts_at > ?
		ORDER BY e.starts_at`, user, now.UTC())
	return rs, wrap("user registrations", err)
}

// Recipient is a registration with the language of its volunteer, for
// telling them something: users.lang, empty when the user row is gone.
type Recipient struct {
	Registration
	Lang string `db:"lang"`
}

// recipients lists registrations of event with their volunteers'
// languages in one query (a join to users), not one query per volunteer:
// the callers hold the write lock while they queue the messages.
const recipients = `SELECT r.*, COALESCE(u.lang, '') AS lang
	FROM registrations r LEFT JOIN users u ON u.id = r.user_id
	WHERE r.event_id = ? AND `

// CancelEvent cancels event and every registration; it returns the
// registrations that were active, with their volunteers' languages, to
// tell the volunteers.
func (tx *Tx) CancelEvent(eventID int64) ([]Recipient, error) {
	var rs []Recipient
	if err := tx.selectRows(&rs, recipients+`r.status != 'cancelled' ORDER BY r.id`, eventID); err != nil {
		return nil, wrap("cancel event", err)
	}
	if _, err := tx.exec(`UPDATE events SET status = 'cancelled' WHERE id = ? AND status = 'open'`, eventID); err != nil {
		return nil, wrap("cancel event", err)
	}
	if _, err := tx.exec(`UPDATE registrations SET status = 'cancelled', updated_at = ? WHERE event_id = ? AND status != 'cancelled'`,
		tx.now, eventID); err != nil {
		return nil, wrap("cancel event", err)
	}
	return rs, nil
}

// ConfirmedVolunteers returns the confirmed registrations of event, in
// order of arrival, with the volunteers' languages. A registration whose
// volunteer ran /forget or was anonymised has no user (its user id is
// negative) and is left out.
func (tx *Tx) ConfirmedVolunteers(eventID int64) ([]Recipient, error) {
	var rs []Recipient
	err := tx.selectRows(&rs, recipients+`r.status = 'confirmed' AND r.user_id > 0 ORDER BY r.id`, eventID)
	return rs, wrap("confirmed volunteers", err)
}
