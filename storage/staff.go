package storage

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"time"
)

// Staff roles. Administrators are not a stored role: they are the Telegram
// user ids of ADMIN_IDS.
const (
	RoleMediator    = "mediator"
	RoleCoordinator = "coordinator"
)

// IsRole tells whether role is a staff role that can be granted.
func IsRole(role string) bool { return role == RoleMediator || role == RoleCoordinator }

// StaffProfile is what a mediator or coordinator tells about their work.
type StaffProfile struct {
	UserID      int64     `db:"user_id"`
	DisplayName string    `db:"display_name"` // shown to citizens
	MaxOpen     int       `db:"max_open"`     // open cases or requests at most
	OnDuty      bool      `db:"on_duty"`
	UpdatedAt   time.Time `db:"updated_at"`
	Regions     []string  `db:"-"` // region codes
	Languages   []string  `db:"-"` // kk, ru, en
	Kinds       []string  `db:"-"` // kinds of conflict (mediators) or of help
}

// Complete tells whether the profile says enough to receive work: a name,
// a region and a language.
func (p StaffProfile) Complete() bool {
	return p.DisplayName != "" && len(p.Regions) > 0 && len(p.Languages) > 0
}

// StaffMember is a user with a staff role, and their profile (the zero
// profile, with UserID set, when they have not filled it in).
type StaffMember struct {
	Role      string
	GrantedAt time.Time
	Profile   StaffProfile
}

// DefaultMaxOpen is the open cases a new staff member takes at most.
const DefaultMaxOpen = 5

// GrantRole gives user the staff role (idempotent).
func (tx *Tx) GrantRole(userID int64, role string, by int64) error {
	if !IsRole(role) {
		return wrap("grant role", errors.New("unknown role "+role))
	}
	tx.wroteUser(userID)
	_, err := tx.exec(`INSERT INTO staff_roles (user_id, role, granted_by, granted_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id, role) DO NOTHING`, userID, role, by, tx.now)
	return wrap("grant role", err)
}

// RevokeRole takes the staff role from user; it reports whether they had it.
// Their profile stays for their other role; with no role left it goes.
func (tx *Tx) RevokeRole(userID int64, role string) (bool, error) {
	tx.wroteUser(userID)
	n, err := tx.exec(`DELETE FROM staff_roles WHERE user_id = ? AND role = ?`, userID, role)
	if err != nil {
		return false, wrap("revoke role", err)
	}
	var left int
	if err := tx.get(&left, `SELECT COUNT(*) FROM staff_roles WHERE user_id = ?`, userID); err != nil {
		return false, wrap("revoke role", err)
	}
	if left == 0 {
		if _, err := tx.exec(`DELETE FROM staff_scopes WHERE user_id = ?`, userID); err != nil {
			return false, wrap("revoke role", err)
		}
		if _, err := tx.exec(`DELETE FROM staff_profiles WHERE user_id = ?`, userID); err != nil {
			return false, wrap("revoke role", err)
		}
	}
	return n > 0, nil
}

// Roles lists the staff roles of user, sorted.
func (db *DB) Roles(ctx context.Context, userID int64) ([]string, error) {
	var roles []string
	err := db.read.SelectContext(ctx, &roles, `SELECT role FROM staff_roles WHERE user_id = ? ORDER BY role`, userID)
	return roles, wrap("roles", err)
}

// HasRole tells whether user has the staff role.
func (db *DB) HasRole(ctx context.Context, userID int64, role string) (bool, error) {
	var n int
	err := db.read.GetContext(ctx, &n, `SELECT COUNT(*) FROM staff_roles WHERE user_id = ? AND role = ?`, userID, role)
	return n > 0, wrap("has role", err)
}

// HasRole tells whether user has the staff role, inside the transaction.
func (tx *Tx) HasRole(userID int64, role string) (bool, error) {
	var n int
	err := tx.get(&n, `SELECT COUNT(*) FROM staff_roles WHERE user_id = ? AND role = ?`, userID, role)
	return n > 0, wrap("has role", err)
}

