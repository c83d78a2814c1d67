package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Case statuses.
const (
	CaseWaiting   = "waiting"
	CaseAccepted  = "accepted"
	CaseClosed    = "closed"
	CaseWithdrawn = "withdrawn"
)

// Offer statuses.
const (
	OfferOpen      = "open"
	OfferAccepted  = "accepted"
	OfferDeclined  = "declined"
	OfferExpired   = "expired"
	OfferWithdrawn = "withdrawn"
)

// Errors of AcceptOffer.
var (
	ErrCaseTaken   = errors.New("case already taken")
	ErrOfferClosed = errors.New("offer no longer open")
	// ErrAtMaximum: the mediator already holds as many open cases as
	// their maximum (lowered since the offer was made); the offer stays
	// open.
	ErrAtMaximum = errors.New("mediator at their maximum of open cases")
)

// Case is a citizen's request for mediation.
type Case struct {
	ID            int64      `db:"id"`
	CitizenID     *int64     `db:"citizen_id"`
	Kind          string     `db:"kind"`
	Description   string     `db:"description"`
	Region        string     `db:"region"`
	Place         string     `db:"place"`
	Lang          string     `db:"lang"`
	Phone         string     `db:"phone"`
	Status        string     `db:"status"`
	MediatorID    *int64     `db:"mediator_id"`
	CreatedAt     time.Time  `db:"created_at"`
	AcceptedAt    *time.Time `db:"accepted_at"`
	ClosedAt      *time.Time `db:"closed_at"`
	EscalatedAt   *time.Time `db:"escalated_at"`
	Outcome       string     `db:"outcome"`
	OutcomeNote   string     `db:"outcome_note"`
	Rating        *int       `db:"rating"`
	RatingComment string     `db:"rating_comment"`
}

// Number is the case number shown to people: M-000123.
func (c Case) Number() string { return CaseNumber(c.ID) }

// CaseNumber formats a case id as M-000123.
func CaseNumber(id int64) string { return fmt.Sprintf("M-%06d", id) }

