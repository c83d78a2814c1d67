package bot

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dostyq/dostyq/storage/storagetest"
)

func TestRedisHookCountsFailuresOnly(t *testing.T) {
	ctx := context.Background()
	m := NewMetrics()
	rdb, prefix := storagetest.Redis(t)
	rdb.AddHook(m.RedisHook())

	if err := rdb.Get(ctx, prefix+"missing").Err(); err != redis.Nil {
		t.Fatalf("GET of a missing key: %v", err)
	}
	if err := rdb.Set(ctx, prefix+"k", "v", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Get(ctx, prefix+"k")
		p.Get(ctx, prefix+"also-missing")
		return nil
	}); err != nil && err != redis.Nil {
		t.Fatal(err)
	}
	if n := counterValue(t, m, "dostyq_redis_errors_total"); n != 0 {
		t.Fatalf("a missing key is not a Redis error; counted %v", n)
	}

	// A Redis that does not answer: every command fails and is counted.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	down := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer down.Close()
	down.AddHook(m.RedisHook())
	if down.Get(ctx, "k").Err() == nil || down.Ping(ctx).Err() == nil {
		t.Fatal("commands to a closed port succeeded")
	}
	if n := counterValue(t, m, "dostyq_redis_errors_total"); n != 2 {
		t.Fatalf("two failed commands counted %v times", n)
	}
	// A pipeline that fails counts each of its commands.
	if _, err := down.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Get(ctx, "a")
		p.Get(ctx, "b")
		p.Get(ctx, "c")
		return nil
	}); err == nil {
		t.Fatal("a pipeline to a closed port succeeded")
	}
	if n := counterValue(t, m, "dostyq_redis_errors_total"); n != 5 {
		t.Fatalf("two failed commands and a failed pipeline of three counted %v times, want 5", n)
	}
}

// counterValue reads a counter without labels from m's registry.
func counterValue(t *testing.T, m *Metrics, name string) float64 {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