// Staff lists the members with role, with their profiles, oldest first.
func (db *DB) Staff(ctx context.Context, role string) ([]StaffMember, error) {
	var rows []struct {
		UserID    int64     `db:"user_id"`
		GrantedAt time.Time `db:"granted_at"`
	}
	if err := db.read.SelectContext(ctx, &rows, `SELECT user_id, granted_at FROM staff_roles WHERE role = ?
		ORDER BY granted_at, user_id`, role); err != nil {
		return nil, wrap("staff", err)
	}
	out := make([]StaffMember, 0, len(rows))
	for _, r := range rows {
		p, err := db.StaffProfile(ctx, r.UserID)
		if err != nil {
			return nil, err
		}
		out = append(out, StaffMember{Role: role, GrantedAt: r.GrantedAt, Profile: p})
	}
	return out, nil
}

// StaffProfile returns user's profile; a user who has not filled it in gets
// an empty profile (DefaultMaxOpen, off duty) with UserID set.
func (db *DB) StaffProfile(ctx context.Context, userID int64) (StaffProfile, error) {
	return staffProfile(ctx, db.read, userID)
}

// reader is what staffProfile reads through: the read pool, or a read
// transaction (PersonalData's snapshot).
type reader interface {
	GetContext(ctx context.Context, dest any, query string, args ...any) error
	SelectContext(ctx context.Context, dest any, query string, args ...any) error
}

func staffProfile(ctx context.Context, q reader, userID int64) (StaffProfile, error) {
	p := StaffProfile{UserID: userID, MaxOpen: DefaultMaxOpen}
	err := q.GetContext(ctx, &p, `SELECT * FROM staff_profiles WHERE user_id = ?`, userID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return p, wrap("staff profile", err)
	}
	var scopes []struct {
		Field string `db:"field"`
		Value string `db:"value"`
	}
	if err := q.SelectContext(ctx, &scopes, `SELECT field, value FROM staff_scopes WHERE user_id = ?
		ORDER BY field, value`, userID); err != nil {
		return p, wrap("staff profile", err)
	}
	for _, s := range scopes {
		switch s.Field {
		case "region":
			p.Regions = append(p.Regions, s.Value)
		case "language":
			p.Languages = append(p.Languages, s.Value)
		case "kind":
			p.Kinds = append(p.Kinds, s.Value)
		}
	}
	return p, nil
}

// SaveStaffProfile stores p (name, maximum, regions, languages, kinds); the
// duty status is kept as it is.
func (tx *Tx) SaveStaffProfile(p StaffProfile) error {
	if p.MaxOpen < 1 {
		p.MaxOpen = DefaultMaxOpen
	}
	if _, err := tx.exec(`INSERT INTO staff_profiles (user_id, display_name, max_open, on_duty, updated_at)
		VALUES (?, ?, ?, FALSE, ?)
		ON CONFLICT (user_id) DO UPDATE SET display_name = excluded.display_name, max_open = excluded.max_open,
			updated_at = excluded.updated_at`, p.UserID, p.DisplayName, p.MaxOpen, tx.now); err != nil {
		return wrap("save staff profile", err)
	}
	if _, err := tx.exec(`DELETE FROM staff_scopes WHERE user_id = ?`, p.UserID); err != nil {
		return wrap("save staff profile", err)
	}
	for field, values := range map[string][]string{"region": p.Regions, "language": p.Languages, "kind": p.Kinds} {
		values = append([]string(nil), values...)
		sort.Strings(values)
		for _, v := range values {
			if _, err := tx.exec(`INSERT INTO staff_scopes (user_id, field, value) VALUES (?, ?, ?)
				ON CONFLICT DO NOTHING`, p.UserID, field, v); err != nil {
				return wrap("save staff profile", err)
			}
		}
	}
	return nil
}

// SetOnDuty puts user on or off duty; it reports false when they have no
// profile yet.
func (tx *Tx) SetOnDuty(userID int64, on bool) (bool, error) {
	n, err := tx.exec(`UPDATE staff_profiles SET on_duty = ?, updated_at = ? WHERE user_id = ?`, on, tx.now, userID)
	return n > 0, wrap("set on duty", err)
}

// SaveStaffProfile stores p in its own transaction.
func (db *DB) SaveStaffProfile(ctx context.Context, p StaffProfile) error {
	return db.Tx(ctx, func(tx *Tx) error { return tx.SaveStaffProfile(p) })
}