// ParseCaseNumber reads "M-000123", "m-123" or "123".
func ParseCaseNumber(s string) (int64, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	for _, p := range []string{"M-", "М-", "M", "М"} { // Latin and Cyrillic M
		if strings.HasPrefix(s, p) {
			s = s[len(p):]
			break
		}
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}

// IsCitizen tells whether user is the citizen of the case.
func (c Case) IsCitizen(user int64) bool { return c.CitizenID != nil && *c.CitizenID == user }

// IsMediator tells whether user is the mediator who accepted the case.
func (c Case) IsMediator(user int64) bool { return c.MediatorID != nil && *c.MediatorID == user }

// Offer is a case offered to one mediator.
type Offer struct {
	ID         int64      `db:"id"`
	CaseID     int64      `db:"case_id"`
	MediatorID int64      `db:"mediator_id"`
	OfferedAt  time.Time  `db:"offered_at"`
	Status     string     `db:"status"`
	AnsweredAt *time.Time `db:"answered_at"`
	Reason     string     `db:"reason"`
}

// CaseEvent is a line of a case's history.
type CaseEvent struct {
	ID      int64     `db:"id"`
	CaseID  int64     `db:"case_id"`
	At      time.Time `db:"at"`
	ActorID int64     `db:"actor_id"`
	Event   string    `db:"event"`
	Detail  string    `db:"detail"`
}

// CreateCase stores c as a new waiting case, with its "created" event, and
// fills in its id, status and time.
func (tx *Tx) CreateCase(c *Case) error {
	c.Status, c.CreatedAt = CaseWaiting, tx.now
	id, err := tx.insert(`INSERT INTO mediation_cases (citizen_id, kind, description, region, place, lang, phone, status, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, c.CitizenID, c.Kind, c.Description, c.Region, c.Place, c.Lang, c.Phone, c.Status, c.CreatedAt)
	if err != nil {
		return wrap("create case", err)
	}
	c.ID = id
	return tx.CaseEvent(id, valueOr(c.CitizenID), "created", "")
}

// OpenCaseLike returns the id of the citizen's case still open (waiting or
// accepted) with the same answers (kind, description, region, place,
// language and phone) created at since or later, if there is one: the same
// request confirmed a second time (a replica that died after committing
// it, before it could tell the citizen, and the update handled again by
// another; or two presses from two devices). The case goes by pointer and
// only the id comes back: this runs inside the Confirm's transaction, and
// two copies of a case were 500 bytes of the stack beneath its query
// (docs/HANDLERS.md, "A worker's stack").
func (tx *Tx) OpenCaseLike(c *Case, since time.Time) (id int64, found bool, err error) {
	err = tx.get(&id, `SELECT id FROM mediation_cases WHERE citizen_id = ? AND kind = ? AND description = ? AND region = ?
		AND place = ? AND lang = ? AND phone = ? AND status IN (?, ?) AND created_at >= ? ORDER BY id DESC LIMIT 1`,
		c.CitizenID, c.Kind, c.Description, c.Region, c.Place, c.Lang, c.Phone, CaseWaiting, CaseAccepted, since)
	if err = isNoRows(err); errors.Is(err, ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, wrap("open case like", err)
	}
	return id, true, nil
}

func valueOr(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// CaseEventKinds are the events of a case's history (mediation_events.event);
// each has a label mediation.event_KIND in every language (/case).
var CaseEventKinds = []string{"created", "offered", "declined", "decline_reason", "expired", "accepted",
	"escalated", "closed", "rated", "withdrawn", "released", "erased", "off_duty"}

// CaseEvent appends a line to the case's history; event is one of
// CaseEventKinds.
func (tx *Tx) CaseEvent(caseID, actor int64, event, detail string) error {
	if !slices.Contains(CaseEventKinds, event) {
		return fmt.Errorf("case event: unknown kind %q (add it to CaseEventKinds and its label)", event)
	}
	_, err := tx.exec(`INSERT INTO mediation_events (case_id, at, actor_id, event, detail) VALUES (?, ?, ?, ?, ?)`,
		caseID, tx.now, actor, event, detail)
	return wrap("case event", err)
}

// Case returns case id.
func (tx *Tx) Case(id int64) (Case, error) {
	var c Case
	err := tx.get(&c, `SELECT * FROM mediation_cases WHERE id = ?`, id)
	return c, wrap("case "+CaseNumber(id), err)
}

// Case returns case id.
func (db *DB) Case(ctx context.Context, id int64) (Case, error) {
	var c Case
	err := db.read.GetContext(ctx, &c, `SELECT * FROM mediation_cases WHERE id = ?`, id)
	return c, wrap("case "+CaseNumber(id), isNoRows(err))
}

// WaitsEscalated tells whether case id still waits for a mediator after
// the administrators were alerted that nobody took it.
func (db *DB) WaitsEscalated(ctx context.Context, id int64) (bool, error) {
	var n int
	err := db.read.GetContext(ctx, &n, `SELECT COUNT(*) FROM mediation_cases WHERE id = ? AND status = ? AND escalated_at IS NOT NULL`,
		id, CaseWaiting)
	return n > 0, wrap("case "+CaseNumber(id)+" escalated", err)
}

// CasesOfCitizen lists the citizen's cases, newest first.
func (db *DB) CasesOfCitizen(ctx context.Context, citizen int64, limit int) ([]Case, error) {
	var out []Case
	err := db.read.SelectContext(ctx, &out, `SELECT * FROM mediation_cases WHERE citizen_id = ? ORDER BY id DESC LIMIT ?`, citizen, limit)
	return out, wrap("cases of citizen", err)
}

// AcceptedCasesOfMediator lists the cases the mediator accepted and has not
// closed, newest first.
func (db *DB) AcceptedCasesOfMediator(ctx context.Context, mediator int64) ([]Case, error) {
	var out []Case
	err := db.read.SelectContext(ctx, &out, `SELECT * FROM mediation_cases WHERE mediator_id = ? AND status = 'accepted'
		ORDER BY id DESC`, mediator)
	return out, wrap("accepted cases of mediator", err)
}

// CasesOfMediator lists all the mediator's accepted cases, then the others
// (closed, withdrawn) up to limit cases in all, each part newest first.
func (db *DB) CasesOfMediator(ctx context.Context, mediator int64, limit int) ([]Case, error) {
	// Every open case, however many: a mediator must reach each one to
	// write to its citizen or close it; then the latest others up to limit.
	out, err := db.AcceptedCasesOfMediator(ctx, mediator)
	if err != nil {
		return nil, err
	}
	var others []Case
	if len(out) >= limit {
		return out, nil
	}
	err = db.read.SelectContext(ctx, &others, `SELECT * FROM mediation_cases WHERE mediator_id = ? AND status <> 'accepted'
		ORDER BY id DESC LIMIT ?`, mediator, limit-len(out))
	return append(out, others...), wrap("cases of mediator", err)
}

// CaseEvents returns the history of a case, oldest first.
func (db *DB) CaseEvents(ctx context.Context, caseID int64) ([]CaseEvent, error) {
	var out []CaseEvent
	err := db.read.SelectContext(ctx, &out, `SELECT * FROM mediation_events WHERE case_id = ? ORDER BY id`, caseID)
	return out, wrap("case events", err)
}

// NextMediator finds the mediator to offer case c to: has the mediator
// role, on duty, serves the case's region, speaks its language, handles its
// kind, has fewer open cases (and open offers) than their maximum, and was
// not offered this case before (an offer withdrawn from them, when they went
// off duty or stopped being a mediator, does not count: back on duty, they
// may be offered it again). Fewest open cases first, then the longest
// since their last offer. It reports false when there is nobody.
func (tx *Tx) NextMediator(c *Case) (int64, bool, error) {
	var ids []int64
	err := tx.selectRows(&ids, `SELECT p.user_id FROM staff_profiles p
		JOIN staff_roles r ON r.user_id = p.user_id AND r.role = 'mediator'
		WHERE p.on_duty = TRUE
		AND p.user_id IS DISTINCT FROM ?
		AND EXISTS (SELECT 1 FROM staff_scopes s WHERE s.user_id = p.user_id AND s.field = 'region' AND s.value = ?)
		AND EXISTS (SELECT 1 FROM staff_scopes s WHERE s.user_id = p.user_id AND s.field = 'language' AND s.value = ?)
		AND EXISTS (SELECT 1 FROM staff_scopes s WHERE s.user_id = p.user_id AND s.field = 'kind' AND s.value = ?)
		AND NOT EXISTS (SELECT 1 FROM mediation_offers o WHERE o.case_id = ? AND o.mediator_id = p.user_id AND o.status <> 'withdrawn')
		AND (SELECT COUNT(*) FROM mediation_cases mc WHERE mc.mediator_id = p.user_id AND mc.status = 'accepted')
			+ (SELECT COUNT(*) FROM mediation_offers o WHERE o.mediator_id = p.user_id AND o.status = 'open') < p.max_open
		ORDER BY (SELECT COUNT(*) FROM mediation_cases mc WHERE mc.mediator_id = p.user_id AND mc.status = 'accepted'),
			(SELECT MAX(o.offered_at) FROM mediation_offers o WHERE o.mediator_id = p.user_id) NULLS FIRST,
			p.user_id
		LIMIT 1`, c.CitizenID, c.Region, c.Lang, c.Kind, c.ID)
	if err != nil || len(ids) == 0 {
		return 0, false, wrap("next mediator", err)
	}
	return ids[0], true, nil
}

// CreateOffer offers case caseID to mediator.
func (tx *Tx) CreateOffer(caseID, mediator int64) (Offer, error) {
	o := Offer{CaseID: caseID, MediatorID: mediator, OfferedAt: tx.now, Status: OfferOpen}
	id, err := tx.insert(`INSERT INTO mediation_offers (case_id, mediator_id, offered_at, status) VALUES (?, ?, ?, ?)`,
		caseID, mediator, tx.now, OfferOpen)
	if err != nil {
		return o, wrap("create offer", err)
	}
	o.ID = id
	return o, tx.CaseEvent(caseID, 0, "offered", strconv.FormatInt(mediator, 10))
}

// Offer returns offer id.
func (tx *Tx) Offer(id int64) (Offer, error) {
	var o Offer
	err := tx.get(&o, `SELECT * FROM mediation_offers WHERE id = ?`, id)
	return o, wrap("offer", err)
}

// OpenOffers returns the open offers of a case.
func (tx *Tx) OpenOffers(caseID int64) ([]Offer, error) {
	var out []Offer
	err := tx.selectRows(&out, `SELECT * FROM mediation_offers WHERE case_id = ? AND status = 'open' ORDER BY id`, caseID)
	return out, wrap("open offers", err)
}

// CloseOffer ends an open offer with status (declined, expired, withdrawn)
// and an optional reason; it reports false when it was no longer open.
func (tx *Tx) CloseOffer(id int64, status, reason string) (bool, error) {
	n, err := tx.exec(`UPDATE mediation_offers SET status = ?, answered_at = ?, reason = ? WHERE id = ? AND status = 'open'`,
		status, tx.now, reason, id)
	return n == 1, wrap("close offer", err)
}

// SetOfferReason records why a mediator declined.
func (tx *Tx) SetOfferReason(id, mediator int64, reason string) (bool, error) {
	n, err := tx.exec(`UPDATE mediation_offers SET reason = ? WHERE id = ? AND mediator_id = ? AND status = 'declined'`, reason, id, mediator)
	return n == 1, wrap("offer reason", err)
}

// acceptedCases counts the cases a mediator (the one parameter) holds
// open, as the maximum of their profile counts them: AcceptOffer refuses a
// case at that maximum, AtMaximum tells it beforehand.
const acceptedCases = `(SELECT COUNT(*) FROM mediation_cases mc WHERE mc.mediator_id = ? AND mc.status = 'accepted')`

// AcceptOffer gives the case of offer id to mediator, atomically: it
// succeeds only while the offer is open, is the mediator's, the case is
// still waiting and the mediator holds fewer open cases than their maximum.
// Of two mediators accepting one case, exactly one wins; the other gets
// ErrCaseTaken (or ErrOfferClosed when their offer has ended). A mediator
// whose profile's maximum is reached (lowered after the offer was made)
// gets ErrAtMaximum and the offer stays open.
func (tx *Tx) AcceptOffer(offerID, mediator int64) (Case, error) {
	o, err := tx.Offer(offerID)
	if err != nil {
		return Case{}, err
	}
	if o.MediatorID != mediator {
		return Case{}, wrap("accept offer", ErrNotFound)
	}
	n, err := tx.exec(`UPDATE mediation_cases SET status = 'accepted', mediator_id = ?, accepted_at = ?
		WHERE id = ? AND status = 'waiting'
		AND EXISTS (SELECT 1 FROM mediation_offers WHERE id = ? AND mediator_id = ? AND status = 'open')
		AND NOT EXISTS (SELECT 1 FROM staff_profiles p WHERE p.user_id = ? AND p.max_open <= `+acceptedCases+`)`,
		mediator, tx.now, o.CaseID, offerID, mediator, mediator, mediator)
	if err != nil {
		return Case{}, wrap("accept offer", err)
	}
	if n != 1 {
		c, err := tx.Case(o.CaseID)
		if err != nil {
			return c, err
		}
		if c.Status != CaseWaiting {
			return c, ErrCaseTaken
		}
		if o, err = tx.Offer(offerID); err != nil {
			return c, err
		}
		if o.Status == OfferOpen {
			return c, ErrAtMaximum
		}
		return c, ErrOfferClosed
	}
	if _, err := tx.exec(`UPDATE mediation_offers SET status = 'accepted', answered_at = ? WHERE id = ?`, tx.now, offerID); err != nil {
		return Case{}, wrap("accept offer", err)
	}
	if err := tx.CaseEvent(o.CaseID, mediator, "accepted", ""); err != nil {
		return Case{}, err
	}
	return tx.Case(o.CaseID)
}

// AtMaximum tells whether mediator holds as many accepted cases as their
// profile's maximum (as AcceptOffer counts them), with both numbers; false
// for a user without a profile.
func (tx *Tx) AtMaximum(mediator int64) (open, most int, full bool, err error) {
	var row struct {
		Open int `db:"open"`
		Max  int `db:"max_open"`
	}
	err = isNoRows(tx.get(&row, `SELECT p.max_open, `+acceptedCases+` AS open
		FROM staff_profiles p WHERE p.user_id = ?`, mediator, mediator))
	if errors.Is(err, ErrNotFound) {
		return 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, wrap("at maximum", err)
	}
	return row.Open, row.Max, row.Max <= row.Open, nil
}

// MarkEscalated records that administrators were alerted about the case;
// it reports false when they already were.
func (tx *Tx) MarkEscalated(caseID int64) (bool, error) {
	n, err := tx.exec(`UPDATE mediation_cases SET escalated_at = ? WHERE id = ? AND escalated_at IS NULL`, tx.now, caseID)
	if err != nil || n == 0 {
		return false, wrap("escalate", err)
	}
	return true, tx.CaseEvent(caseID, 0, "escalated", "")
}

// CloseCase closes an accepted case of mediator with an outcome and note;
// it reports false when the case is not the mediator's accepted case.
func (tx *Tx) CloseCase(caseID, mediator int64, outcome, note string) (bool, error) {
	n, err := tx.exec(`UPDATE mediation_cases SET status = 'closed', closed_at = ?, outcome = ?, outcome_note = ?
		WHERE id = ? AND mediator_id = ? AND status = 'accepted'`, tx.now, outcome, note, caseID, mediator)
	if err != nil || n == 0 {
		return false, wrap("close case", err)
	}
	return true, tx.CaseEvent(caseID, mediator, "closed", outcome)
}

// RateCase stores the citizen's rating of a closed case, once; it reports
// false when the case is not theirs, not closed, or already rated.
func (tx *Tx) RateCase(caseID, citizen int64, rating int) (bool, error) {
	n, err := tx.exec(`UPDATE mediation_cases SET rating = ? WHERE id = ? AND citizen_id = ? AND status = 'closed' AND rating IS NULL`,
		rating, caseID, citizen)
	if err != nil || n == 0 {
		return false, wrap("rate case", err)
	}
	return true, tx.CaseEvent(caseID, citizen, "rated", strconv.Itoa(rating))
}

// CommentRating stores the comment of the citizen's rating.
func (tx *Tx) CommentRating(caseID, citizen int64, comment string) (bool, error) {
	n, err := tx.exec(`UPDATE mediation_cases SET rating_comment = ? WHERE id = ? AND citizen_id = ? AND rating IS NOT NULL`,
		comment, caseID, citizen)
	return n == 1, wrap("comment rating", err)
}

// WithdrawCase withdraws the citizen's waiting case; it reports false when
// the case is not theirs or no longer waiting.
func (tx *Tx) WithdrawCase(caseID, citizen int64) (bool, error) {
	n, err := tx.exec(`UPDATE mediation_cases SET status = 'withdrawn', closed_at = ? WHERE id = ? AND citizen_id = ? AND status = 'waiting'`,
		tx.now, caseID, citizen)
	if err != nil || n == 0 {
		return false, wrap("withdraw case", err)
	}
	return true, tx.CaseEvent(caseID, citizen, "withdrawn", "")
}

// ReleaseCases puts the accepted cases of mediator back to waiting (the
// mediator was removed) and returns them.
func (tx *Tx) ReleaseCases(mediator int64) ([]Case, error) {
	var ids []int64
	if err := tx.selectRows(&ids, `SELECT id FROM mediation_cases WHERE mediator_id = ? AND status = 'accepted'`, mediator); err != nil {
		return nil, wrap("release cases", err)
	}
	var out []Case
	for _, id := range ids {
		if _, err := tx.exec(`UPDATE mediation_cases SET status = 'waiting', mediator_id = NULL, accepted_at = NULL WHERE id = ?`, id); err != nil {
			return nil, wrap("release cases", err)
		}
		if err := tx.CaseEvent(id, 0, "released", strconv.FormatInt(mediator, 10)); err != nil {
			return nil, err
		}
		c, err := tx.Case(id)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// OpenCasesOf is how many accepted (open) cases mediator holds.
func (db *DB) OpenCasesOf(ctx context.Context, mediator int64) (int, error) {
	var n int
	err := db.read.GetContext(ctx, &n, `SELECT COUNT(*) FROM mediation_cases WHERE mediator_id = ? AND status = 'accepted'`, mediator)
	return n, wrap("open cases of mediator", err)
}

// OpenOffersOfMediator returns the open offers made to mediator, oldest
// first, outside a transaction (the hint to a mediator typing outside a
// case's chat).
func (db *DB) OpenOffersOfMediator(ctx context.Context, mediator int64) ([]Offer, error) {
	var out []Offer
	err := db.read.SelectContext(ctx, &out, `SELECT * FROM mediation_offers WHERE mediator_id = ? AND status = 'open' ORDER BY id`, mediator)
	return out, wrap("open offers of mediator", err)
}

// LastDeclinedOffer is the offer mediator declined last, at since or
// later, while it has no reason yet (ErrNotFound when there is none): a
// reason typed instead of pressed is that offer's.
func (db *DB) LastDeclinedOffer(ctx context.Context, mediator int64, since time.Time) (Offer, error) {
	var o Offer
	err := db.read.GetContext(ctx, &o, `SELECT * FROM mediation_offers WHERE mediator_id = ? AND status = 'declined'
		AND reason = '' AND answered_at >= ? ORDER BY answered_at DESC, id DESC LIMIT 1`, mediator, since.UTC())
	return o, wrap("last declined offer", isNoRows(err))
}

// OpenOffersOf returns the open offers made to mediator.
func (tx *Tx) OpenOffersOf(mediator int64) ([]Offer, error) {
	var out []Offer
	err := tx.selectRows(&out, `SELECT * FROM mediation_offers WHERE mediator_id = ? AND status = 'open' ORDER BY id`, mediator)
	return out, wrap("open offers of mediator", err)
}

// UnofferedCases returns the waiting cases with no open offer, oldest first.
func (tx *Tx) UnofferedCases(limit int) ([]Case, error) {
	var out []Case
	err := tx.selectRows(&out, `SELECT * FROM mediation_cases c WHERE status = 'waiting'
		AND NOT EXISTS (SELECT 1 FROM mediation_offers o WHERE o.case_id = c.id AND o.status = 'open')
		ORDER BY id LIMIT ?`, limit)
	return out, wrap("unoffered cases", err)
}

// MediatorLoad is how many accepted (open) cases each mediator has.
func (db *DB) MediatorLoad(ctx context.Context) (map[int64]int, error) {
	var rows []struct {
		ID int64 `db:"mediator_id"`
		N  int   `db:"n"`
	}
	err := db.read.SelectContext(ctx, &rows, `SELECT mediator_id, COUNT(*) AS n FROM mediation_cases
		WHERE status = 'accepted' GROUP BY mediator_id`)
	out := map[int64]int{}
	for _, r := range rows {
		out[r.ID] = r.N
	}
	return out, wrap("mediator load", err)
}
