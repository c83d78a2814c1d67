package storage

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The answers of getUpdates whose updates the poller took and has not yet
// seen handled (bot.TakenLog), in a hash under Prefix+"taken:"+key: field
// the id of an answer's first update, value the answer as Telegram sent
// it. getUpdates confirms updates to Telegram once the bot asks for the
// next ones, which is before they are handled; a process killed in
// between would lose them. The poller keeps each answer here before it
// asks for the next one, and its next start hands on what is left (the
// seen marks skip the updates that were handled).

// KeepTaken forgets the answers drop and adds answer as id (unless it is
// nil), and keeps the hash ttl longer (ttl 0: its expiry is left as it is):
// one command, sent with the handlers' commands of the moment when
// auto-pipelining is on (behind a webhook, each update's is). An answer
// alone, with ttl 0, is a plain HSET; anything else keepTakenScript.
func (s *RedisStateStore) KeepTaken(ctx context.Context, key string, drop []int, id int, answer []byte, ttl time.Duration) error {
	c, err := s.hot(ctx)
	if err != nil {
		return err
	}
	k := s.Prefix + "taken:" + key
	if len(drop) == 0 && ttl <= 0 {
		if answer == nil {
			return nil
		}
		if err := c.HSet(ctx, k, strconv.Itoa(id), stamped(answer)).Err(); err != nil {
			return unavailable("redis: keep taken updates", err)
		}
		return nil
	}
	args := make([]any, 0, 3+len(drop))
	args = append(args, max(ttl.Milliseconds(), 0), "", "")
	if answer != nil {
		args[1], args[2] = strconv.Itoa(id), stamped(answer)
	}
	for _, id := range drop {
		args = append(args, strconv.Itoa(id))
	}
	if err := keepTakenScript.Run(ctx, c, []string{k}, args...).Err(); err != nil && err != redis.Nil {
		return unavailable("redis: keep taken updates", err)
	}
	return nil
}

// keepTakenScript deletes the fields ARGV[4...] of the hash KEYS[1] (a
// thousand at a time: Redis's Lua unpacks at most about 8,000 values), sets
// the field ARGV[2] (unless empty) to ARGV[3], and expires the hash in
// ARGV[1] ms (unless 0).
var keepTakenScript = redis.NewScript(`
for i = 4, #ARGV, 1000 do
	redis.call('HDEL', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
if ARGV[2] ~= '' then
	redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
end
if ARGV[1] ~= '0' then
	redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return 1`)

// stamped is answer as kept: the time it is written (Unix milliseconds)
// and a space before it.
func stamped(answer []byte) []byte {
	b := make([]byte, 0, 14+len(answer))
	b = strconv.AppendInt(b, time.Now().UnixMilli(), 10)
	return append(append(b, ' '), answer...)
}

// Taken returns the answers kept by KeepTaken, oldest first (by id), and
// deletes those written more than maxAge ago.
func (s *RedisStateStore) Taken(ctx context.Context, key string, maxAge time.Duration) (ids []int, answers [][]byte, err error) {
	k := s.Prefix + "taken:" + key
	m, err := s.rdb.HGetAll(ctx, k).Result()
	if err != nil {
		return nil, nil, unavailable("redis: taken updates", err)
	}
	oldest := time.Now().Add(-maxAge).UnixMilli()
	kept := make(map[int]string, len(m))
	var stale []string
	for f, v := range m {
		id, err := strconv.Atoi(f)
		if err != nil {
			continue // not a field this store wrote
		}
		at, answer, ok := strings.Cut(v, " ")
		ms, err := strconv.ParseInt(at, 10, 64)
		if !ok || err != nil || ms < oldest {
			stale = append(stale, f)
			continue
		}
		kept[id] = answer
		ids = append(ids, id)
	}
	if len(stale) > 0 {
		if err := s.rdb.HDel(ctx, k, stale...).Err(); err != nil {
			return nil, nil, unavailable("redis: taken updates", err)
		}
	}
	sort.Ints(ids)
	answers = make([][]byte, len(ids))
	for i, id := range ids {
		answers[i] = []byte(kept[id])
	}
	return ids, answers, nil
}
