package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisStateStore keeps conversation state in Redis, one key per user with
// a TTL. Updates are optimistic: read, change, then compare-and-set in a
// Lua script, retried when another writer got in between.
type RedisStateStore struct {
	rdb *redis.Client
	// ap batches the commands of every update (AutoPipeline; nil when
	// off), on pipe: a client of its own that never sends a batch twice.
	ap   *redis.AutoPipeliner
	pipe *redis.Client
	ttl  time.Duration
	// tokenPrefix and calls make callToken.
	tokenPrefix string
	calls       atomic.Uint64
	// Prefix starts every key (default "dostyq:").
	Prefix string
}

// Marks of updates under a chat's lock. Replicas hold the chat's lock
// (LockChat) around the handling of every update. Given the context
// LockChat returned, FirstSeen and SeenCountGet mark an update "in
// progress", and SeenDone marks it done once handled. A replica that takes
// a chat's lock and finds one of its updates still in progress knows the
// replica that marked it lost the lock without finishing: it died
// (SIGKILL, a lost machine) before answering the webhook, which is why the
// update came again. The update is then handled, not skipped, so nothing
// the user sent is lost. Without the chat lock (one process, or the lock
// failing) an update in progress may be in the hands of a live replica, so
// there any mark means "seen" and the first mark is final.

// NewRedisStateStore returns a store on rdb whose states expire after ttl.
func NewRedisStateStore(rdb *redis.Client, ttl time.Duration) *RedisStateStore {
	var b [4]byte
	rand.Read(b[:])
	return &RedisStateStore{rdb: rdb, ttl: ttl, Prefix: "dostyq:", tokenPrefix: "t" + hex.EncodeToString(b[:])}
}

// AutoPipeline sends the commands of every update — the seen mark with the
// flood count and the state read, the state's compare-and-set — through
// go-redis' auto-pipeliner: the commands that workers issue at the same
// moment go to Redis as one pipeline on one connection, one write and one
// read for all of them instead of one each, and a worker still waits for
// its own reply, so each update's commands keep their order. A lone
// command is sent at once (no coalescing wait). Under load this cuts the
// system calls of the bot and of Redis and the connections the bot holds
// (docs/BENCHMARKS.md).
//
// The pipeliner runs on pipe, a client of its own (closed with the store,
// or at once when refused)
// that must never send a command twice (MaxRetries -1): the seen marks are
// not idempotent across calls, and a batch Redis had already run, sent
// again, would read as seen before and the updates in it would be dropped.
// A failed command is reported instead, and its update handled at the risk
// of twice, as without the pipeline; with Redis hung it fails after one
// read timeout. Under a chat's lock (replicas) the plain client is used
// (hot).
func (s *RedisStateStore) AutoPipeline(pipe *redis.Client) error {
	if s.ap != nil {
		pipe.Close()
		return errors.New("redis: auto-pipeline: already on")
	}
	if pipe.Options().MaxRetries != 0 { // -1 is kept as 0 once the client is made
		pipe.Close()
		return errors.New("redis: auto-pipeline: its client must not retry (MaxRetries: -1)")
	}
	ap, err := pipe.AutoPipeline()
	if err != nil {
		pipe.Close()
		return fmt.Errorf("redis: auto-pipeline: %w", err)
	}
	s.ap, s.pipe = ap, pipe
	return nil
}

// callToken is a token unique to one call (seenCountGetScript's mark): the
// store's random prefix and a counter, never starting with "p" (an update
// in progress under a chat's lock).
func (s *RedisStateStore) callToken() string {
	return s.tokenPrefix + strconv.FormatUint(s.calls.Add(1), 36)
}

// hot is the client for the commands of an update: the auto-pipeliner, or
// the plain client when auto-pipelining is off or under a chat's lock. A
// pipelined command runs even if its context ends while it waits for its
// batch, and a replica that lost its chat's lock must not write another
// step (the plain client checks the context before it sends). Like the
// plain client, hot refuses a context that is already done.
func (s *RedisStateStore) hot(ctx context.Context) (redis.Cmdable, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.ap == nil || lockHeld(ctx) {
		return s.rdb, nil
	}
	return s.ap, nil
}

