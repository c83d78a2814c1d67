package storage

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// A UserForgetter removes every key a state store holds about one user
// (/forget): the conversation state and the counters named after the user
// (FloodKey, AlbumFloodKey). Keys of FirstSeen name update ids, not users.
type UserForgetter interface {
	ForgetUser(ctx context.Context, userID int64) error
}

// FloodKey is the name of the counter of a user's updates (flood control).
func FloodKey(userID int64) string { return "flood:" + strconv.FormatInt(userID, 10) }

// AlbumFloodKey is the name of the counter of the album items (photos,
// videos, documents, audio sent as one group) a user sends: flood control
// counts them apart. FloodKey and
// AlbumFloodKey are the counters named after a user.
func AlbumFloodKey(userID int64) string { return "floodalbum:" + strconv.FormatInt(userID, 10) }

// ForgetUser implements UserForgetter: it deletes the user's state and
// flood counters, by name (no scan of the keyspace).
func (s *RedisStateStore) ForgetUser(ctx context.Context, userID int64) error {
	if err := s.rdb.Del(ctx, s.key(userID), s.Prefix+"count:"+FloodKey(userID), s.Prefix+"count:"+AlbumFloodKey(userID)).Err(); err != nil {
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
