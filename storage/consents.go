package storage

import (
	"context"
	"time"
)

// Consent records that a user agreed to the processing of their personal
// data for a purpose, having been shown a version of the consent text.
type Consent struct {
	ID       int64     `db:"id"`
	UserID   int64     `db:"user_id"`
	Purpose  string    `db:"purpose"`
	Version  string    `db:"version"`
	AgreedAt time.Time `db:"agreed_at"`
}

// AddConsent records the user's consent for purpose to text version.
func (tx *Tx) AddConsent(userID int64, purpose, version string) (Consent, error) {
	c := Consent{UserID: userID, Purpose: purpose, Version: version, AgreedAt: tx.now}
	id, err := tx.insert(`INSERT INTO consents (user_id, purpose, version, agreed_at) VALUES (?, ?, ?, ?)`,
		userID, purpose, version, tx.now)
	c.ID = id
	return c, wrap("add consent", err)
}

// AddConsent records a consent in its own transaction.
func (db *DB) AddConsent(ctx context.Context, userID int64, purpose, version string) (Consent, error) {
	var c Consent
	err := db.Tx(ctx, func(tx *Tx) error {
		var err error
		c, err = tx.AddConsent(userID, purpose, version)
		return err
	})
	return c, err
}

// HasConsent tells whether the user agreed to purpose with text version.
func (db *DB) HasConsent(ctx context.Context, userID int64, purpose, version string) (bool, error) {
	var n int
	err := db.read.GetContext(ctx, &n, `SELECT COUNT(*) FROM consents WHERE user_id = ? AND purpose = ? AND version = ?`,
		userID, purpose, version)
	return n > 0, wrap("has consent", err)
}

// Consents lists the user's consents, oldest first.
func (db *DB) Consents(ctx context.Context, userID int64) ([]Consent, error) {
	var out []Consent
	err := db.read.SelectContext(ctx, &out, `SELECT * FROM consents WHERE user_id = ? ORDER BY id`, userID)
	return out, wrap("consents", err)
}
