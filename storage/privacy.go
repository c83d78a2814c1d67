package storage

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"
)

// Personal data: what /mydata shows a user, what /forget erases, and the
// retention rule that anonymises what was closed long ago. What stays
// after either (for statistics) is the kind, region, dates, status and
// outcome of a case or request; never a description, place, phone, note,
// comment, name or Telegram id.

// PersonalData is everything stored about one user.
type PersonalData struct {
	User          *User
	Consents      []Consent
	Cases         []Case
	HelpRequests  []HelpRequest
	Volunteer     *Volunteer
	Registrations []UserRegistration
	Roles         []string
	Staff         *StaffProfile
}

// UserRegistration is one of a user's registrations with its event.
type UserRegistration struct {
	Registration
	EventTitle    string    `db:"event_title"`
	EventStartsAt time.Time `db:"event_starts_at"`
	EventPlace    string    `db:"event_place"`
}

// EventNumber is the registration's event number, E-000012.
func (r UserRegistration) EventNumber() string { return Event{ID: r.EventID}.Number() }

// PersonalData gathers everything stored about user, from one snapshot.
func (db *DB) PersonalData(ctx context.Context, user int64) (PersonalData, error) {
	var d PersonalData
	// SQLite's read transaction is one snapshot (WAL); PostgreSQL's default
	// isolation gives each statement its own, so ask for one.
	var opts *sql.TxOptions
	if db.dialect == Postgres {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	tx, err := db.read.BeginTxx(ctx, opts)
	if err != nil {
		return d, wrap("personal data", err)
	}
	defer tx.Rollback()
	var u User
	switch err := isNoRows(tx.GetContext(ctx, &u, `SELECT * FROM users WHERE id = ?`, user)); {
	case err == nil:
		d.User = &u
	case !errors.Is(err, ErrNotFound):
		return d, wrap("personal data: user", err)
	}
	if err := tx.SelectContext(ctx, &d.Consents, `SELECT * FROM consents WHERE user_id = ? ORDER BY id`, user); err != nil {
		return d, wrap("personal data: consents", err)
	}
	if err := tx.SelectContext(ctx, &d.Cases, `SELECT * FROM mediation_cases WHERE citizen_id = ? ORDER BY id`, user); err != nil {
		return d, wrap("personal data: cases", err)
	}
	if err := tx.SelectContext(ctx, &d.HelpRequests, `SELECT * FROM help_requests WHERE user_id = ? ORDER BY id`, user); err != nil {
		return d, wrap("personal data: help requests", err)
	}
	var v Volunteer
	switch err := isNoRows(tx.GetContext(ctx, &v, `SELECT * FROM volunteers WHERE user_id = ?`, user)); {
	case err == nil:
		d.Volunteer = &v
	case !errors.Is(err, ErrNotFound):
		return d, wrap("personal data: volunteer", err)
	}
	if err := tx.SelectContext(ctx, &d.Registrations, `SELECT r.*, e.title AS event_title, e.starts_at AS event_starts_at,
		e.place AS event_place FROM registrations r JOIN events e ON e.id = r.event_id
		WHERE r.user_id = ? ORDER BY r.id`, user); err != nil {
		return d, wrap("personal data: registrations", err)
	}
	if err := tx.SelectContext(ctx, &d.Roles, `SELECT role FROM staff_roles WHERE user_id = ? ORDER BY role`, user); err != nil {
		return d, wrap("personal data: roles", err)
	}
	if len(d.Roles) > 0 {
		p, err := staffProfile(ctx, tx, user)
		if err != nil {
			return d, err
		}
		d.Staff = &p
	}
	return d, nil
}

// ActiveCasesOf returns the citizen's waiting and accepted cases.
func (tx *Tx) ActiveCasesOf(citizen int64) ([]Case, error) {
	var out []Case
	err := tx.selectRows(&out, `SELECT * FROM mediation_cases WHERE citizen_id = ? AND status IN ('waiting', 'accepted')
		ORDER BY id`, citizen)
	return out, wrap("active cases", err)
}

// ActiveRegistrationsOf returns the user's registrations not cancelled of
// events yet to start: those /forget cancels, freeing the place. One of an
// event that has started stays as it is (the volunteer came, and counts in
// /stats) and only loses its user.
func (tx *Tx) ActiveRegistrationsOf(user int64) ([]Registration, error) {
	var out []Registration
	err := tx.selectRows(&out, `SELECT r.* FROM registrations r JOIN events e ON e.id = r.event_id
		WHERE r.user_id = ? AND r.status != 'cancelled' AND e.starts_at > ? ORDER BY r.id`, user, tx.now)
	return out, wrap("active registrations", err)
}

// Secrets lists the distinctive things a user wrote (descriptions,
// phones, names, notes and comments about them), to find in the outbox.
func (tx *Tx) Secrets(user int64) ([]string, error) {
	var texts []string
	queries := []string{
		`SELECT description FROM mediation_cases WHERE citizen_id = ?`,
		`SELECT phone FROM mediation_cases WHERE citizen_id = ?`,
		`SELECT outcome_note FROM mediation_cases WHERE citizen_id = ?`,
		`SELECT rating_comment FROM mediation_cases WHERE citizen_id = ?`,
		`SELECT description FROM help_requests WHERE user_id = ?`,
		`SELECT phone FROM help_requests WHERE user_id = ?`,
		`SELECT note FROM help_requests WHERE user_id = ?`,
		`SELECT name FROM volunteers WHERE user_id = ?`,
		`SELECT phone FROM volunteers WHERE user_id = ?`,
	}
	seen := map[string]bool{}
	for _, q := range queries {
		var rows []string
		if err := tx.selectRows(&rows, q, user); err != nil {
			return nil, wrap("secrets", err)
		}
		for _, s := range rows {
			// Short strings (a first name like "Ali") would match other
			// people's messages too; they are erased with their rows.
			if s = strings.TrimSpace(s); len([]rune(s)) >= 5 && !seen[s] {
				seen[s] = true
				texts = append(texts, s)
			}
		}
	}
	return texts, nil
}

// Numbers lists the numbers of the user's cases and requests (M-000123,
// C-000045), as their notifications name them.
func (tx *Tx) Numbers(user int64) ([]string, error) {
	var cases, requests []int64
	if err := tx.selectRows(&cases, `SELECT id FROM mediation_cases WHERE citizen_id = ? ORDER BY id`, user); err != nil {
		return nil, wrap("numbers", err)
	}
	if err := tx.selectRows(&requests, `SELECT id FROM help_requests WHERE user_id = ? ORDER BY id`, user); err != nil {
		return nil, wrap("numbers", err)
	}
	var out []string
	for _, id := range cases {
		out = append(out, CaseNumber(id))
	}
	for _, id := range requests {
		out = append(out, HelpNumber(id))
	}
	return out, nil
}

// ScrubOutbox blanks the outbox messages that carry the user's data: those
// sent to the user, copies of the user's own messages, those mentioning
// any of refs (case and request numbers) and those whose text contains any
// of secrets; their inline buttons go too. Those not sent yet are given
// up. It reports how many messages were blanked.
func (tx *Tx) ScrubOutbox(user int64, refs, secrets []string) (int64, error) {
	where := []string{"chat_id = ?", "copy_from = ?"}
	args := []any{user, user}
	contains := "instr(text, ?) > 0" // SQLite
	if tx.dialect == Postgres {
		contains = "strpos(text, ?) > 0" // PostgreSQL
	}
	for _, s := range append(append([]string{}, refs...), secrets...) {
		if s == "" {
			continue
		}
		where = append(where, contains)
		args = append(args, s)
	}
	// One pass over the outbox finds the messages; they are changed by id.
	var found []struct {
		ID      int64 `db:"id"`
		Content bool  `db:"content"`
	}
	if err := tx.selectRows(&found, `SELECT id, (text <> '' OR keyboard <> '') AS content FROM outbox
		WHERE (text <> '' OR keyboard <> '' OR (sent_at IS NULL AND failed_at IS NULL)) AND (`+strings.Join(where, " OR ")+`)
		ORDER BY id`, args...); err != nil {
		return 0, wrap("scrub outbox", err)
	}
	var blanked int64
	for chunk := range slices.Chunk(found, 500) {
		ids := make([]any, 0, 1+len(chunk))
		ids = append(ids, tx.now)
		for _, m := range chunk {
			ids = append(ids, m.ID)
			if m.Content {
				blanked++
			}
		}
		pending := "sent_at IS NULL AND failed_at IS NULL"
		if _, err := tx.exec(`UPDATE outbox SET failed_at = CASE WHEN `+pending+` THEN ? ELSE failed_at END,
			last_error = CASE WHEN `+pending+` THEN 'erased' ELSE last_error END, text = '', keyboard = ''
			WHERE id IN (`+strings.TrimSuffix(strings.Repeat("?,", len(chunk)), ",")+`)`, ids...); err != nil {
			return 0, wrap("scrub outbox", err)
		}
	}
	return blanked, nil
}

// EraseUser removes the user's personal data from the database (/forget):
// their cases lose the description, place, phone, notes and the citizen's
// id (active ones are withdrawn); their help requests likewise; their
// registrations lose the user id (it becomes minus the registration's id:
// no Telegram user, and unique, as the table requires); the volunteer profile, consents and the
// user row go. Call it after telling whoever holds their open cases and
// requests, in the same transaction.
func (tx *Tx) EraseUser(user int64) error {
	tx.wroteUser(user)
	// The history of their cases: their own lines lose the actor and the
	// detail (a rating keeps its figure), and each case gets an "erased"
	// line, in case order; one statement each for all of their cases.
	if _, err := tx.exec(`UPDATE mediation_events SET actor_id = 0, detail = CASE WHEN event = 'rated' THEN detail ELSE '' END
		WHERE actor_id = ? AND case_id IN (SELECT id FROM mediation_cases WHERE citizen_id = ?)`, user, user); err != nil {
		return wrap("erase user: case events", err)
	}
	if _, err := tx.exec(`INSERT INTO mediation_events (case_id, at, actor_id, event, detail)
		SELECT id, ?, 0, 'erased', '' FROM mediation_cases WHERE citizen_id = ? ORDER BY id`, tx.now, user); err != nil {
		return wrap("erase user: case events", err)
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE mediation_cases SET status = 'withdrawn', closed_at = ? WHERE citizen_id = ? AND status IN ('waiting', 'accepted')`,
			[]any{tx.now, user}},
		{`UPDATE mediation_cases SET citizen_id = NULL, description = '', place = '', phone = '', outcome_note = '',
			rating_comment = '' WHERE citizen_id = ?`, []any{user}},
		{`UPDATE registrations SET user_id = -id, updated_at = ? WHERE user_id = ?`, []any{tx.now, user}},
		{`DELETE FROM volunteers WHERE user_id = ?`, []any{user}},
		{`DELETE FROM consents WHERE user_id = ?`, []any{user}},
		{`DELETE FROM steps_done WHERE user_id = ?`, []any{user}},
		{`DELETE FROM users WHERE id = ?`, []any{user}},
	} {
		if _, err := tx.exec(q.sql, q.args...); err != nil {
			return wrap("erase user", err)
		}
	}
	if _, err := tx.ForgetHelpRequests(user); err != nil {
		return err
	}
	return nil
}

// Retained is what one pass of the retention rule anonymised.
type Retained struct {
	Cases, HelpRequests, Registrations, Volunteers, Outbox int64
}

// Total is the number of records anonymised.
func (r Retained) Total() int64 {
	return r.Cases + r.HelpRequests + r.Registrations + r.Volunteers + r.Outbox
}

// Anonymise applies the retention rule at cutoff (now minus the retention
// period): cases closed or withdrawn before it lose their personal data and
// the citizen's id; so do help requests closed before it; registrations of
// events that took place before it lose the volunteer's id (minus the
// registration's id instead); volunteer
// profiles not updated since and used by no later event go; outbox
// messages created before it are blanked.
func (tx *Tx) Anonymise(cutoff time.Time) (Retained, error) {
	var out Retained
	cutoff = cutoff.UTC()
	var err error
	if _, err = tx.exec(`UPDATE mediation_events SET actor_id = 0 WHERE case_id IN (
			SELECT id FROM mediation_cases WHERE status IN ('closed', 'withdrawn') AND closed_at < ? AND citizen_id IS NOT NULL)
		AND actor_id = (SELECT citizen_id FROM mediation_cases c WHERE c.id = case_id)`, cutoff); err != nil {
		return out, wrap("retention: case events", err)
	}
	if out.Cases, err = tx.exec(`UPDATE mediation_cases SET citizen_id = NULL, description = '', place = '', phone = '',
		outcome_note = '', rating_comment = '' WHERE status IN ('closed', 'withdrawn') AND closed_at < ?
		AND (citizen_id IS NOT NULL OR description <> '' OR phone <> '' OR place <> '' OR outcome_note <> '' OR rating_comment <> '')`,
		cutoff); err != nil {
		return out, wrap("retention: cases", err)
	}
	if out.HelpRequests, err = tx.AnonymiseHelpRequests(cutoff); err != nil {
		return out, err
	}
	var detached int64
	if detached, err = tx.exec(`UPDATE help_requests SET user_id = 0
		WHERE status IN ('fulfilled', 'unfulfilled', 'withdrawn') AND closed_at < ? AND user_id <> 0`, cutoff); err != nil {
		return out, wrap("retention: help requests", err)
	}
	out.HelpRequests = max(out.HelpRequests, detached)
	if out.Registrations, err = tx.exec(`UPDATE registrations SET user_id = -id
		WHERE user_id > 0 AND event_id IN (SELECT id FROM events WHERE starts_at < ?)`, cutoff); err != nil {
		return out, wrap("retention: registrations", err)
	}
	if out.Volunteers, err = tx.exec(`DELETE FROM volunteers WHERE updated_at < ? AND NOT EXISTS (
		SELECT 1 FROM registrations r JOIN events e ON e.id = r.event_id
		WHERE r.user_id = volunteers.user_id AND e.starts_at >= ?)`, cutoff, cutoff); err != nil {
		return out, wrap("retention: volunteers", err)
	}
	if out.Outbox, err = tx.exec(`UPDATE outbox SET text = '', keyboard = ''
		WHERE created_at < ? AND (sent_at IS NOT NULL OR failed_at IS NOT NULL) AND (text <> '' OR keyboard <> '')`, cutoff); err != nil {
		return out, wrap("retention: outbox", err)
	}
	return out, nil
}

// Checkpoint copies the write-ahead log into the database file and
// truncates it (PRAGMA wal_checkpoint(TRUNCATE)), so that what was erased
// (overwritten with zeros: secure_delete is on) survives in neither file.
// It reports whether the checkpoint was complete (no reader kept it back).
// PostgreSQL has no such step: it reports true at once (the old versions
// of erased rows stay in its files until VACUUM reuses their space; see
// docs/SECURITY.md).
func (db *DB) Checkpoint(ctx context.Context) (bool, error) {
	if db.dialect == Postgres {
		return true, nil
	}
	db.checkpointing.Lock() // the checkpointer's would answer busy at once
	defer db.checkpointing.Unlock()
	var busy, logFrames, done int
	err := db.write.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &done)
	if err != nil {
		return false, wrap("checkpoint", err)
	}
	return busy == 0, nil
}

// TablesContaining returns, for each of needles found in any row of any
// table of the PostgreSQL schema, "TABLE: NEEDLE" — how a test or an
// operator checks on PostgreSQL that an erasure left nothing readable. On
// SQLite, search the database file and its WAL instead.
func (db *DB) TablesContaining(ctx context.Context, needles []string) ([]string, error) {
	if db.dialect != Postgres {
		return nil, errors.New("storage: TablesContaining is for PostgreSQL")
	}
	var tables []string
	if err := db.read.SelectContext(ctx, &tables, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`); err != nil {
		return nil, wrap("tables", err)
	}
	var found []string
	for _, t := range tables {
		for _, n := range needles {
			var hits int
			q := `SELECT count(*) FROM "` + t + `" AS t WHERE strpos(t::text, ?) > 0`
			if err := db.read.GetContext(ctx, &hits, q, n); err != nil {
				return nil, wrap("search "+t, err)
			}
			if hits > 0 {
				found = append(found, t+": "+n)
			}
		}
	}
	return found, nil
}
