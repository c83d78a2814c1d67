package storage

import (
	"testing"
	"time"
)

// A row read before a write committed is not stored once the write has
// invalidated: the fill carries the generation taken before the read.
func TestUserCacheFillAfterInvalidationIsVoid(t *testing.T) {
	var c userCache
	c.on, c.ttl, c.max = true, time.Minute, 4
	now := time.Now()
	gen := c.generation()
	c.invalidate(1) // the write commits while the reader is reading
	c.put(User{ID: 1, Lang: "old"}, gen, now)
	if u, ok := c.get(1, now); ok {
		t.Fatalf("a stale fill was stored: %+v", u)
	}
	c.put(User{ID: 1, Lang: "new"}, c.generation(), now)
	if u, ok := c.get(1, now); !ok || u.Lang != "new" {
		t.Fatalf("fill: %+v %v", u, ok)
	}
	if _, ok := c.get(1, now.Add(time.Minute)); ok {
		t.Fatal("an entry outlived its ttl")
	}
}

// The cache stays within max entries.
func TestUserCacheBounded(t *testing.T) {
	var c userCache
	c.on, c.ttl, c.max = true, time.Minute, 100
	now := time.Now()
	for id := int64(1); id <= 1000; id++ {
		c.put(User{ID: id}, c.generation(), now)
		if len(c.users) > c.max {
			t.Fatalf("%d entries, max %d", len(c.users), c.max)
		}
	}
	if _, ok := c.get(1000, now); !ok {
		t.Fatal("the last entry put is missing")
	}
}