// AddHook adds hook to the store's clients (the metrics' error count).
func (s *RedisStateStore) AddHook(hook redis.Hook) {
	s.rdb.AddHook(hook)
	if s.pipe != nil {
		s.pipe.AddHook(hook)
	}
}

// Client is the underlying Redis client.
func (s *RedisStateStore) Client() *redis.Client { return s.rdb }

func (s *RedisStateStore) key(userID int64) string {
	return s.Prefix + "state:" + strconv.FormatInt(userID, 10)
}

// Get implements StateStore.
func (s *RedisStateStore) Get(ctx context.Context, userID int64) (State, error) {
	st, _, err := s.GetSnapshot(ctx, userID)
	return st, err
}

// GetSnapshot implements SnapshotStore.
func (s *RedisStateStore) GetSnapshot(ctx context.Context, userID int64) (State, Snapshot, error) {
	buf, err := s.rdb.Get(ctx, s.key(userID)).Bytes()
	if errors.Is(err, redis.Nil) {
		return State{}, snapshotMissing, nil
	}
	if err != nil {
		return State{}, nil, unavailable("redis: get state", err)
	}
	return decodeState(buf)
}

// decodeState decodes a stored state; buf becomes its Snapshot.
func decodeState(buf []byte) (State, Snapshot, error) {
	var st State
	if err := decodeStateInto(buf, &st); err != nil {
		return State{}, nil, fmt.Errorf("redis: decode state: %w", err)
	}
	return st, Snapshot(buf), nil
}

// countGetScript counts KEYS[1] in a fixed window of ARGV[1] ms (INCR, and
// PEXPIRE when the counter has no TTL yet, as Count does) and returns the
// count with the value of KEYS[2] (false when it does not exist).
var countGetScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) == -1 then
	redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return {n, redis.call('GET', KEYS[2])}`)

// seenCountGetScript is FirstSeen(KEYS[1], ARGV[1] ms) and, for an update
// seen the first time, countGetScript on KEYS[2] and KEYS[3] with a window
// of ARGV[2] ms. It returns {0} for an update seen before, else {1, count,
// state, taken}.
//
// With ARGV[3] = "1" (under the chat's lock) the mark is "p" followed by the SHA-1
// of the state as read, in progress, and an update found in progress is
// taken over (see "Marks of updates under a chat's lock"): taken is 1 when the state is still the one
// its first replica read, 2 when that replica moved the conversation on
// before it died.
//
// Without the chat's lock the mark is ARGV[4], a token of this call: the
// same call sent again after its reply was lost (a retried command, a
// batch the connection dropped) finds its own mark and is answered as the
// first time, not dropped as seen before. The count is then not raised
// again.
var seenCountGetScript = redis.NewScript(`
local seen = redis.call('GET', KEYS[1])
local state = redis.call('GET', KEYS[3])
local taken = 0
if seen and seen == ARGV[4] then
	return {1, tonumber(redis.call('GET', KEYS[2]) or '1'), state, 0}
end
if seen then
	if ARGV[3] ~= '1' or string.sub(seen, 1, 1) ~= 'p' then
		return {0}
	end
	taken = 1
	if seen ~= 'p' .. (state and redis.sha1hex(state) or '') then
		taken = 2
	end
end
if ARGV[3] == '1' then
	redis.call('SET', KEYS[1], 'p' .. (state and redis.sha1hex(state) or ''), 'PX', ARGV[1])
else
	redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[1])
