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
	ctx     context.Context
	tx      *sqlTx
	now     time.Time
	dialect Dialect
	// wroteUsers are the users whose cached row (userCache) is dropped
	// once the transaction has ended.
	wroteUsers []int64
}

// Tx runs fn in a writing transaction and commits it when fn returns nil;
// an error (or a panic) rolls everything back.
func (db *DB) Tx(ctx context.Context, fn func(tx *Tx) error) error {
	var wrote []int64
	defer func() {
		// After the commit (or the rollback): a row read before it is not
		// cached any more, and one read from now on is the new one.
		if len(wrote) > 0 {
			db.userCache.invalidate(wrote...)
		}
	}()
	return db.inTx(ctx, func(stx *sqlTx) error {
		tx := &Tx{ctx: ctx, tx: stx, now: db.now().UTC(), dialect: db.dialect}
		defer func() { wrote = tx.wroteUsers }()
		return fn(tx)
	})
}

// wroteUser notes that the transaction writes user's row or roles.
func (tx *Tx) wroteUser(user int64) { tx.wroteUsers = append(tx.wroteUsers, user) }

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
