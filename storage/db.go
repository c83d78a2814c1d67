// Package storage keeps Dostyq's data in SQLite through sqlx and the
// conversation state in Redis (or in memory).
package storage

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/mattn/go-sqlite3" // SQLite driver
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// ErrNotFound is returned when a row does not exist.
var ErrNotFound = errors.New("not found")

// DB is the SQLite database. Reads go through a pool of connections; writes
// go through a single connection with BEGIN IMMEDIATE, so concurrent writers
// queue instead of failing with "database is locked".
type DB struct {
	read  *sqlx.DB
	write *sqlx.DB
	path  string
	now   func() time.Time

	// places is the in-memory nearest-place index (places.go).
	places placeCache
}

// Open opens (creating if needed) the SQLite database at path and applies
// the migrations not yet applied.
func Open(ctx context.Context, path string) (*DB, error) {
	return OpenWithClock(ctx, path, time.Now)
}

// OpenWithClock is Open with an injected clock, for tests.
func OpenWithClock(ctx context.Context, path string, now func() time.Time) (*DB, error) {
	if path == "" {
		return nil, errors.New("storage: empty database path")
	}
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_foreign_keys", "on")
	q.Set("_busy_timeout", "10000")
	q.Set("_synchronous", "NORMAL")
	q.Set("_secure_delete", "on")
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()

	write, err := sqlx.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	write.SetConnMaxLifetime(0)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("storage: open %s: %w", path, err)
	}
	db := &DB{write: write, path: path, now: now}
	if err := db.migrate(ctx); err != nil {
		write.Close()
		return nil, err
	}
	q.Set("_txlock", "deferred")
	q.Set("mode", "rw")
	read, err := sqlx.Open("sqlite3", "file:"+path+"?"+q.Encode())
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("storage: open %s: %w", path, err)
	}
	read.SetMaxOpenConns(8)
	db.read = read
	return db, nil
}

// Close closes the database.
func (db *DB) Close() error {
	return errors.Join(db.read.Close(), db.write.Close())
}

// Path is the database file's path.
func (db *DB) Path() string { return db.path }

// Now is the database's clock.
func (db *DB) Now() time.Time { return db.now() }

// Ping tells whether the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.read.PingContext(ctx) }

// inTx runs fn in a writing transaction (BEGIN IMMEDIATE on the single
// writer connection) and commits it when fn returns nil.
func (db *DB) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := db.write.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name TEXT PRIMARY KEY,
		applied_at TIMESTAMP NOT NULL
	)`); err != nil {
		return fmt.Errorf("storage: migrations table: %w", err)
	}
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		err := db.inTx(ctx, func(tx *sqlx.Tx) error {
			var n int
			if err := tx.GetContext(ctx, &n, `SELECT COUNT(*) FROM schema_migrations WHERE name = ?`, base); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			buf, err := fs.ReadFile(migrationFS, name)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(buf)); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`, base, db.now().UTC())
			return err
		})
		if err != nil {
			return fmt.Errorf("storage: migration %s: %w", base, err)
		}
	}
	return nil
}

// isNoRows maps sql.ErrNoRows to ErrNotFound.
func isNoRows(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}
