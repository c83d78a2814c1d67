package storage

import (
	"context"
	"time"
)

// AuditEntry says who did what to whose data, and when. The audit log is
// append-only: this package offers no way to change or remove an entry,
// and the database refuses UPDATE and DELETE on it.
type AuditEntry struct {
	ID      int64     `db:"id"`
	ActorID int64     `db:"actor_id"` // Telegram user id of the staff member
	Action  string    `db:"action"`   // e.g. case.view, registrations.export
	Subject string    `db:"subject"`  // e.g. M-000123
	At      time.Time `db:"at"`
}

// Audit appends an entry to the audit log.
func (tx *Tx) Audit(actorID int64, action, subject string) error {
	_, err := tx.exec(`INSERT INTO audit_log (actor_id, action, subject, at) VALUES (?, ?, ?, ?)`,
		actorID, action, subject, tx.now)
	return wrap("audit", err)
}

// Audit appends an entry to the audit log in its own transaction.
func (db *DB) Audit(ctx context.Context, actorID int64, action, subject string) error {
	return db.Tx(ctx, func(tx *Tx) error { return tx.Audit(actorID, action, subject) })
}

// AuditLog returns the latest limit entries, newest first; with subject
// set, only that subject's.
func (db *DB) AuditLog(ctx context.Context, subject string, limit int) ([]AuditEntry, error) {
	var out []AuditEntry
	err := db.read.SelectContext(ctx, &out, `SELECT * FROM audit_log WHERE ? = '' OR subject = ?
		ORDER BY id DESC LIMIT ?`, subject, subject, limit)
	return out, wrap("audit log", err)
}