end
local n = redis.call('INCR', KEYS[2])
if n == 1 or redis.call('PTTL', KEYS[2]) == -1 then
	redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return {1, n, state, taken}`)

// firstSeenScript is FirstSeen under the chat's lock: KEYS[1] marked "p" for
// ARGV[1] ms unless it holds a mark other than one in progress. It returns
// 1 when the update is to be handled.
var firstSeenScript = redis.NewScript(`
local seen = redis.call('GET', KEYS[1])
if seen and string.sub(seen, 1, 1) ~= 'p' then
	return 0
end
redis.call('SET', KEYS[1], 'p', 'PX', ARGV[1])
return 1`)

// SeenCountGet is FirstSeen(seenKey, seenTTL) and, when the key is seen the
// first time, CountGet(countKey, window, userID), in one round trip: the
// three reads at the start of an update. first is false, and nothing
// counted, for a key seen before. moved reports, under the chat's lock, an
// update taken over from a replica that died after it had written the
// user's state: the update itself is then done but for the question of the
// step it moved to.
func (s *RedisStateStore) SeenCountGet(ctx context.Context, seenKey string, seenTTL time.Duration, countKey string, window time.Duration, userID int64) (first bool, n int64, st State, snap Snapshot, moved bool, err error) {
	c, err := s.hot(ctx)
	if err != nil {
		return false, 0, State{}, nil, false, unavailable("redis: first seen, count and get state", err)
	}
	res, err := seenCountGetScript.Run(ctx, c,
		[]string{s.Prefix + "seen:" + seenKey, s.Prefix + "count:" + countKey, s.key(userID)},
		strconv.FormatInt(max(seenTTL.Milliseconds(), 1), 10), strconv.FormatInt(max(window.Milliseconds(), 1), 10),
		untilDone(lockHeld(ctx)), s.callToken()).Slice()
	if err != nil {
		return false, 0, State{}, nil, false, unavailable("redis: first seen, count and get state", err)
	}
	if len(res) < 1 {
		return false, 0, State{}, nil, false, errors.New("redis: first seen, count and get state: short reply")
	}
	if f, _ := res[0].(int64); f == 0 {
		return false, 0, State{}, nil, false, nil
	}
	if len(res) > 3 {
		taken, _ := res[3].(int64)
		moved = taken == 2
		res = res[:3]
	}
	n, st, snap, err = countGetReply(res[1:])
	return err == nil, n, st, snap, moved, err
}

// CountGet implements SnapshotStore: the flood counter and the state in one
// round trip (a script, so the counter's INCR and PEXPIRE stay atomic).
func (s *RedisStateStore) CountGet(ctx context.Context, countKey string, window time.Duration, userID int64) (int64, State, Snapshot, error) {
	c, err := s.hot(ctx)
	if err != nil {
		return 0, State{}, nil, unavailable("redis: count and get state", err)
	}
	res, err := countGetScript.Run(ctx, c, []string{s.Prefix + "count:" + countKey, s.key(userID)},
		strconv.FormatInt(max(window.Milliseconds(), 1), 10)).Slice()
	if err != nil {
		return 0, State{}, nil, unavailable("redis: count and get state", err)
	}
	return countGetReply(res)
}

// countGetReply decodes the reply of countGetScript: the count and the
// state (nil when not stored).
func countGetReply(res []any) (int64, State, Snapshot, error) {
	if len(res) < 1 {
		return 0, State{}, nil, errors.New("redis: count and get state: short reply")
	}
	n, ok := res[0].(int64)
	if !ok {
		return 0, State{}, nil, fmt.Errorf("redis: count and get state: count is %T", res[0])
	}
	if len(res) < 2 || res[1] == nil {
		return n, State{}, snapshotMissing, nil
	}
	v, ok := res[1].(string)
	if !ok {
		return 0, State{}, nil, fmt.Errorf("redis: count and get state: state is %T", res[1])
	}
	st, snap, err := decodeState([]byte(v))
	return n, st, snap, err
}

// casScript sets KEYS[1] to ARGV[2] with a TTL of ARGV[3] ms only if it
// still holds ARGV[1] ("" for a key that does not exist): the write half of
// Update's read-modify-write, in one round trip.
//
// A key that already holds ARGV[2] is a success too: this very write, sent
// again after its reply was lost (a retried command, a batch the
// connection dropped), must not read as a conflict, or the step would be
// applied a second time on top of itself. (ARGV[2] carries a token of the
// write, so another writer's state never equals it.)
var casScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[2] then
	return 1
end
if (cur == false and ARGV[1] == '') or cur == ARGV[1] then
	redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
	return 1
end
return 0`)

