package bot

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dostyq/dostyq/storage/storagetest"
)

// Two replicas with limiters on one Redis keep the global limit together:
// 400 messages at 400 a second (burst 66) take about (400-66)/400 s, where
// two separate limiters would take half of that.
func TestSharedLimiterHoldsTheGlobalRateAcrossReplicas(t *testing.T) {
	rdb, prefix := storagetest.Redis(t)
	const rate, perReplica, senders = 400.0, 200, 4
	replicas := []*Limiter{
		NewLimiter(LimiterOptions{Global: rate, Redis: rdb, RedisKey: prefix + "send"}),
		NewLimiter(LimiterOptions{Global: rate, Redis: rdb, RedisKey: prefix + "send"}),
	}
	ctx := context.Background()
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var sent []time.Time
	for r, l := range replicas {
		for s := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perReplica / senders {
					// A chat per message: only the global limit applies.
					chat := int64(r*1_000_000 + s*1000 + i + 1)
					if err := l.Wait(ctx, chat); err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					sent = append(sent, time.Now())
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	burst := 66 // int(rate / 6), as NewLimiter sets it
	want := time.Duration(float64(2*perReplica-burst) / rate * float64(time.Second))
	if elapsed < want*9/10 {
		t.Errorf("%d messages in %v, want at least %v at %v/s in all", len(sent), elapsed, want, rate)
	}
	// No second after the burst holds more than the rate (and a burst).
	for i, at := range sent {
		n := 0
		for _, b := range sent[i:] {
			if b.Sub(at) < time.Second {
				n++
			}
		}
		if n > int(rate)+burst+1 {
			t.Fatalf("%d messages within a second from %v", n, at.Sub(start))
		}
	}
}

// With Redis unreachable a replica still sends, within its own limit.
func TestSharedLimiterFallsBackWhenRedisIsDown(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer rdb.Close()
	l := NewLimiter(LimiterOptions{Global: 30, Redis: rdb})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := range 3 {
		if err := l.Wait(ctx, int64(i+1)); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
}

// Replicas sending to one chat in turn share its bucket: 13 messages at 10
// a second to one chat (burst 3) take about a second across two limiters,
// where two buckets of their own would let them through in half of that.
func TestSharedLimiterHoldsTheChatRateAcrossReplicas(t *testing.T) {
	rdb, prefix := storagetest.Redis(t)
	replicas := []*Limiter{
		NewLimiter(LimiterOptions{Global: 1000, Chat: 10, Redis: rdb, RedisKey: prefix + "send:global"}),
		NewLimiter(LimiterOptions{Global: 1000, Chat: 10, Redis: rdb, RedisKey: prefix + "send:global"}),
	}
	ctx := context.Background()
	start := time.Now()
	for i := range 13 {
		if err := replicas[i%2].Wait(ctx, 42); err != nil {
			t.Fatal(err)
		}
	}
	if elapsed := time.Since(start); elapsed < 900*time.Millisecond {
		t.Errorf("13 messages to one chat in %v, want about 1 s at 10/s after a burst of 3", elapsed)
	}
}
