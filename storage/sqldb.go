package storage

import (
	"context"
	"database/sql"

	"github.com/jmoiron/sqlx"
)

// Queries are written once with ? placeholders. sqlDB and sqlTx are
// sqlx's DB and Tx that rebind them to the driver's bindvars ($1, $2 … on
// PostgreSQL) before running them, so storage code is the same for both
// databases.

// sqlDB is a connection pool whose queries take ? placeholders.
type sqlDB struct{ *sqlx.DB }

// sqlTx is a transaction whose queries take ? placeholders.
type sqlTx struct{ *sqlx.Tx }

func (db sqlDB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return db.DB.ExecContext(ctx, db.Rebind(query), args...)
}

func (db sqlDB) GetContext(ctx context.Context, dest any, query string, args ...any) error {
	return db.DB.GetContext(ctx, dest, db.Rebind(query), args...)
}

func (db sqlDB) SelectContext(ctx context.Context, dest any, query string, args ...any) error {
	return db.DB.SelectContext(ctx, dest, db.Rebind(query), args...)
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
		return nil, err
	}
	return &sqlTx{tx}, nil
}

func (tx *sqlTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return tx.Tx.ExecContext(ctx, tx.Rebind(query), args...)
}

func (tx *sqlTx) GetContext(ctx context.Context, dest any, query string, args ...any) error {
	return tx.Tx.GetContext(ctx, dest, tx.Rebind(query), args...)
}

func (tx *sqlTx) SelectContext(ctx context.Context, dest any, query string, args ...any) error {
	return tx.Tx.SelectContext(ctx, dest, tx.Rebind(query), args...)
}

func (tx *sqlTx) QueryxContext(ctx context.Context, query string, args ...any) (*sqlx.Rows, error) {
	return tx.Tx.QueryxContext(ctx, tx.Rebind(query), args...)
}

func (tx *sqlTx) QueryRowxContext(ctx context.Context, query string, args ...any) *sqlx.Row {
	return tx.Tx.QueryRowxContext(ctx, tx.Rebind(query), args...)
}
