package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// ActiveFlows counts the users in the middle of a flow, for the
// dostyq_active_conversations gauge. It reads every stored state: a SCAN
// and an MGET per batch of keys.
func (s *RedisStateStore) ActiveFlows(ctx context.Context) (int, error) {
	n := 0
	iter := s.rdb.Scan(ctx, 0, s.Prefix+"state:*", 500).Iterator()
	var batch []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		vals, err := s.rdb.MGet(ctx, batch...).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		for _, v := range vals {
			if str, ok := v.(string); ok && inFlow([]byte(str)) {
				n++
			}
		}
		batch = batch[:0]
		return nil
	}
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 500 {
			if err := flush(); err != nil {
				return 0, fmt.Errorf("redis: count flows: %w", err)
			}
		}
	}
	if err := iter.Err(); err != nil {
		return 0, fmt.Errorf("redis: count flows: %w", err)
	}
	if err := flush(); err != nil {
		return 0, fmt.Errorf("redis: count flows: %w", err)
	}
	return n, nil
}

// ActiveFlows counts the users in the middle of a flow.
func (m *MemoryStateStore) ActiveFlows(ctx context.Context) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, now := 0, m.now()
	for _, e := range m.states {
		if now.Before(e.expires) && inFlow(e.buf) {
			n++
		}
	}
	return n, nil
}

func inFlow(buf []byte) bool {
	var st State
	return json.Unmarshal(buf, &st) == nil && st.Flow != ""
}
