// Package storagetest gives tests the real storage: SQLite in a temporary
// directory and Redis at REDIS_URL (or an embedded miniredis when unset).
package storagetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/dostyq/dostyq/storage"
)

// DB opens a fresh SQLite database in a temporary directory.
func DB(t testing.TB) *storage.DB {
	t.Helper()
	return DBAt(t, filepath.Join(t.TempDir(), "dostyq.db"), time.Now)
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
	prefix := fmt.Sprintf("test:%s:%d:", t.Name(), rand.Int64())
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

// States returns a Redis state store (REDIS_URL or miniredis) with a key
// prefix unique to the test.
func States(t testing.TB, ttl time.Duration) *storage.RedisStateStore {
	t.Helper()
	rdb, prefix := Redis(t)
	s := storage.NewRedisStateStore(rdb, ttl)
	s.Prefix = prefix
	return s
}
