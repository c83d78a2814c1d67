package storage

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"strings"
	"time"
)

// InviteTTL is how long an invite can be used.
const InviteTTL = 7 * 24 * time.Hour

// InvitePrefix starts every invite code, so /start can tell an invite from
// other deep-link payloads.
const InvitePrefix = "inv"

// Errors of RedeemInvite.
var (
	ErrInviteUsed    = errors.New("invite already used")
	ErrInviteExpired = errors.New("invite expired")
)

// Invite is a one-time code that makes whoever opens it a staff member.
type Invite struct {
	Code      string     `db:"code"`
	Role      string     `db:"role"`
	CreatedBy int64      `db:"created_by"`
	CreatedAt time.Time  `db:"created_at"`
	ExpiresAt time.Time  `db:"expires_at"`
	UsedBy    *int64     `db:"used_by"`
	UsedAt    *time.Time `db:"used_at"`
}

// newInviteCode is InvitePrefix and 20 random base32 characters (100 bits):
// safe in a t.me deep link (A-Z, a-z, 0-9, _ and -, at most 64).
func newInviteCode() (string, error) {
	b := make([]byte, 13)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	s := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
	return InvitePrefix + s[:20], nil
}

// CreateInvite stores a new invite to role, valid for InviteTTL.
func (tx *Tx) CreateInvite(role string, by int64) (Invite, error) {
	if !IsRole(role) {
		return Invite{}, wrap("create invite", errors.New("unknown role "+role))
	}
	code, err := newInviteCode()
	if err != nil {
		return Invite{}, wrap("create invite", err)
	}
	inv := Invite{Code: code, Role: role, CreatedBy: by, CreatedAt: tx.now, ExpiresAt: tx.now.Add(InviteTTL)}
	_, err = tx.exec(`INSERT INTO invites (code, role, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		inv.Code, inv.Role, inv.CreatedBy, inv.CreatedAt, inv.ExpiresAt)
	return inv, wrap("create invite", err)
}

// CreateInvite stores a new invite in its own transaction.
func (db *DB) CreateInvite(ctx context.Context, role string, by int64) (Invite, error) {
	var inv Invite
	err := db.Tx(ctx, func(tx *Tx) error {
		var err error
		inv, err = tx.CreateInvite(role, by)
		return err
	})
	return inv, err
}

// RedeemInvite uses the invite code for user and grants its role, at once:
// of two users redeeming one code, exactly one succeeds. It returns
// ErrNotFound, ErrInviteUsed or ErrInviteExpired when it cannot be used
// (the user who already redeemed it gets ErrInviteUsed too).
func (tx *Tx) RedeemInvite(code string, userID int64) (Invite, error) {
	var inv Invite
	if err := tx.get(&inv, `SELECT * FROM invites WHERE code = ?`, code); err != nil {
		return inv, wrap("redeem invite", err)
	}
	switch {
	case inv.UsedBy != nil:
		return inv, ErrInviteUsed
	case !tx.now.Before(inv.ExpiresAt):
		return inv, ErrInviteExpired
	}
	n, err := tx.exec(`UPDATE invites SET used_by = ?, used_at = ? WHERE code = ? AND used_by IS NULL`, userID, tx.now, code)
	if err != nil {
		return inv, wrap("redeem invite", err)
	}
	if n != 1 {
		return inv, ErrInviteUsed
	}
	inv.UsedBy, inv.UsedAt = &userID, &tx.now
	return inv, tx.GrantRole(userID, inv.Role, inv.CreatedBy)
}

// Invite returns the invite with code.
func (tx *Tx) Invite(code string) (Invite, error) {
	var inv Invite
	err := tx.get(&inv, `SELECT * FROM invites WHERE code = ?`, code)
	return inv, wrap("invite", err)
}
