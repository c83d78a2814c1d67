// Package storage keeps Dostyq's data in SQLite (the embedded default) or
// PostgreSQL through sqlx, and the conversation state in Redis (or in
// memory).
package storage

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver, registered as "pgx"
	"github.com/jmoiron/sqlx"
	"github.com/mattn/go-sqlite3"
)

// sqliteDriver is go-sqlite3 for the reading connections. (The bot's
// queries call no function of its own: the events list, ordered by
// distance, is ordered in Go, upcomingNear.)
const sqliteDriver = "sqlite3_dostyq"

// sqliteWriter is sqliteDriver for the connection that writes: its
// commits leave copying the write-ahead log into the database file to the
// checkpointer (DB.checkpoints), unless the log holds 10,000 pages (40 MB:
// the checkpointer is held back), and a log restarted from its start is
// cut back to 16 MiB.
const sqliteWriter = "sqlite3_dostyq_writer"

func init() {
	sql.Register(sqliteDriver, &sqlite3.SQLiteDriver{})
	sql.Register(sqliteWriter, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		if _, err := c.Exec(`PRAGMA wal_autocheckpoint=10000`, nil); err != nil {
			return err
		}
		_, err := c.Exec(`PRAGMA journal_size_limit=16777216`, nil)
		return err
	}})
}

// checkpointEvery is how often the checkpointer copies the write-ahead log
// into an SQLite database file.
var checkpointEvery = time.Second

// Migrations are migrations/NNN_name.sql, applied once each in name order.
// Where PostgreSQL needs different SQL (types, triggers), the file of the
// same name in migrations/postgres/ is applied there instead.
//
//go:embed migrations/*.sql migrations/postgres/*.sql
var migrationFS embed.FS

// Dialect is the SQL database behind a DB.
type Dialect string

// The databases Dostyq runs on.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// IsPostgresURL tells whether target names a PostgreSQL database
// (postgres:// or postgresql://) rather than a SQLite file.
func IsPostgresURL(target string) bool {
	return strings.HasPrefix(target, "postgres://") || strings.HasPrefix(target, "postgresql://")
}

