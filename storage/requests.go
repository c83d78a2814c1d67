package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Statuses of a help request.
const (
	HelpOpen        = "open"        // waiting for a coordinator
	HelpTaken       = "taken"       // a coordinator owns it
	HelpFulfilled   = "fulfilled"   // closed: help given
	HelpUnfulfilled = "unfulfilled" // closed: the coordinator could not help
	HelpWithdrawn   = "withdrawn"   // closed by the citizen
)

// HelpKinds are the kinds of help a citizen can ask for.
var HelpKinds = []string{"food", "medicine", "clothing", "household", "financial", "education", "other"}

// IsHelpKind tells whether kind is one of HelpKinds.
func IsHelpKind(kind string) bool {
	for _, k := range HelpKinds {
		if k == kind {
			return true
		}
	}
	return false
}

// Errors of help requests.
var (
	// ErrOpenRequest: the user already has an open request of this kind.
	ErrOpenRequest = errors.New("an open request of this kind exists")
	// ErrRequestTaken: another coordinator took the request first.
	ErrRequestTaken = errors.New("request already taken")
	// ErrRequestClosed: the request is fulfilled, unfulfilled or withdrawn.
	ErrRequestClosed = errors.New("request closed")
)

// HelpRequest is a citizen's request for charity help.
type HelpRequest struct {
	ID              int64      `db:"id"`
	UserID          int64      `db:"user_id"`
	Kind            string     `db:"kind"`
	FamilySize      int        `db:"family_size"`
	Description     string     `db:"description"`
	Region          string     `db:"region"`
	Place           string     `db:"place"`
	Phone           string     `db:"phone"`
	Status          string     `db:"status"`
	CoordinatorID   *int64     `db:"coordinator_id"`
	CoordinatorName string     `db:"coordinator_name"`
	Note            string     `db:"note"`
	CreatedAt       time.Time  `db:"created_at"`
	UpdatedAt       time.Time  `db:"updated_at"`
	TakenAt         *time.Time `db:"taken_at"`
	ClosedAt        *time.Time `db:"closed_at"`
}

// HelpNumber is the number citizens see for request id: C-000045.
func HelpNumber(id int64) string { return fmt.Sprintf("C-%06d", id) }

// Number is the request's number, C-000045.
func (r HelpRequest) Number() string { return HelpNumber(r.ID) }

// Active tells whether the request is open or taken.
func (r HelpRequest) Active() bool { return r.Status == HelpOpen || r.Status == HelpTaken }

// OwnedBy tells whether coordinator id took the request.
func (r HelpRequest) OwnedBy(id int64) bool { return r.CoordinatorID != nil && *r.CoordinatorID == id }