// Update implements StateStore: read the state, apply fn, and write it
// back only if nobody changed it meanwhile (compare-and-set in a Lua
// script), else start again. Two round trips, no connection held across
// fn.
func (s *RedisStateStore) Update(ctx context.Context, userID int64, fn func(*State) error) (State, error) {
	st, _, err := s.UpdateSnapshot(ctx, userID, nil, fn)
	return st, err
}

// UpdateSnapshot implements SnapshotStore: as Update, but the first attempt
// starts from snap (when not nil) instead of a GET, so a state read at the
// start of the update is written back in one round trip. The
// compare-and-set against snap catches any writer in between.
func (s *RedisStateStore) UpdateSnapshot(ctx context.Context, userID int64, snap Snapshot, fn func(*State) error) (State, Snapshot, error) {
	key := s.key(userID)
	ttl := strconv.FormatInt(s.ttl.Milliseconds(), 10)
	for attempt := 0; attempt < 50; attempt++ {
		var st State
		c, err := s.hot(ctx)
		if err != nil {
			return State{}, nil, unavailable("redis: save state", err)
		}
		old := []byte(snap)
		if attempt > 0 || snap == nil {
			old, err = c.Get(ctx, key).Bytes()
			switch {
			case errors.Is(err, redis.Nil):
				old = nil
			case err != nil:
				return State{}, nil, unavailable("redis: get state", err)
			}
		}
		if len(old) > 0 {
			if err := decodeStateInto(old, &st); err != nil {
				return State{}, nil, fmt.Errorf("redis: decode state: %w", err)
			}
		}
		if err := fn(&st); err != nil {
			return State{}, nil, err
		}
		st.Version++
		// The stored JSON carries a token of this write ("w", not part of
		// State): casScript takes a key that already holds exactly this
		// value for this write, sent again after its reply was lost —
		// never for another writer's state, however equal.
		enc := encodeState(st, s.callToken())
		ok, err := casScript.Run(ctx, c, []string{key}, old, enc, ttl).Int()
		if err != nil {
			return State{}, nil, unavailable("redis: save state", err)
		}
		if ok == 1 {
			return st, Snapshot(enc), nil
		}
	}
	return State{}, nil, ErrConflict
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
	if lockHeld(ctx) {
		n, err := firstSeenScript.Run(ctx, s.rdb, []string{s.Prefix + "seen:" + key}, max(ttl.Milliseconds(), 1)).Int()
		if err != nil {
			return false, unavailable("redis: first seen", err)
		}
		return n == 1, nil
	}
	n, err := setOnceScript.Run(ctx, s.rdb, []string{s.Prefix + "seen:" + key}, s.callToken(), max(ttl.Milliseconds(), 1)).Int()
	if err != nil {
		return false, unavailable("redis: first seen", err)
	}
	return n == 1, nil
}

// setOnceScript sets KEYS[1] to ARGV[1] for ARGV[2] ms unless it exists
// (SET NX), and returns 1 when it set it — or when the key already holds
// ARGV[1], a token of this very call: sent again after its reply was lost
// (the client retries once), the call must not read its own mark as
// someone else's (an update dropped as seen before, a chat's lock waited
// out until its lease ends).
var setOnceScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
	return 1
