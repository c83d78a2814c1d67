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
	os.Setenv(PassEnv, "postgres")
	defer os.Unsetenv(PassEnv)
	schemas.start()
	pg := m.Run()
	if err := schemas.stop(); err != nil {
		fmt.Fprintf(os.Stderr, "postgres: %v\n", err)
		pg = 1
	}
	if pg != 0 {
		code = pg
	}
	return code
}

// PassEnv is set to "postgres" during RunEachDialect's PostgreSQL pass,
// for the tests of package storage itself, which cannot import this
// package.
const PassEnv = "DOSTYQ_TEST_PASS"

// OnePass skips t in RunEachDialect's PostgreSQL pass. For a test that
// reads and writes no relational database (the gazetteer, the place index,
// Redis) or only SQLite's own files: the SQLite pass ran it already, and a
// second run would check nothing new.
func OnePass(t testing.TB) {
	t.Helper()
	if Dialect() == storage.Postgres {
		t.Skip("no PostgreSQL in it: run in the SQLite pass")
	}
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

// admin is the connection pool that creates and drops the tests' schemas.
func admin() (*sql.DB, error) {
	pgAdmin.once.Do(func() {
		pgAdmin.db, pgAdmin.err = sql.Open("pgx", os.Getenv(PostgresEnv))
		if pgAdmin.err == nil {
			pgAdmin.db.SetMaxOpenConns(4)
		}
	})
	return pgAdmin.db, pgAdmin.err
}

// schemas makes the PostgreSQL pass's schemas ahead of the tests and drops
// them behind: creating one and applying the migrations took about 0.2 s
// and dropping it 0.05 s, half of a chat test's time on PostgreSQL,
// spent waiting for the server while the test's own core sat idle. During
// RunEachDialect's PostgreSQL pass one goroutine keeps a schema migrated
// and ready (the migrations of storage.Open, so the test's own Open finds
// them applied, as a bot started again does) and another drops the schemas
// of the tests that ended; RunEachDialect waits for the drops. Outside that
// pass (packages without RunEachDialect) a schema is made empty and
// dropped at the test's end, as before.
var schemas schemaPool

type schemaPool struct {
	mu      sync.Mutex
	running bool
	ready   chan madeSchema // the schemas made ahead
	done    chan struct{}   // closed by stop: make no more
	drops   chan string     // the schemas of ended tests
	wg      sync.WaitGroup
	dropErr error
}

type madeSchema struct {
	name    string
	created bool // to be dropped, even when its migrations failed
	err     error
}

func (p *schemaPool) start() {
	if _, err := admin(); err != nil {
		return // each test reports it
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running = true
	p.ready = make(chan madeSchema)
	p.done = make(chan struct{})
	p.drops = make(chan string, 1024)
	var makers sync.WaitGroup
	for range schemaMakers {
		makers.Go(p.make)
	}
	p.wg.Go(func() {
		makers.Wait()
		close(p.drops)
	})
	p.wg.Go(p.drop)
}

// schemaMakers is how many schemas are made at once: the server's work,
// on the core the test binary leaves (docs/TESTING.md).
const schemaMakers = 2

// make keeps a migrated schema ready until stop.
func (p *schemaPool) make() {
	for {
		s := madeSchema{name: newSchemaName()}
		s.created, s.err = createSchema(s.name, true)
		select {
		case p.ready <- s:
		case <-p.done:
			if s.created {
				p.drops <- s.name
			}
			return
		}
	}
}

// drop drops the schemas of the ended tests, one at a time, until stop.
func (p *schemaPool) drop() {
	for name := range p.drops {
		if err := dropSchema(name); err != nil && p.dropErr == nil {
			p.dropErr = err
		}
	}
}

// take is a migrated schema for a test of the PostgreSQL pass, dropped
// after the test; ok is false outside the pass.
func (p *schemaPool) take(t testing.TB) (name string, ok bool) {
	p.mu.Lock()
	running := p.running
	p.mu.Unlock()
	if !running {
		return "", false
	}
	s := <-p.ready
	if s.created {
		t.Cleanup(func() { p.drops <- s.name })
	}
	if s.err != nil {
		t.Fatalf("postgres: %v", s.err)
	}
	return s.name, true
}

// stop makes no more schemas and waits until every test's is dropped.
func (p *schemaPool) stop() error {
	p.mu.Lock()
	if !p.running {
		p.mu.Unlock()
		return nil
	}
	p.running = false
	p.mu.Unlock()
	close(p.done)
	p.wg.Wait()
	return p.dropErr
}

func newSchemaName() string {
	var b [6]byte
	rand.Read(b[:])
	return "test_" + hex.EncodeToString(b[:])
}

// createSchema creates schema name and, when migrated, applies the
// migrations in it. created tells whether the schema exists (to be
// dropped), whatever err says.
func createSchema(name string, migrated bool) (created bool, err error) {
	db, err := admin()
	if err != nil {
		return false, err
	}
	if _, err := db.ExecContext(context.Background(), `CREATE SCHEMA `+name); err != nil {
		return false, fmt.Errorf("create schema: %w", err)
	}
	if !migrated {
		return true, nil
	}
	u, err := schemaURL(name)
	if err != nil {
		return true, err
	}
	sdb, err := storage.Open(context.Background(), u)
	if err != nil {
		return true, fmt.Errorf("migrate schema %s: %w", name, err)
	}
	return true, sdb.Close()
}

func dropSchema(name string) error {
	db, err := admin()
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(context.Background(), `DROP SCHEMA IF EXISTS `+name+` CASCADE`); err != nil {
		return fmt.Errorf("drop schema %s: %w", name, err)
	}
	return nil
}

// schemaURL is TEST_DATABASE_URL with schema as its search path.
func schemaURL(schema string) (string, error) {
	u, err := url.Parse(os.Getenv(PostgresEnv))
	if err != nil {
		return "", fmt.Errorf("%s: %w", PostgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	// Tests need no durability: do not wait for the disk at every commit.
	q.Set("synchronous_commit", "off")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// PostgresURL returns TEST_DATABASE_URL with a schema of its own for the
// test, dropped with everything in it at the end of the test, so tests
// running at once never see each other's rows: during RunEachDialect's
// PostgreSQL pass a schema the migrations were applied in (made ahead),
// otherwise an empty one. It skips the test when TEST_DATABASE_URL is not
// set.
func PostgresURL(t testing.TB) string {
	t.Helper()
	if os.Getenv(PostgresEnv) == "" {
		t.Skipf("%s not set", PostgresEnv)
	}
	if _, err := admin(); err != nil {
		t.Fatalf("%s: %v", PostgresEnv, err)
	}
	schema, ok := schemas.take(t)
	if !ok {
		schema = newSchemaName()
		if _, err := createSchema(schema, false); err != nil {
			t.Fatalf("postgres: %v", err)
		}
		t.Cleanup(func() {
			if err := dropSchema(schema); err != nil {
				t.Errorf("postgres: %v", err)
			}
		})
	}
	t.Logf("database: postgres, schema %s", schema)
	u, err := schemaURL(schema)
	if err != nil {
		t.Fatal(err)
	}
	return u
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