// DescribeTarget names the database target opens, for an operator's
// report: "SQLite file /srv/dostyq.db" (the path made absolute, so that a
// relative DATABASE_PATH says which directory it meant) or "PostgreSQL
// postgres://dostyq@db:5432/dostyq", without the password, neither in the
// user part nor as a password parameter.
func DescribeTarget(target string) string {
	if !IsPostgresURL(target) {
		if abs, err := filepath.Abs(target); err == nil {
			target = abs
		}
		return "SQLite file " + target
	}
	u, err := url.Parse(target)
	if err != nil {
		// The parse error would repeat the URL, password and all.
		return "PostgreSQL (an address that is not a valid URL)"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	q := u.Query()
	for k := range q {
		if strings.Contains(strings.ToLower(k), "password") {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	return "PostgreSQL " + u.String()
}

// ErrNotFound is returned when a row does not exist.
var ErrNotFound = errors.New("not found")

// DB is the database. On SQLite, reads go through a pool of connections and
// writes through a single connection with BEGIN IMMEDIATE, so concurrent
// writers queue instead of failing with "database is locked". On
// PostgreSQL a pool serves each, and every writing transaction first
// takes a transaction-scoped advisory lock of the schema, so writers queue
// the same way across every replica of the bot: what a transaction reads
// stays true until it commits.
type DB struct {
	read    sqlDB
	write   sqlDB
	errs    *errorHook
	path    string
	dialect Dialect
	now     func() time.Time

	// places is the in-memory nearest-place index (places.go).
	places placeCache
	// userCache keeps users rows when CacheUsers turned it on (usercache.go).
	userCache userCache

	// stopCheckpoints ends the SQLite checkpointer, which closes
	// checkpointsDone when it has; checkpointing is held by whoever
	// checkpoints (the checkpointer, Checkpoint), so that one does not find
	// the other's checkpoint in the way.
	stopCheckpoints context.CancelFunc
	checkpointsDone chan struct{}
	checkpointing   sync.Mutex
}

// Open opens the database and applies the migrations not yet applied.
// target is a PostgreSQL URL (postgres://…) or the path of a SQLite file,
// created if needed.
func Open(ctx context.Context, target string) (*DB, error) {
	return OpenWithClock(ctx, target, time.Now)
}

// OpenWithClock is Open with an injected clock, for tests.
func OpenWithClock(ctx context.Context, target string, now func() time.Time) (*DB, error) {
	if target == "" {
		return nil, errors.New("storage: empty database path")
	}
	if IsPostgresURL(target) {
		return openPostgres(ctx, target, now)
	}
	return openSQLite(ctx, target, now)
}

func openSQLite(ctx context.Context, path string, now func() time.Time) (*DB, error) {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_foreign_keys", "on")
	q.Set("_busy_timeout", "10000")
	q.Set("_synchronous", "NORMAL")
	q.Set("_secure_delete", "on")
	q.Set("_txlock", "immediate")
	// Keep the compiled statements of each connection (go-sqlite3's
	// per-connection cache, LRU): compiling every query again
	// (sqlite3_prepare_v2) was 13 % of the bot's CPU under load. The
	// storage code has a few dozen distinct queries.
	q.Set("_stmt_cache_size", "128")
	dsn := "file:" + path + "?" + q.Encode()

	write, err := sqlx.Open(sqliteWriter, dsn)
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
	errs := &errorHook{}
	db := &DB{write: sqlDB{DB: write, errs: errs}, errs: errs, path: path, dialect: SQLite, now: now}
	if err := db.migrate(ctx); err != nil {
		write.Close()
		return nil, err
	}
	q.Set("_txlock", "deferred")
	q.Set("mode", "rw")
	read, err := sqlx.Open(sqliteDriver, "file:"+path+"?"+q.Encode())
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("storage: open %s: %w", path, err)
	}
	read.SetMaxOpenConns(8)
	db.read = sqlDB{DB: read, errs: errs}
	cctx, stop := context.WithCancel(context.Background())
	db.stopCheckpoints, db.checkpointsDone = stop, make(chan struct{})
	go db.checkpoints(cctx, checkpointEvery)
	return db, nil
}

// checkpoints copies the write-ahead log into the database file every
// interval until ctx is done. SQLite's own checkpoint runs in the commit
// that fills the log past 1,000 pages and holds up that commit and every
// write queued behind it for the copy and its fsync (on this project's
// machine a commit's p99 went from 0.2-0.5 ms to 1.6-2.3 ms with it, its
// maximum to 20-50 ms). Here the bulk of the copy runs from a reading
// connection (PASSIVE: it takes no writer's lock, writes go on), and only
// what was written meanwhile is copied from the writing connection, during
// which nothing commits, so that the next write reuses the log from its
// start (copied from a reader alone, a log under steady writes never
// restarts and grows without end). A failed checkpoint counts in the
// database errors and is logged, once a minute at most.
func (db *DB) checkpoints(ctx context.Context, interval time.Duration) {
	defer close(db.checkpointsDone)
	t := time.NewTicker(interval)
	defer t.Stop()
	var logged time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := db.checkpoint(ctx); err != nil && ctx.Err() == nil {
			db.errs.note(ctx, err)
			if time.Since(logged) > time.Minute {
				logged = time.Now()
				slog.Warn("sqlite: checkpoint failed; the write-ahead log grows until one succeeds", "err", err)
			}
		}
	}
}

// checkpoint copies the write-ahead log into the database file: from a
// reading connection, then, if frames were written meanwhile, from the
// writing one.
func (db *DB) checkpoint(ctx context.Context) error {
	db.checkpointing.Lock()
	defer db.checkpointing.Unlock()
	c, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var busy, logFrames, done int
	if err := db.read.QueryRowContext(c, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logFrames, &done); err != nil {
		return wrap("checkpoint", err)
	}
	if logFrames <= 0 {
		return nil // the log was restarted: nothing written since
	}
	// Even a complete copy from the reader leaves the frames committed
	// while it ran, and a log that is not all copied when the next write
	// begins is not restarted.
	err := db.write.QueryRowContext(c, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logFrames, &done)
	return wrap("checkpoint", err)
}

// openPostgres connects to the PostgreSQL database at url (its search_path,
// if given, picks the schema) through pgx.
func openPostgres(ctx context.Context, url string, now func() time.Time) (*DB, error) {
	// Two pools, as on SQLite: writing transactions queue on the schema's
	// lock holding a connection each, and the one holding the lock may
	// still read outside it (a handler looking up a user's language while
	// it commits); with one pool, 16 waiting writers left it no
	// connection, and every writer waited until its context ran out (the
	// load tool's Confirm step with 300 citizens, cmd/loadtest -replicas).
	var pools [2]*sqlx.DB
	for i := range pools {
		pool, err := sqlx.Open("pgx", url)
		if err != nil {
			closePools(pools[:i])
			return nil, fmt.Errorf("storage: open postgres: %w", err)
		}
		// 16 connections a process in all, as before the pools were
		// split: writers take the schema's lock one at a time anyway.
		n := []int{12, 4}[i]
		pool.SetMaxOpenConns(n)
		pool.SetMaxIdleConns(n)
		pool.SetConnMaxIdleTime(5 * time.Minute)
		pools[i] = pool
		if err := pool.PingContext(ctx); err != nil {
			closePools(pools[:i+1])
			return nil, fmt.Errorf("storage: open postgres: %w", err)
		}
	}
	errs := &errorHook{}
	db := &DB{read: sqlDB{DB: pools[0], errs: errs}, write: sqlDB{DB: pools[1], errs: errs}, errs: errs, dialect: Postgres, now: now}
	if err := db.migrate(ctx); err != nil {
		closePools(pools[:])
		return nil, err
	}
	return db, nil
}

func closePools(pools []*sqlx.DB) {
	for _, p := range pools {
		p.Close()
	}
}

// Close closes the database.
func (db *DB) Close() error {
	if db.stopCheckpoints != nil {
		db.stopCheckpoints()
		<-db.checkpointsDone
		// The last connection to close copies the rest of the log.
	}
	if db.read.DB == db.write.DB {
		return db.write.Close()
	}
	return errors.Join(db.read.Close(), db.write.Close())
}

// Path is the SQLite database file's path; empty on PostgreSQL.
func (db *DB) Path() string { return db.path }

// OnError sets fn to be called on every failed query (not "no rows", not
// one whose context was cancelled or ran out of time): the database errors
// metric.
func (db *DB) OnError(fn func()) { db.errs.fn.Store(&fn) }

// Dialect tells which database this is.
func (db *DB) Dialect() Dialect { return db.dialect }

// Now is the database's clock.
func (db *DB) Now() time.Time { return db.now() }

// Ping tells whether the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.read.PingContext(ctx) }

// inTx runs fn in a writing transaction (SQLite: BEGIN IMMEDIATE on the
// single writer connection; PostgreSQL: the schema's write lock) and
// commits it when fn returns nil.
func (db *DB) inTx(ctx context.Context, fn func(tx *sqlTx) error) error {
	tx, err := db.write.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	if db.dialect == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext(current_schema()))`); err != nil {
			tx.Rollback()
			return err
		}
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	// A commit that fails is a failed query like any other (SQLite: a
	// deferred constraint, the disk; PostgreSQL: a serialization failure,
	// a lost connection), unless the caller gave up.
	return db.errs.note(ctx, tx.Commit())
}

func (db *DB) migrate(ctx context.Context) error {
	// In a writing transaction: replicas starting at once take turns.
	err := db.inTx(ctx, func(tx *sqlTx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			name TEXT PRIMARY KEY,
			applied_at TIMESTAMP NOT NULL
		)`)
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: migrations table: %w", err)
	}
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		err := db.inTx(ctx, func(tx *sqlTx) error {
			var n int
			if err := tx.GetContext(ctx, &n, `SELECT COUNT(*) FROM schema_migrations WHERE name = ?`, base); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			buf, err := db.migrationSQL(name)
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

// migrationSQL reads migration name, or its PostgreSQL version when there
// is one.
func (db *DB) migrationSQL(name string) ([]byte, error) {
	if db.dialect == Postgres {
		buf, err := fs.ReadFile(migrationFS, strings.Replace(name, "migrations/", "migrations/postgres/", 1))
		if err == nil || !errors.Is(err, fs.ErrNotExist) {
			return buf, err
		}
	}
	return fs.ReadFile(migrationFS, name)
}

// isNoRows maps sql.ErrNoRows to ErrNotFound.
func isNoRows(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}
