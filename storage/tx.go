package storage

import (
	"context"
	"fmt"
	"time"
)

// Tx is a writing transaction (on SQLite BEGIN IMMEDIATE on the single
// writer connection, on PostgreSQL under the schema's write lock). A handler uses it to commit a change together with the
// outbox rows, timers and audit entries it causes: all of them or none.
// A Tx is bound to the context it was begun with.
type Tx struct {
	ctx context.Context
	tx  *sqlTx
	now time.Time
}

// Tx runs fn in a writing transaction and commits it when fn returns nil;
// an error (or a panic) rolls everything back.
func (db *DB) Tx(ctx context.Context, fn func(tx *Tx) error) error {
	return db.inTx(ctx, func(stx *sqlTx) error {
		return fn(&Tx{ctx: ctx, tx: stx, now: db.now().UTC()})
	})
}

// Now is the time the transaction began, by the database's clock; every
// row it writes carries this time.
func (tx *Tx) Now() time.Time { return tx.now }

// Context is the context the transaction is bound to.
func (tx *Tx) Context() context.Context { return tx.ctx }

func (tx *Tx) exec(query string, args ...any) (int64, error) {
	res, err := tx.tx.ExecContext(tx.ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// insert runs an INSERT and returns the new row's id (RETURNING id: both
// SQLite and PostgreSQL have it, LastInsertId only SQLite).
func (tx *Tx) insert(query string, args ...any) (int64, error) {
	var id int64
	err := tx.tx.QueryRowxContext(tx.ctx, query+" RETURNING id", args...).Scan(&id)
	return id, err
}

func (tx *Tx) get(dest any, query string, args ...any) error {
	return isNoRows(tx.tx.GetContext(tx.ctx, dest, query, args...))
}

func (tx *Tx) selectRows(dest any, query string, args ...any) error {
	return tx.tx.SelectContext(tx.ctx, dest, query, args...)
}

// wrap adds a short context to err.
func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("storage: %s: %w", what, err)
}
