package storage

import (
	"context"
	"database/sql"
	"errors"
	"sync/atomic"

	"github.com/jmoiron/sqlx"
)

// Queries are written once with ? placeholders. sqlDB and sqlTx are
// sqlx's DB and Tx that rebind them to the driver's bindvars ($1, $2 … on
// PostgreSQL) before running them, so storage code is the same for both
// databases.

// sqlDB is a connection pool whose queries take ? placeholders.
type sqlDB struct {
	*sqlx.DB
	errs *errorHook
}

// sqlTx is a transaction whose queries take ? placeholders.
type sqlTx struct {
	*sqlx.Tx
	errs *errorHook
}

// errorHook is told of every failed query (the database errors metric).
// "No rows" is not a failure of the database, and neither is a query whose
// context was cancelled or ran out of time: that is the caller giving up
// (a user's update past its deadline, a shutdown). The context is asked as
// well as the error, since a driver may report a query it interrupted in
// its own words.
type errorHook struct{ fn atomic.Pointer[func()] }

func (h *errorHook) note(ctx context.Context, err error) error {
	if err == nil || h == nil || errors.Is(err, sql.ErrNoRows) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		return err
	}
	if f := h.fn.Load(); f != nil {
		(*f)()
	}
	return err
}

func (db sqlDB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := db.DB.ExecContext(ctx, db.Rebind(query), args...)
	return res, db.errs.note(ctx, err)
}

func (db sqlDB) GetContext(ctx context.Context, dest any, query string, args ...any) error {
	return db.errs.note(ctx, db.DB.GetContext(ctx, dest, db.Rebind(query), args...))
}

func (db sqlDB) SelectContext(ctx context.Context, dest any, query string, args ...any) error {
	return db.errs.note(ctx, db.DB.SelectContext(ctx, dest, db.Rebind(query), args...))
}

func (db sqlDB) QueryxContext(ctx context.Context, query string, args ...any) (*sqlx.Rows, error) {
	return db.DB.QueryxContext(ctx, db.Rebind(query), args...)
}

func (db sqlDB) QueryRowxContext(ctx context.Context, query string, args ...any) *sqlx.Row {
	return db.DB.QueryRowxContext(ctx, db.Rebind(query), args...)
}

// BeginTxx begins a transaction whose queries take ? placeholders.
func (db sqlDB) BeginTxx(ctx context.Context, opts *sql.TxOptions) (*sqlTx, error) {
	tx, err := db.DB.BeginTxx(ctx, opts)
	if err != nil {
		return nil, db.errs.note(ctx, err)
	}
	return &sqlTx{Tx: tx, errs: db.errs}, nil
}

func (tx *sqlTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := tx.Tx.ExecContext(ctx, tx.Rebind(query), args...)
	return res, tx.errs.note(ctx, err)
}

func (tx *sqlTx) GetContext(ctx context.Context, dest any, query string, args ...any) error {
	return tx.errs.note(ctx, tx.Tx.GetContext(ctx, dest, tx.Rebind(query), args...))
}

func (tx *sqlTx) SelectContext(ctx context.Context, dest any, query string, args ...any) error {
	return tx.errs.note(ctx, tx.Tx.SelectContext(ctx, dest, tx.Rebind(query), args...))
}

func (tx *sqlTx) QueryxContext(ctx context.Context, query string, args ...any) (*sqlx.Rows, error) {
	return tx.Tx.QueryxContext(ctx, tx.Rebind(query), args...)
}

func (tx *sqlTx) QueryRowxContext(ctx context.Context, query string, args ...any) *sqlx.Row {
	return tx.Tx.QueryRowxContext(ctx, tx.Rebind(query), args...)
}
