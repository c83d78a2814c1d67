package bot

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Limiter keeps outgoing messages within Telegram's limits: about 30 a
// second in all, one a second per private chat (with a small burst), 20 a
// minute per group (negative chat ids). Wait blocks until a message may go.
//
// Each limit is a token bucket kept as a "theoretical arrival time"
// (GCRA): a message reserves the earliest moment both its chat's bucket
// and the global bucket allow, and waits until then.
type Limiter struct {
	mu      sync.Mutex
	global  bucket
	chats   map[int64]*bucket
	chat    bucket // template for private chats
	group   bucket // template for groups
	swept   time.Time
	shared  *sharedBucket // the global bucket in Redis, when set
	now     func() time.Time
	sleep   func(ctx context.Context, d time.Duration) error
	enabled bool
}

// LimiterOptions configure NewLimiter; zero fields take Telegram's limits.
type LimiterOptions struct {
	// Global is messages a second in all (default 30); a negative value
	// turns the limiter off.
	Global float64
	// Chat is messages a second to one private chat (default 1) and
	// ChatBurst how many may go at once (default 3).
	Chat      float64
	ChatBurst int
	// Redis, when set, keeps the global bucket in Redis under RedisKey
	// (default "dostyq:send:global"), shared by every replica of the bot,
	// so Global is the limit of them all together. Per-chat buckets stay
	// in each replica. If Redis fails, a replica falls back to its own
	// global bucket until Redis answers again.
	Redis    redis.Scripter
	RedisKey string
	// Now and Sleep replace the clock in tests.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

type bucket struct {
	tat      time.Time     // when the bucket is full again
	interval time.Duration // one token every interval
	burst    int
}

// NewLimiter returns a limiter.
func NewLimiter(o LimiterOptions) *Limiter {
	if o.Global == 0 {
		o.Global = 30
	}
	if o.Chat == 0 {
		o.Chat = 1
	}
	if o.ChatBurst <= 0 {
		o.ChatBurst = 3
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleepCtx
	}
	l := &Limiter{
		chats:   map[int64]*bucket{},
		now:     o.Now,
		sleep:   o.Sleep,
		enabled: o.Global > 0,
		group:   bucket{interval: 3 * time.Second, burst: 1},
	}
	if l.enabled {
		l.global = bucket{interval: every(o.Global), burst: max(1, int(o.Global/6))}
		l.chat = bucket{interval: every(o.Chat), burst: o.ChatBurst}
		if o.Redis != nil {
			if o.RedisKey == "" {
				o.RedisKey = "dostyq:send:global"
			}
			l.shared = &sharedBucket{rdb: o.Redis, key: o.RedisKey}
		}
	}
	return l
}

func every(perSecond float64) time.Duration {
	if perSecond <= 0 {
		return 0
	}
	return time.Duration(float64(time.Second) / perSecond)
}

// reserve takes a token at the earliest moment at or after t and returns
// that moment.
func (b *bucket) reserve(t time.Time) time.Time {
	if b.interval == 0 {
		return t
	}
	tat := b.tat
	if tat.Before(t) {
		tat = t
	}
	at := tat.Add(-time.Duration(b.burst-1) * b.interval)
	if at.Before(t) {
		at = t
	}
	b.tat = tat.Add(b.interval)
	return at
}

// Wait blocks until a message to chatID may be sent, or ctx is done.
func (l *Limiter) Wait(ctx context.Context, chatID int64) error {
	return l.wait(ctx, chatID, false)
}

// WaitBulk is Wait for a message of a broadcast: it takes a global slot only
// when no other message is waiting for one, so that a broadcast to
// thousands never delays the replies to users who are chatting.
func (l *Limiter) WaitBulk(ctx context.Context, chatID int64) error {
	return l.wait(ctx, chatID, true)
}

func (l *Limiter) wait(ctx context.Context, chatID int64, bulk bool) error {
	if l == nil || !l.enabled {
		return ctx.Err()
	}
	// First the chat's own slot, then a global one from that moment: a
	// chat that receives many messages waits without holding up others.
	// With Redis the chat's bucket is shared by the replicas too.
	if l.shared != nil && chatID > 0 {
		d, err := l.shared.reserveChat(ctx, chatID, l.chat)
		if err == nil {
			if d > 0 {
				if err := l.sleep(ctx, d); err != nil {
					return err
				}
			}
			return l.waitGlobal(ctx, bulk)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// Redis is down: this replica's own bucket meanwhile.
	}
	l.mu.Lock()
	now := l.now()
	b := l.chats[chatID]
	if b == nil {
		l.sweep(now)
		tmpl := l.chat
		if chatID < 0 {
			tmpl = l.group
		}
		b = &bucket{interval: tmpl.interval, burst: tmpl.burst}
		l.chats[chatID] = b
	}
	at := b.reserve(now)
	l.mu.Unlock()
	if d := at.Sub(now); d > 0 {
		if err := l.sleep(ctx, d); err != nil {
			return err
		}
	}
	return l.waitGlobal(ctx, bulk)
}

// waitGlobal takes a global slot (in Redis when shared) and waits for it.
func (l *Limiter) waitGlobal(ctx context.Context, bulk bool) error {
	for l.shared != nil {
		d, taken, err := l.shared.reserve(ctx, l.global, bulk)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			break // Redis is down: this replica's own bucket meanwhile
		}
		if !taken {
			if err := l.sleep(ctx, d); err != nil {
				return err
			}
			continue
		}
		if d > 0 {
			return l.sleep(ctx, d)
		}
		return ctx.Err()
	}
	for {
		l.mu.Lock()
		now := l.now()
		if bulk {
			// Queue behind nobody: wait until the slots reserved so far
			// are nearly used up, then look again. Two slots of slack: a
			// sleeper wakes late, and a slot nobody took is lost (a
			// broadcast kept 27/s instead of 30 with one); a reply waits
			// at most one broadcast message more.
			if backlog := l.global.tat.Sub(now); backlog > 2*l.global.interval {
				l.mu.Unlock()
				if err := l.sleep(ctx, backlog-2*l.global.interval); err != nil {
					return err
				}
				continue
			}
		}
		at := l.global.reserve(now)
		l.mu.Unlock()
		if d := at.Sub(now); d > 0 {
			return l.sleep(ctx, d)
		}
		return ctx.Err()
	}
}

// sweep forgets the buckets of chats that are full again, at most once a
// minute, so the map holds only chats that were sent to recently.
func (l *Limiter) sweep(now time.Time) {
	if now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	for id, b := range l.chats {
		if !b.tat.After(now) {
			delete(l.chats, id)
		}
	}
}

// Chats is how many chats the limiter keeps a bucket for.
func (l *Limiter) Chats() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.chats)
}
