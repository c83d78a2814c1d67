package storage

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// A UserForgetter removes every key a state store holds about one user
// (/forget): the conversation state and the counters named after the user
// (such as "flood:ID"). Keys of FirstSeen name update ids, not users.
type UserForgetter interface {
	ForgetUser(ctx context.Context, userID int64) error
}

// ForgetUser implements UserForgetter: it deletes the user's state and
// every counter whose name ends in ":ID".
func (s *RedisStateStore) ForgetUser(ctx context.Context, userID int64) error {
	keys := []string{s.key(userID)}
	iter := s.rdb.Scan(ctx, 0, s.Prefix+"count:*:"+strconv.FormatInt(userID, 10), 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("redis: forget user: %w", err)
	}
	if err := s.rdb.Del(ctx, keys...).Err(); err != nil {
		return fmt.Errorf("redis: forget user: %w", err)
	}
	return nil
}

// ForgetUser implements UserForgetter.
func (m *MemoryStateStore) ForgetUser(ctx context.Context, userID int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.states, userID)
	suffix := ":" + strconv.FormatInt(userID, 10)
	for k := range m.counts {
		if strings.HasSuffix(k, suffix) {
			delete(m.counts, k)
		}
	}
	return nil
}
