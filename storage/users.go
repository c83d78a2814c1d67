package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// User is a Telegram user who has written to the bot.
type User struct {
	ID         int64     `db:"id"`
	Lang       string    `db:"lang"`
	LangChosen bool      `db:"lang_chosen"`
	FirstName  string    `db:"first_name"`
	FirstSeen  time.Time `db:"first_seen"`
	LastSeen   time.Time `db:"last_seen"`
}

// LastSeenEvery is how stale users.last_seen may get: TouchUser writes it
// only when it is older than this, so that a user chatting costs a read,
// not a write transaction, per update (last_seen feeds the 7- and 30-day
// activity figures).
const LastSeenEvery = 10 * time.Minute

// TouchUser records that user id was seen now (to LastSeenEvery). A new
// user gets lang; an existing user keeps the language stored. It reports
// the stored user and whether it was created by this call.
//
// With CacheUsers on, a user seen within LastSeenEvery and not written
// since costs no query.
func (db *DB) TouchUser(ctx context.Context, id int64, lang string) (User, bool, error) {
	now := db.now().UTC()
	if u, ok := db.userCache.get(id, now); ok && now.Sub(u.LastSeen) < LastSeenEvery {
		return u, false, nil
	}
	gen := db.userCache.generation()
	var u User
	err := db.read.GetContext(ctx, &u, `SELECT * FROM users WHERE id = ?`, id)
	if err == nil && now.Sub(u.LastSeen) < LastSeenEvery {
		db.userCache.put(u, gen, now)
		return u, false, nil
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return User{}, false, fmt.Errorf("storage: touch user: %w", err)
	}
	created := false
	err = db.inTx(ctx, func(tx *sqlTx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO users (id, lang, first_seen, last_seen) VALUES (?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`, id, lang, now, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			created = true
		} else if _, err := tx.ExecContext(ctx, `UPDATE users SET last_seen = ? WHERE id = ?`, now, id); err != nil {
			return err
		}
		return tx.GetContext(ctx, &u, `SELECT * FROM users WHERE id = ?`, id)
	})
	if err != nil {
		return User{}, false, fmt.Errorf("storage: touch user: %w", err)
	}
	db.userCache.put(u, gen, now)
	return u, created, nil
}

// User returns the user with Telegram id.
func (db *DB) User(ctx context.Context, id int64) (User, error) {
	now := db.now().UTC()
	if u, ok := db.userCache.get(id, now); ok {
		return u, nil
	}
	gen := db.userCache.generation()
	var u User
	if err := db.read.GetContext(ctx, &u, `SELECT * FROM users WHERE id = ?`, id); err != nil {
		return User{}, fmt.Errorf("storage: user %d: %w", id, isNoRows(err))
	}
	db.userCache.put(u, gen, now)
	return u, nil
}

// SetUserLang stores the language the user chose.
func (db *DB) SetUserLang(ctx context.Context, id int64, lang string) error {
	err := db.inTx(ctx, func(tx *sqlTx) error {
		_, err := tx.ExecContext(ctx, `UPDATE users SET lang = ?, lang_chosen = TRUE WHERE id = ?`, lang, id)
		return err
	})
	// After the commit: the next update reads the language chosen.
	db.userCache.invalidate(id)
	if err != nil {
		return fmt.Errorf("storage: set language: %w", err)
	}
	return nil
}
