// Package storagetest gives tests the real storage: SQLite in a temporary
// directory, PostgreSQL at TEST_DATABASE_URL (a fresh schema per test) and
// Redis at REDIS_URL (or an embedded miniredis when unset).
package storagetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/dostyq/dostyq/storage"
)

// PostgresEnv names the variable with the URL of a PostgreSQL database the
// tests may create schemas in, e.g. postgres://postgres@127.0.0.1:5432/dostyq_test.
const PostgresEnv = "TEST_DATABASE_URL"

// dialect is the database DB and DBWithClock open: SQLite, or PostgreSQL
// during the second pass of RunEachDialect.
var dialect atomic.Value

// Dialect is the database the tests currently run on.
func Dialect() storage.Dialect {
	if d, ok := dialect.Load().(storage.Dialect); ok {
		return d
	}
	return storage.SQLite
}

// RunEachDialect runs a package's tests on SQLite and then, when
// TEST_DATABASE_URL is set, all of them again on PostgreSQL, so one suite
// checks both. Use it as TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(storagetest.RunEachDialect(m)) }
func RunEachDialect(m *testing.M) int {
	dialect.Store(storage.SQLite)
	code := m.Run()
	if os.Getenv(PostgresEnv) == "" {
		return code
	}
	fmt.Printf("== the same tests on PostgreSQL (%s)\n", PostgresEnv)
	dialect.Store(storage.Postgres)
	if pg := m.Run(); pg != 0 {
		code = pg
	}
	return code
}

// DB opens a fresh, empty database of the current dialect.
func DB(t testing.TB) *storage.DB {
	t.Helper()
	return DBWithClock(t, time.Now)
}

// DBWithClock opens a fresh, empty database of the current dialect with
// clock now, closed (and on PostgreSQL dropped) at the end of the test.
func DBWithClock(t testing.TB, now func() time.Time) *storage.DB {
	t.Helper()
	if Dialect() == storage.Postgres {
		return Postgres(t, now)
	}
	return DBAt(t, filepath.Join(t.TempDir(), "dostyq.db"), now)
}

// Replicas opens n handles on one fresh, empty database of the current
// dialect, as n replicas of the bot would, all with clock now.
func Replicas(t testing.TB, n int, now func() time.Time) []*storage.DB {
	t.Helper()
	target := filepath.Join(t.TempDir(), "dostyq.db")
	if Dialect() == storage.Postgres {
		target = PostgresURL(t)
	}
	dbs := make([]*storage.DB, n)
	for i := range dbs {
		db, err := storage.OpenWithClock(context.Background(), target, now)
		if err != nil {
			t.Fatalf("open replica %d: %v", i, err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	return dbs
}

var pgAdmin struct {
	once sync.Once
	db   *sql.DB
	err  error
}

// PostgresURL returns TEST_DATABASE_URL with a schema of its own for the
// test: created now, dropped with everything in it at the end of the test,
// so tests running at once never see each other's rows. It skips the test
// when TEST_DATABASE_URL is not set.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Skipf("%s not set", PostgresEnv)
	}
	pgAdmin.once.Do(func() {
		pgAdmin.db, pgAdmin.err = sql.Open("pgx", base)
		if pgAdmin.err == nil {
			pgAdmin.db.SetMaxOpenConns(4)
		}
	})
	if pgAdmin.err != nil {
		t.Fatalf("%s: %v", PostgresEnv, pgAdmin.err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", PostgresEnv, err)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "test_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	if _, err := pgAdmin.db.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("postgres: create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := pgAdmin.db.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("postgres: drop schema %s: %v", schema, err)
		}
	})
	t.Logf("database: postgres, schema %s", schema)
	q := u.Query()
	q.Set("search_path", schema)
	// Tests need no durability: do not wait for the disk at every commit.
	q.Set("synchronous_commit", "off")
	u.RawQuery = q.Encode()
	return u.String()
}

// Postgres opens a fresh PostgreSQL database (a schema of its own at
// TEST_DATABASE_URL) with clock now; it skips the test when
// TEST_DATABASE_URL is not set.
func Postgres(t testing.TB, now func() time.Time) *storage.DB {
	t.Helper()
	u := PostgresURL(t)
	db, err := storage.OpenWithClock(context.Background(), u, now)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// DBAt opens the SQLite database at path with clock now, closed at the end of the test.
func DBAt(t testing.TB, path string, now func() time.Time) *storage.DB {
	t.Helper()
	db, err := storage.OpenWithClock(context.Background(), path, now)
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Redis returns a client on REDIS_URL when set, otherwise on an embedded
// miniredis, and a key prefix unique to the test so that tests running at
// once on one server do not see each other's keys.
func Redis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	var opts *redis.Options
	if url := os.Getenv("REDIS_URL"); url != "" {
		var err error
		opts, err = redis.ParseURL(url)
		if err != nil {
			t.Fatalf("REDIS_URL: %v", err)
		}
	} else {
		mr := miniredis.RunT(t)
		opts = &redis.Options{Addr: mr.Addr()}
	}
	rdb := redis.NewClient(opts)
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis: %v", err)
	}
	prefix := fmt.Sprintf("test:%s:%d:", t.Name(), mrand.Int64())
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
		rdb.Close()
	})
	return rdb, prefix
}

// PipeClient is a client of rdb's server and database for a state store's
// auto-pipeliner (RedisStateStore.AutoPipeline): it never retries. Closed
// with the store.
func PipeClient(rdb *redis.Client) *redis.Client {
	o := rdb.Options()
	return redis.NewClient(&redis.Options{Addr: o.Addr, Username: o.Username, Password: o.Password, DB: o.DB, MaxRetries: -1})
}

// States returns a Redis state store (REDIS_URL or miniredis) with a key
// prefix unique to the test.
func States(t testing.TB, ttl time.Duration) *storage.RedisStateStore {
	t.Helper()
	rdb, prefix := Redis(t)
	s := storage.NewRedisStateStore(rdb, ttl)
	s.Prefix = prefix
	return s
}
