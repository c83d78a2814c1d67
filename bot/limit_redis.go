package bot

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// sharedBucket is the global sending bucket kept in Redis, so that
// Telegram's limit for the bot (about 30 messages a second) holds across
// every replica sending for it, not per replica. It is the same GCRA as
// bucket, run atomically in Redis on Redis's clock (replicas' clocks may
// differ a little; Redis's is one).
type sharedBucket struct {
	rdb redis.Scripter
	key string
	// downUntil (Unix ns): after a Redis error the replica uses its own
	// bucket for a few seconds instead of waiting on Redis for every message.
	downUntil atomic.Int64
}

// sharedRetryAfter is how long a replica uses its own bucket after Redis failed.
const sharedRetryAfter = 5 * time.Second

var errSharedDown = errors.New("shared limiter: redis failed recently")

// reserveScript takes a token from the bucket KEYS[1] (its theoretical
// arrival time, in microseconds of Redis's clock) with one token every
// ARGV[1] µs and a burst of ARGV[2]. It returns {1, wait}: the slot is
// taken, send after wait µs; or, for a bulk message (ARGV[3] = 1) while
// other messages wait for slots, {0, wait}: nothing taken, look again
// after wait µs.
var reserveScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
if ARGV[3] == '1' and tat - now > interval then
	return {0, tat - now - interval}
end
local at = tat - (burst - 1) * interval
if at < now then at = now end
local newtat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', newtat), 'PX', math.floor((newtat - now) / 1000) + 1000)
return {1, at - now}
`)

// reserve takes a global slot (or, for bulk, reports that others wait:
// taken false) and returns how long to wait.
func (s *sharedBucket) reserve(ctx context.Context, b bucket, bulk bool) (wait time.Duration, taken bool, err error) {
	return s.reserveKey(ctx, s.key, b, bulk)
}

// chatKey is the key of chatID's bucket: RedisKey with "chat:<id>" in
// place of its last part ("dostyq:send:global" → "dostyq:send:chat:42").
func (s *sharedBucket) chatKey(chatID int64) string {
	base := s.key
	if i := strings.LastIndexByte(base, ':'); i >= 0 {
		base = base[:i+1]
	} else {
		base += ":"
	}
	return base + "chat:" + strconv.FormatInt(chatID, 10)
}

// reserveChat takes a slot of chatID's bucket, shared by the replicas
// too: one chat's updates may be handled by any of them in turn.
func (s *sharedBucket) reserveChat(ctx context.Context, chatID int64, b bucket) (time.Duration, error) {
	wait, _, err := s.reserveKey(ctx, s.chatKey(chatID), b, false)
	return wait, err
}

func (s *sharedBucket) reserveKey(ctx context.Context, key string, b bucket, bulk bool) (wait time.Duration, taken bool, err error) {
	if time.Now().UnixNano() < s.downUntil.Load() {
		return 0, false, errSharedDown
	}
	flag := "0"
	if bulk {
		flag = "1"
	}
	res, err := reserveScript.Run(ctx, s.rdb, []string{key}, b.interval.Microseconds(), b.burst, flag).Int64Slice()
	if err != nil {
		if ctx.Err() == nil {
			s.downUntil.Store(time.Now().Add(sharedRetryAfter).UnixNano())
		}
		return 0, false, err
	}
	if len(res) != 2 {
		return 0, false, redis.Nil
	}
	return time.Duration(res[1]) * time.Microsecond, res[0] == 1, nil
}