end
if v then
	return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`)

// SeenDone marks the update key, in progress since FirstSeen or
// SeenCountGet, as done for ttl: from then on it is a repeat. ctx is the
// one LockChat returned: nothing is written without the lock (the first
// mark already means done), or when the lock was
// lost meanwhile (another replica may have taken the update over; its mark
// is not this one's to end).
func (s *RedisStateStore) SeenDone(ctx context.Context, key string, ttl time.Duration) error {
	if !lockHeld(ctx) || errors.Is(context.Cause(ctx), ErrChatLockLost) {
		return nil
	}
	if err := s.rdb.SetXX(context.WithoutCancel(ctx), s.Prefix+"seen:"+key, 1, ttl).Err(); err != nil {
		return unavailable("redis: seen done", err)
	}
	return nil
}

// ErrChatLockLost is the cause of the cancellation of the context LockChat
// returned when the lock could not be renewed (Redis did not answer for
// most of its lease, or it ran out and another holder took it): the
// update is then another replica's to handle, and this one's handling is
// stopped.
var ErrChatLockLost = errors.New("redis: the chat's lock was lost")

// chatLockKey marks a context returned by LockChat.
type chatLockKey struct{}

func lockHeld(ctx context.Context) bool { return ctx.Value(chatLockKey{}) != nil }

func untilDone(on bool) string {
	if on {
		return "1"
	}
	return "0"
}

// unlockScript deletes the lock KEYS[1] only if it still holds this
// holder's token ARGV[1] (it may have run out and been taken by another).
var unlockScript = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)

// renewScript extends the lock KEYS[1] to ARGV[2] ms if it still holds
// this holder's token ARGV[1].
var renewScript = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`)

// LockChat takes the lock named key, waiting while another holder (another
// replica of the bot) has it, until ctx is done. The lock is a lease of
// ttl, renewed every ttl/3 while held: unlock releases it, and a holder
// that dies (SIGKILL, a lost machine) leaves it to run out within ttl, so
// the chat waits for the other replicas only that long. The context it
// returns, for the work done under the lock, is cancelled with
// ErrChatLockLost if the lock is lost while held (a renewal finds another
// holder, or none succeeded for two thirds of ttl), and when unlocked.
func (s *RedisStateStore) LockChat(ctx context.Context, key string, ttl time.Duration) (held context.Context, unlock func(), err error) {
	k := s.Prefix + "lock:" + key
	var b [12]byte
	rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	for wait := 2 * time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		n, err := setOnceScript.Run(ctx, s.rdb, []string{k}, token, max(ttl.Milliseconds(), 1)).Int()
		if err != nil {
			return nil, nil, fmt.Errorf("redis: lock: %w", err)
		}
		if n == 1 {
			held, cancel := context.WithCancelCause(context.WithValue(ctx, chatLockKey{}, token))
			stop := make(chan struct{})
			renewed := make(chan struct{})
			go func() {
				defer close(renewed)
				t := time.NewTicker(max(ttl/3, time.Millisecond))
				defer t.Stop()
				last := time.Now()
				for {
					select {
					case <-stop:
						return
					case <-t.C:
						rctx, cancelRenew := context.WithTimeout(context.Background(), ttl/3+time.Second)
						n, err := renewScript.Run(rctx, s.rdb, []string{k}, token, ttl.Milliseconds()).Int()
						cancelRenew()
						switch {
						case err == nil && n == 1:
							last = time.Now()
						case err == nil || time.Since(last) > ttl*2/3:
							// Taken by another holder, or about to run out.
							cancel(ErrChatLockLost)
							return
						}
					}
				}
			}()
			var once sync.Once
			return held, func() {
				once.Do(func() {
					close(stop)
					<-renewed
					unlockScript.Run(context.WithoutCancel(ctx), s.rdb, []string{k}, token)
					cancel(nil)
				})
			}, nil
		}
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(wait):
		}
	}
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
func (s *RedisStateStore) Close() error {
	if s.pipe != nil {
		s.pipe.Close() // and its auto-pipeliner
	}
	return s.rdb.Close()
}
