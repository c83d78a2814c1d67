package storage

import (
	"context"
	"time"
)

// Timer is a deadline stored in the database (an offer's timeout, an
// escalation, a reminder), so it survives a restart. Kind says which
// handler fires it; Ref what it is about (e.g. a case id).
type Timer struct {
	ID        int64      `db:"id"`
	Kind      string     `db:"kind"`
	Ref       string     `db:"ref"`
	DueAt     time.Time  `db:"due_at"`
	CreatedAt time.Time  `db:"created_at"`
	FiredAt   *time.Time `db:"fired_at"`
	// ClaimedUntil is when the claim of the replica firing it runs out.
	ClaimedUntil *time.Time `db:"claimed_until"`
}

// ScheduleTimer sets the timer kind/ref to fire at due, replacing the due
// time of a pending timer of the same kind and ref.
func (tx *Tx) ScheduleTimer(kind, ref string, due time.Time) error {
	_, err := tx.exec(`INSERT INTO timers (kind, ref, due_at, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (kind, ref) WHERE fired_at IS NULL DO UPDATE SET due_at = excluded.due_at, claimed_until = NULL`,
		kind, ref, due.UTC(), tx.now)
	return wrap("schedule timer", err)
}

// CancelTimer removes the pending timer kind/ref, if any.
func (tx *Tx) CancelTimer(kind, ref string) error {
	_, err := tx.exec(`DELETE FROM timers WHERE kind = ? AND ref = ? AND fired_at IS NULL`, kind, ref)
	return wrap("cancel timer", err)
}

// FireTimer marks timer id fired; it reports false when it already fired or
// was cancelled, so a timer's work is done once.
func (tx *Tx) FireTimer(id int64) (bool, error) {
	n, err := tx.exec(`UPDATE timers SET fired_at = ? WHERE id = ? AND fired_at IS NULL`, tx.now, id)
	return n == 1, wrap("fire timer", err)
}

// DueTimers returns up to limit pending timers due at now, earliest first.
func (db *DB) DueTimers(ctx context.Context, now time.Time, limit int) ([]Timer, error) {
	var out []Timer
	err := db.read.SelectContext(ctx, &out, `SELECT * FROM timers WHERE fired_at IS NULL AND due_at <= ?
		ORDER BY due_at, id LIMIT ?`, now.UTC(), limit)
	return out, wrap("due timers", err)
}

// ClaimTimers claims up to limit pending timers due at now, earliest
// first, for lease: until then no other replica gets them. FireTimer, in
// the transaction that does the timer's work, still decides: a timer fires
// once even if a claim ran out while its replica was slow.
func (db *DB) ClaimTimers(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Timer, error) {
	var out []Timer
	err := db.Tx(ctx, func(tx *Tx) error {
		out = nil
		if err := tx.selectRows(&out, `SELECT * FROM timers WHERE fired_at IS NULL AND due_at <= ?
			AND (claimed_until IS NULL OR claimed_until <= ?)
			ORDER BY due_at, id LIMIT ?`, now.UTC(), now.UTC(), limit); err != nil {
			return err
		}
		until := now.Add(lease).UTC()
		for i := range out {
			if _, err := tx.exec(`UPDATE timers SET claimed_until = ? WHERE id = ?`, until, out[i].ID); err != nil {
				return err
			}
			out[i].ClaimedUntil = &until
		}
		return nil
	})
	return out, wrap("claim timers", err)
}

// PendingTimer returns the pending timer kind/ref.
func (db *DB) PendingTimer(ctx context.Context, kind, ref string) (Timer, error) {
	var t Timer
	err := db.read.GetContext(ctx, &t, `SELECT * FROM timers WHERE kind = ? AND ref = ? AND fired_at IS NULL`, kind, ref)
	return t, wrap("pending timer", isNoRows(err))
}
