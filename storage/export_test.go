package storage

import (
	"context"
	"database/sql"
	"io/fs"
	"os"
	"path"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/mattn/go-sqlite3"
)

// onePass is storagetest.OnePass for this package's own tests, which
// cannot import storagetest: it skips t in the PostgreSQL pass, when
// storagetest.PassEnv ("DOSTYQ_TEST_PASS") is "postgres".
func onePass(t *testing.T) {
	t.Helper()
	if os.Getenv("DOSTYQ_TEST_PASS") == "postgres" {
		t.Skip("no PostgreSQL in it: run in the SQLite pass")
	}
}

// ExecForTest runs raw SQL on the writer, for tests that check what the
// database itself refuses.
func ExecForTest(db *DB, query string) error {
	_, err := db.write.ExecContext(context.Background(), query)
	return err
}

// ColumnsForTest lists the columns of every table, table by table in name
// order, as "table.column", for comparing the schemas of the dialects.
func ColumnsForTest(db *DB) ([]string, error) {
	ctx := context.Background()
	var cols []string
	var err error
	if db.dialect == Postgres {
		err = db.read.SelectContext(ctx, &cols, `SELECT table_name || '.' || column_name FROM information_schema.columns
			WHERE table_schema = current_schema() ORDER BY table_name, column_name`)
	} else {
		err = db.read.SelectContext(ctx, &cols, `SELECT m.name || '.' || p.name FROM sqlite_master m, pragma_table_info(m.name) p
			WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.name`)
	}
	return cols, err
}

// MigrationsForTest lists the migrations db has recorded as applied and
// the shared migration files, both by name in order.
func MigrationsForTest(db *DB) (recorded, files []string, err error) {
	if err := db.read.SelectContext(context.Background(), &recorded, `SELECT name FROM schema_migrations ORDER BY name`); err != nil {
		return nil, nil, err
	}
	files, err = fs.Glob(migrationFS, "migrations/*.sql")
	for i := range files {
		files[i] = path.Base(files[i])
	}
	return recorded, files, err
}

// GetForTest runs query on the read pool into dest, as a DB method would:
// how a benchmark runs a query as it was written before a change.
func GetForTest(db *DB, dest any, query string, args ...any) error {
	return isNoRows(db.read.GetContext(context.Background(), dest, query, args...))
}

// IndexesForTest returns the CREATE INDEX statements of migration file
// (e.g. "010_history_indexes.sql") as db's dialect runs it, by index name,
// each with IF NOT EXISTS: how a benchmark measures a query without an
// index and with it on one database.
func IndexesForTest(db *DB, file string) (map[string]string, error) {
	buf, err := db.migrationSQL("migrations/" + file)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for stmt := range strings.SplitSeq(sqlOnly(buf), ";") {
		f := strings.Fields(stmt)
		if len(f) > 3 && f[0] == "CREATE" && f[1] == "INDEX" {
			out[f[2]] = "CREATE INDEX IF NOT EXISTS " + strings.Join(f[2:], " ")
		}
	}
	return out, nil
}

// ExecForTest runs raw SQL in the transaction.
func (tx *Tx) ExecForTest(query string, args ...any) error {
	_, err := tx.exec(query, args...)
	return err
}

// SelectForTest runs query on the read pool into dest, as a DB method
// would.
func SelectForTest(db *DB, dest any, query string, args ...any) error {
	return db.read.SelectContext(context.Background(), dest, query, args...)
}

// distanceDriver is go-sqlite3 with DistanceKm registered as the SQL
// function distance_km, for BenchmarkMonthQueries' "before": the bot's
// own connections no longer have it (upcomingNear).
const distanceDriver = "sqlite3_dostyq_distance"

func init() {
	sql.Register(distanceDriver, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		return c.RegisterFunc("distance_km", DistanceKm, true)
	}})
}

// DistanceKmForTest is the SQL of the distance from (lat, lon) to the
// rows of table alias t, and its arguments: on SQLite the function
// distance_km, on PostgreSQL pgDistanceKm. Run it on WithDistanceForTest.
func DistanceKmForTest(db *DB, t string, lat, lon float64) (string, []any) {
	if db.dialect == Postgres {
		return pgDistanceKm(t), []any{lat, lat, lon}
	}
	return `distance_km(?, ?, ` + t + `.lat, ` + t + `.lon)`, []any{lat, lon}
}

// WithDistanceForTest is a reading connection to db whose SQL has
// DistanceKmForTest's distance: on SQLite one of its own, with distance_km
// and the bot's statement cache (closed when tb ends), on PostgreSQL db's
// own.
func WithDistanceForTest(tb testing.TB, db *DB) *sqlx.DB {
	tb.Helper()
	if db.dialect == Postgres {
		return db.read.DB
	}
	c, err := sqlx.Open(distanceDriver, "file:"+db.path+"?mode=ro&_busy_timeout=10000&_stmt_cache_size=128")
	if err != nil {
		tb.Fatal(err)
	}
	c.SetMaxOpenConns(8) // as the read pool
	tb.Cleanup(func() { c.Close() })
	return c
}