// CreateHelpRequest stores a new open request (ID, status and times are
// set here). A user with an open request of the same kind gets
// ErrOpenRequest.
func (tx *Tx) CreateHelpRequest(r HelpRequest) (HelpRequest, error) {
	if _, err := tx.OpenHelpRequest(r.UserID, r.Kind); err == nil {
		return r, ErrOpenRequest
	} else if !errors.Is(err, ErrNotFound) {
		return r, err
	}
	r.Status, r.CreatedAt, r.UpdatedAt = HelpOpen, tx.now, tx.now
	id, err := tx.insert(`INSERT INTO help_requests (user_id, kind, family_size, description, region, place, phone,
		status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.UserID, r.Kind, r.FamilySize, r.Description, r.Region, r.Place, r.Phone, r.Status, tx.now, tx.now)
	if err != nil {
		return r, wrap("create help request", err)
	}
	r.ID = id
	return r, nil
}

// UpdateHelpRequest replaces what the citizen said in their active request
// (kind, family size, description, place, phone); status and owner stay.
// A request that is not the user's is ErrNotFound; a closed one
// ErrRequestClosed.
func (tx *Tx) UpdateHelpRequest(r HelpRequest) (HelpRequest, error) {
	old, err := tx.HelpRequest(r.ID)
	if err != nil {
		return r, err
	}
	if old.UserID != r.UserID {
		return r, wrap("update help request", ErrNotFound)
	}
	if !old.Active() {
		return old, ErrRequestClosed
	}
	if old.Kind != r.Kind {
		if other, err := tx.OpenHelpRequest(r.UserID, r.Kind); err == nil && other.ID != r.ID {
			return old, ErrOpenRequest
		}
	}
	if _, err := tx.exec(`UPDATE help_requests SET kind = ?, family_size = ?, description = ?, region = ?, place = ?,
		phone = ?, updated_at = ? WHERE id = ?`, r.Kind, r.FamilySize, r.Description, r.Region, r.Place, r.Phone,
		tx.now, r.ID); err != nil {
		return old, wrap("update help request", err)
	}
	return tx.HelpRequest(r.ID)
}

// HelpRequest returns request id.
func (tx *Tx) HelpRequest(id int64) (HelpRequest, error) {
	var r HelpRequest
	err := tx.get(&r, `SELECT * FROM help_requests WHERE id = ?`, id)
	return r, wrap("help request "+HelpNumber(id), err)
}

// HelpRequest returns request id.
func (db *DB) HelpRequest(ctx context.Context, id int64) (HelpRequest, error) {
	var r HelpRequest
	err := db.read.GetContext(ctx, &r, `SELECT * FROM help_requests WHERE id = ?`, id)
	return r, wrap("help request "+HelpNumber(id), isNoRows(err))
}

// OpenHelpRequest returns the user's open or taken request of kind.
func (tx *Tx) OpenHelpRequest(userID int64, kind string) (HelpRequest, error) {
	var r HelpRequest
	err := tx.get(&r, `SELECT * FROM help_requests WHERE user_id = ? AND kind = ? AND status IN ('open', 'taken')`,
		userID, kind)
	return r, wrap("open help request", err)
}

// OpenHelpRequest returns the user's open or taken request of kind.
func (db *DB) OpenHelpRequest(ctx context.Context, userID int64, kind string) (HelpRequest, error) {
	var r HelpRequest
	err := db.read.GetContext(ctx, &r, `SELECT * FROM help_requests WHERE user_id = ? AND kind = ?
		AND status IN ('open', 'taken')`, userID, kind)
	return r, wrap("open help request", isNoRows(err))
}

// TakeHelpRequest makes coordinator id (shown as name) the owner of open
// request id. Only one coordinator can: the others get ErrRequestTaken (and
// the request, to say who took it); a closed request is ErrRequestClosed.
func (tx *Tx) TakeHelpRequest(id, coordinatorID int64, name string) (HelpRequest, error) {
	n, err := tx.exec(`UPDATE help_requests SET status = 'taken', coordinator_id = ?, coordinator_name = ?,
		taken_at = ?, updated_at = ? WHERE id = ? AND status = 'open'`, coordinatorID, name, tx.now, tx.now, id)
	if err != nil {
		return HelpRequest{}, wrap("take help request", err)
	}
	r, err := tx.HelpRequest(id)
	if err != nil {
		return r, err
	}
	switch {
	case n == 1:
		return r, nil
	case r.Status == HelpTaken:
		return r, ErrRequestTaken
	}
	return r, ErrRequestClosed
}

// CloseHelpRequest marks request id, taken by coordinator id, fulfilled or
// unfulfilled with a note for the citizen. A request the coordinator does
// not own is ErrNotFound; one no longer taken ErrRequestClosed.
func (tx *Tx) CloseHelpRequest(id, coordinatorID int64, status, note string) (HelpRequest, error) {
	if status != HelpFulfilled && status != HelpUnfulfilled {
		return HelpRequest{}, wrap("close help request", fmt.Errorf("bad status %q", status))
	}
	r, err := tx.HelpRequest(id)
	if err != nil {
		return r, err
	}
	if !r.OwnedBy(coordinatorID) {
		return r, wrap("close help request", ErrNotFound)
	}
	n, err := tx.exec(`UPDATE help_requests SET status = ?, note = ?, closed_at = ?, updated_at = ?
		WHERE id = ? AND coordinator_id = ? AND status = 'taken'`, status, note, tx.now, tx.now, id, coordinatorID)
	if err != nil {
		return r, wrap("close help request", err)
	}
	if n == 0 {
		return r, ErrRequestClosed
	}
	return tx.HelpRequest(id)
}

// WithdrawHelpRequest closes the user's active request id at their wish.
func (tx *Tx) WithdrawHelpRequest(id, userID int64) (HelpRequest, error) {
	r, err := tx.HelpRequest(id)
	if err != nil {
		return r, err
	}
	if r.UserID != userID {
		return r, wrap("withdraw help request", ErrNotFound)
	}
	n, err := tx.exec(`UPDATE help_requests SET status = 'withdrawn', closed_at = ?, updated_at = ?
		WHERE id = ? AND status IN ('open', 'taken')`, tx.now, tx.now, id)
	if err != nil {
		return r, wrap("withdraw help request", err)
	}
	if n == 0 {
		return r, ErrRequestClosed
	}
	return tx.HelpRequest(id)
}

// UserHelpRequests lists the user's requests, newest first.
func (db *DB) UserHelpRequests(ctx context.Context, userID int64, limit int) ([]HelpRequest, error) {
	var out []HelpRequest
	err := db.read.SelectContext(ctx, &out, `SELECT * FROM help_requests WHERE user_id = ? ORDER BY id DESC LIMIT ?`,
		userID, limit)
	return out, wrap("user help requests", err)
}

// HelpRequestsAwaiting lists, for coordinator id, up to limit of the
// requests they took and have not closed, then up to limit of the open
// ones offered to them in a region they still serve (an offer made before
// their regions changed could not be taken), oldest first in each group,
// outside a transaction (the hint to a coordinator typing instead of
// pressing). A limit per group: a coordinator with many requests taken
// still sees the new ones offered.
func (db *DB) HelpRequestsAwaiting(ctx context.Context, coordinatorID int64, limit int) ([]HelpRequest, error) {
	var out []HelpRequest
	err := db.read.SelectContext(ctx, &out, `SELECT * FROM (SELECT * FROM help_requests
			WHERE status = 'taken' AND coordinator_id = ? ORDER BY id LIMIT ?) AS mine
		UNION ALL
		SELECT * FROM (SELECT * FROM help_requests r
			WHERE r.status = 'open' AND r.id IN (SELECT request_id FROM help_offers WHERE coordinator_id = ?)
				AND r.region IN (SELECT value FROM staff_scopes WHERE user_id = ? AND field = 'region')
			ORDER BY r.id LIMIT ?) AS offered`,
		coordinatorID, limit, coordinatorID, coordinatorID, limit)
	return out, wrap("help requests awaiting", err)
}

// CoordinatorHelpRequests lists, for coordinator id, the requests they
// took and have not closed, then the open requests of regions, oldest
// first in each group.
func (db *DB) CoordinatorHelpRequests(ctx context.Context, coordinatorID int64, regions []string, limit int) ([]HelpRequest, error) {
	args := []any{coordinatorID}
	in := "''"
	if len(regions) > 0 {
		in = strings.TrimSuffix(strings.Repeat("?,", len(regions)), ",")
		for _, r := range regions {
			args = append(args, r)
		}
	}
	args = append(args, coordinatorID, limit)
	var out []HelpRequest
	err := db.read.SelectContext(ctx, &out, `SELECT * FROM help_requests
		WHERE (status = 'taken' AND coordinator_id = ?) OR (status = 'open' AND region IN (`+in+`))
		ORDER BY CASE WHEN coordinator_id = ? THEN 0 ELSE 1 END, id LIMIT ?`, args...)
	return out, wrap("coordinator help requests", err)
}

// Coordinator is a coordinator a request can be offered to.
type Coordinator struct {
	UserID int64  `db:"user_id"`
	Name   string `db:"display_name"`
}

// RegionCoordinators lists the coordinators on duty whose profile covers
// region, oldest first.
func (tx *Tx) RegionCoordinators(region string) ([]Coordinator, error) {
	var out []Coordinator
	err := tx.selectRows(&out, `SELECT p.user_id, p.display_name FROM staff_roles r
		JOIN staff_profiles p ON p.user_id = r.user_id
		JOIN staff_scopes s ON s.user_id = r.user_id AND s.field = 'region' AND s.value = ?
		WHERE r.role = 'coordinator' AND p.on_duty = TRUE AND p.display_name <> ''
		ORDER BY r.granted_at, r.user_id`, region)
	return out, wrap("region coordinators", err)
}

// HelpOffer is a request offered to a coordinator; Ref names the outbox
// message of the offer.
type HelpOffer struct {
	CoordinatorID int64  `db:"coordinator_id"`
	Ref           string `db:"ref"`
}

// AddHelpOffer records that coordinator id was offered request id in the
// outbox message named ref; it reports false when they already were.
func (tx *Tx) AddHelpOffer(requestID, coordinatorID int64, ref string) (bool, error) {
	n, err := tx.exec(`INSERT INTO help_offers (request_id, coordinator_id, ref, offered_at) VALUES (?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, requestID, coordinatorID, ref, tx.now)
	return n == 1, wrap("add help offer", err)
}

// NewHelpOfferRef names a new outbox message offering request id to
// coordinator: "help:ID:COORDINATOR:N", N counting the offers made to them,
// so that an edit of an earlier offer never reaches a later one.
func (tx *Tx) NewHelpOfferRef(requestID, coordinatorID int64) (string, error) {
	prefix := fmt.Sprintf("help:%d:%d:", requestID, coordinatorID)
	var n int
	var err error
	if tx.dialect == SQLite {
		// Under the planner stability guarantee (sqlite_qpsg.go) SQLite
		// does not look into a bound LIKE pattern: the prefix is a range.
		err = tx.get(&n, helpOfferRefCountSQLite, prefix, prefix[:len(prefix)-1]+";")
	} else {
		err = tx.get(&n, `SELECT COUNT(*) FROM outbox WHERE ref LIKE ? AND ref <> '' AND edit_ref = ''`, prefix+"%")
	}
	return fmt.Sprintf("%s%d", prefix, n+1), wrap("help offer ref", err)
}

// helpOfferRefCountSQLite counts the outbox messages whose ref starts with
// ?1, which ends in ':', ignoring case as LIKE does: the refs from ?1 up to
// ?1 with its last ':' made ';', under NOCASE, the index outbox_ref_prefix's
// collation (the condition that ref is not empty is that partial index's).
const helpOfferRefCountSQLite = `SELECT COUNT(*) FROM outbox WHERE ref >= ? COLLATE NOCASE AND ref < ? COLLATE NOCASE
	AND ref <> '' AND edit_ref = ''`

// HelpOffers lists the offers of request id.
func (tx *Tx) HelpOffers(requestID int64) ([]HelpOffer, error) {
	var out []HelpOffer
	err := tx.selectRows(&out, `SELECT coordinator_id, ref FROM help_offers WHERE request_id = ?
		ORDER BY offered_at, coordinator_id`, requestID)
	return out, wrap("help offers", err)
}

// ClearHelpOffers forgets who was offered request id (it is offered anew).
func (tx *Tx) ClearHelpOffers(requestID int64) error {
	_, err := tx.exec(`DELETE FROM help_offers WHERE request_id = ?`, requestID)
	return wrap("clear help offers", err)
}

// OpenHelpRequestsIn lists the open requests of regions, oldest first.
func (tx *Tx) OpenHelpRequestsIn(regions []string) ([]HelpRequest, error) {
	if len(regions) == 0 {
		return nil, nil
	}
	args := make([]any, len(regions))
	for i, r := range regions {
		args[i] = r
	}
	var out []HelpRequest
	err := tx.selectRows(&out, `SELECT * FROM help_requests WHERE status = 'open' AND region IN (`+
		strings.TrimSuffix(strings.Repeat("?,", len(regions)), ",")+`) ORDER BY id`, args...)
	return out, wrap("open help requests", err)
}

// StaffRegions lists the regions of user's profile.
func (tx *Tx) StaffRegions(userID int64) ([]string, error) {
	var out []string
	err := tx.selectRows(&out, `SELECT value FROM staff_scopes WHERE user_id = ? AND field = 'region' ORDER BY value`, userID)
	return out, wrap("staff regions", err)
}

// AnonymiseHelpRequests blanks the description, place and phone of the
// requests closed before cutoff (the retention period), keeping what
// statistics need (kind, family size, region, status, times). It reports
// how many requests it anonymised.
func (tx *Tx) AnonymiseHelpRequests(cutoff time.Time) (int64, error) {
	n, err := tx.exec(`UPDATE help_requests SET description = '', place = '', phone = '', note = ''
		WHERE status IN ('fulfilled', 'unfulfilled', 'withdrawn') AND closed_at < ?
		AND (description <> '' OR phone <> '' OR place <> '' OR note <> '')`, cutoff.UTC())
	return n, wrap("anonymise help requests", err)
}

// ForgetHelpRequests erases the user's data from their requests (/forget):
// every request is blanked and detached from the user (user id 0), active
// ones are withdrawn. It returns the requests that were active, as they
// were, so that their coordinators can be told.
func (tx *Tx) ForgetHelpRequests(userID int64) ([]HelpRequest, error) {
	var active []HelpRequest
	if err := tx.selectRows(&active, `SELECT * FROM help_requests WHERE user_id = ? AND status IN ('open', 'taken')`,
		userID); err != nil {
		return nil, wrap("forget help requests", err)
	}
	if _, err := tx.exec(`UPDATE help_requests SET status = 'withdrawn', closed_at = COALESCE(closed_at, ?),
		updated_at = ?, description = '', place = '', phone = '', note = '', user_id = 0 WHERE user_id = ?`,
		tx.now, tx.now, userID); err != nil {
		return nil, wrap("forget help requests", err)
	}
	return active, nil
}

// ReleaseHelpRequests puts the requests coordinator id has taken and not
// closed back to open, without an owner and without offers (the
// coordinator was removed): they are to be offered again. It returns them,
// oldest first. Four statements however many there are: the write lock is
// held while it runs.
func (tx *Tx) ReleaseHelpRequests(coordinatorID int64) ([]HelpRequest, error) {
	const taken = `SELECT id FROM help_requests WHERE coordinator_id = ? AND status = 'taken'`
	var ids []int64
	if err := tx.selectRows(&ids, taken+` ORDER BY id`, coordinatorID); err != nil {
		return nil, wrap("release help requests", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	if _, err := tx.exec(`DELETE FROM help_offers WHERE request_id IN (`+taken+`)`, coordinatorID); err != nil {
		return nil, wrap("release help requests", err)
	}
	if _, err := tx.exec(`UPDATE help_requests SET status = 'open', coordinator_id = NULL, coordinator_name = '',
		taken_at = NULL, updated_at = ? WHERE coordinator_id = ? AND status = 'taken'`, tx.now, coordinatorID); err != nil {
		return nil, wrap("release help requests", err)
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	var out []HelpRequest
	err := tx.selectRows(&out, `SELECT * FROM help_requests WHERE id IN (`+
		strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",")+`) ORDER BY id`, args...)
	return out, wrap("release help requests", err)
}
