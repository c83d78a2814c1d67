package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisStateStore keeps conversation state in Redis, one key per user with
// a TTL. Updates are optimistic transactions (WATCH/MULTI), retried when
// another writer got in between.
type RedisStateStore struct {
	rdb *redis.Client
	ttl time.Duration
	// Prefix starts every key (default "dostyq:").
	Prefix string
}

// NewRedisStateStore returns a store on rdb whose states expire after ttl.
func NewRedisStateStore(rdb *redis.Client, ttl time.Duration) *RedisStateStore {
	return &RedisStateStore{rdb: rdb, ttl: ttl, Prefix: "dostyq:"}
}

// Client is the underlying Redis client.
func (s *RedisStateStore) Client() *redis.Client { return s.rdb }

func (s *RedisStateStore) key(userID int64) string {
	return s.Prefix + "state:" + strconv.FormatInt(userID, 10)
}

// Get implements StateStore.
func (s *RedisStateStore) Get(ctx context.Context, userID int64) (State, error) {
	var st State
	buf, err := s.rdb.Get(ctx, s.key(userID)).Bytes()
	if errors.Is(err, redis.Nil) {
		return st, nil
	}
	if err != nil {
		return st, unavailable("redis: get state", err)
	}
	if err := json.Unmarshal(buf, &st); err != nil {
		return State{}, fmt.Errorf("redis: decode state: %w", err)
	}
	return st, nil
}

// Update implements StateStore.
func (s *RedisStateStore) Update(ctx context.Context, userID int64, fn func(*State) error) (State, error) {
	key := s.key(userID)
	var out State
	var fnErr error // an error of fn is the caller's, not Redis's
	txf := func(tx *redis.Tx) error {
		var st State
		buf, err := tx.Get(ctx, key).Bytes()
		switch {
		case errors.Is(err, redis.Nil):
		case err != nil:
			return err
		default:
			if err := json.Unmarshal(buf, &st); err != nil {
				return fmt.Errorf("decode state: %w", err)
			}
		}
		if err := fn(&st); err != nil {
			fnErr = err
			return err
		}
		st.Version++
		enc, err := json.Marshal(st)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, key, enc, s.ttl)
			return nil
		})
		out = st
		return err
	}
	for attempt := 0; attempt < 50; attempt++ {
		err := s.rdb.Watch(ctx, txf, key)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if err != nil && (fnErr != nil || errors.Is(err, ErrUnavailable)) {
			return State{}, err
		}
		if err != nil {
			return State{}, unavailable("redis: update state", err)
		}
		return out, nil
	}
	return State{}, ErrConflict
}

// Delete implements StateStore.
func (s *RedisStateStore) Delete(ctx context.Context, userID int64) error {
	if err := s.rdb.Del(ctx, s.key(userID)).Err(); err != nil {
		return unavailable("redis: delete state", err)
	}
	return nil
}

// FirstSeen implements StateStore.
func (s *RedisStateStore) FirstSeen(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	ok, err := s.rdb.SetNX(ctx, s.Prefix+"seen:"+key, 1, ttl).Result()
	if err != nil {
		return false, unavailable("redis: first seen", err)
	}
	return ok, nil
}

// Count implements StateStore.
func (s *RedisStateStore) Count(ctx context.Context, key string, window time.Duration) (int64, error) {
	k := s.Prefix + "count:" + key
	var incr *redis.IntCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		incr = p.Incr(ctx, k)
		p.ExpireNX(ctx, k, window)
		return nil
	})
	if err != nil {
		return 0, unavailable("redis: count", err)
	}
	return incr.Val(), nil
}

// Ping implements StateStore.
func (s *RedisStateStore) Ping(ctx context.Context) error { return s.rdb.Ping(ctx).Err() }

// Close implements StateStore.
func (s *RedisStateStore) Close() error { return s.rdb.Close() }
