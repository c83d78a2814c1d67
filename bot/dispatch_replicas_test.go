package bot

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/redis/go-redis/v9"

	"github.com/dostyq/dostyq/storage"
	"github.com/dostyq/dostyq/storage/storagetest"
)

// Two replicas (two dispatchers) on one Redis, each chat's updates given to
// them alternately, as a load balancer would: no chat is ever handled by
// both at once, every update is handled once, and a repeated update_id
// sent to the other replica is skipped.
func TestReplicasNeverHandleOneChatAtOnce(t *testing.T) {
	rdb, prefix := storagetest.Redis(t)
	store := func() *storage.RedisStateStore {
		s := storage.NewRedisStateStore(rdb, time.Hour)
		s.Prefix = prefix
		return s
	}
	const chats, perChat = 8, 12
	var mu sync.Mutex
	inFlight := map[int64]int{}
	handled := map[int]int{}
	var overlaps atomic.Int64
	h := handlerFunc(func(ctx context.Context, u tgbotapi.Update) {
		chat := u.Message.Chat.ID
		mu.Lock()
		inFlight[chat]++
		if inFlight[chat] > 1 {
			overlaps.Add(1)
		}
		handled[u.UpdateID]++
		mu.Unlock()
		time.Sleep(2 * time.Millisecond) // the handler's work
		mu.Lock()
		inFlight[chat]--
		mu.Unlock()
	})
	var replicas []*Dispatcher
	for range 2 {
		s := store()
		replicas = append(replicas, NewDispatcher(h, DispatcherOptions{Workers: 8, Dedupe: s, Locker: s, BotID: 7}))
	}
	ctx := context.Background()
	id := 0
	for i := range perChat {
		for c := range chats {
			id++
			u := update(id, int64(100+c))
			if err := replicas[(i+c)%2].Dispatch(ctx, u); err != nil {
				t.Fatal(err)
			}
			if i == 0 && c == 0 {
				// Telegram posts it again, to the other replica.
				if err := replicas[1].Dispatch(ctx, u); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for _, d := range replicas {
		if err := d.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := overlaps.Load(); n > 0 {
		t.Errorf("a chat was handled by both replicas at once %d times", n)
	}
	if len(handled) != chats*perChat {
		t.Errorf("%d updates handled, want %d", len(handled), chats*perChat)
	}
	for id, n := range handled {
		if n != 1 {
			t.Errorf("update %d handled %d times", id, n)
		}
	}
}

// With DispatchWait (the webhook of replicas), a chat's updates posted to
// the replicas in turn, each after the previous one was answered, are
// handled in the order they were posted, however long each one takes.
func TestDispatchWaitKeepsOrderAcrossReplicas(t *testing.T) {
	rdb, prefix := storagetest.Redis(t)
	const chats, perChat = 6, 10
	var mu sync.Mutex
	order := map[int64][]int{}
	h := handlerFunc(func(ctx context.Context, u tgbotapi.Update) {
		// The first updates are the slowest: answering on receipt would
		// let the next one, on the other replica, overtake them.
		time.Sleep(time.Duration(perChat-u.UpdateID%100) * time.Millisecond)
		mu.Lock()
		order[u.Message.Chat.ID] = append(order[u.Message.Chat.ID], u.UpdateID%100)
		mu.Unlock()
	})
	var replicas []*Dispatcher
	for range 2 {
		s := storage.NewRedisStateStore(rdb, time.Hour)
		s.Prefix = prefix
		replicas = append(replicas, NewDispatcher(h, DispatcherOptions{Workers: 4, Dedupe: s, Locker: s, BotID: 8}))
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for c := range chats {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perChat {
				if err := replicas[i%2].DispatchWait(ctx, update((c+1)*1000+i, int64(200+c))); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, d := range replicas {
		if err := d.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for c := range chats {
		got := order[int64(200+c)]
		for i, n := range got {
			if n != i {
				t.Errorf("chat %d handled in the order %v", 200+c, got)
				break
			}
		}
		if len(got) != perChat {
			t.Errorf("chat %d: %d updates handled, want %d", 200+c, len(got), perChat)
		}
	}
	if err := replicas[0].DispatchWait(ctx, update(99999, 1)); err == nil {
		t.Error("DispatchWait after Stop: no error")
	}
}

// A chat lock is a lease renewed while held: it outlives its ttl while the
// holder works, and is free at once when released.
func TestChatLockLeaseIsRenewed(t *testing.T) {
	rdb, prefix := storagetest.Redis(t)
	s := storage.NewRedisStateStore(rdb, time.Hour)
	s.Prefix = prefix
	ctx := context.Background()
	_, unlock, err := s.LockChat(ctx, "c1", 600*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // over two ttls: renewed meanwhile
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	_, _, err = s.LockChat(short, "c1", 150*time.Millisecond)
	cancel()
	if err == nil {
		t.Fatal("took a lock held (and renewed) by another")
	}
	unlock()
	unlock() // twice is harmless
	short, cancel = context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, again, err := s.LockChat(short, "c1", 150*time.Millisecond)
	if err != nil {
		t.Fatalf("the released lock: %v", err)
	}
	again()
}

// A replica that dies (SIGKILL) while handling an update never answers the
// webhook, so the update is delivered again, to another replica: that one
// waits for the dead one's chat lock to run out and then handles the
// update, once; a third delivery, after it was handled, is skipped.
func TestUpdateOfADeadReplicaIsHandledByTheNext(t *testing.T) {
	client, advance := redisServer(t)
	prefix := fmt.Sprintf("test:%s:%d:", t.Name(), rand.Int64())
	store := func(rdb *redis.Client) *storage.RedisStateStore {
		s := storage.NewRedisStateStore(rdb, time.Hour)
		s.Prefix = prefix
		return s
	}
	const lease = 300 * time.Millisecond

	// Replica A takes update 1 of chat 50 and hangs in it; then its
	// connection to Redis goes, as the process does when killed.
	rdbA := client()
	started, release := make(chan struct{}), make(chan struct{})
	a := NewDispatcher(handlerFunc(func(ctx context.Context, u tgbotapi.Update) {
		close(started)
		<-release
	}), DispatcherOptions{Workers: 2, Dedupe: store(rdbA), Locker: store(rdbA), LockLease: lease, BotID: 9, Logger: quietLog()})
	defer func() {
		close(release)
		a.Stop(context.Background())
	}()
	if err := a.Dispatch(context.Background(), update(1, 50)); err != nil {
		t.Fatal(err)
	}
	<-started
	rdbA.Close()

	var mu sync.Mutex
	handled := map[int]int{}
	b := NewDispatcher(handlerFunc(func(ctx context.Context, u tgbotapi.Update) {
		mu.Lock()
		handled[u.UpdateID]++
		mu.Unlock()
	}), DispatcherOptions{Workers: 2, Dedupe: store(client()), Locker: store(client()), LockLease: lease, BotID: 9, Logger: quietLog()})
	defer stop(t, b)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	waited := make(chan error, 1)
	go func() { waited <- b.DispatchWait(ctx, update(1, 50)) }()
	for done := false; !done; {
		select {
		case err := <-waited:
			if err != nil {
				t.Fatalf("the update delivered again to replica B: %v", err)
			}
			done = true
		case <-time.After(20 * time.Millisecond):
			advance(50 * time.Millisecond) // miniredis keeps no clock of its own
		}
	}
	for _, u := range []tgbotapi.Update{update(1, 50), update(2, 50)} {
		if err := b.DispatchWait(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if handled[1] != 1 {
		t.Errorf("the update whose replica died was handled %d times by the next, want once", handled[1])
	}
	if handled[2] != 1 {
		t.Errorf("the chat's next update was handled %d times, want once", handled[2])
	}
	if b.Stats().Duplicates != 1 {
		t.Errorf("duplicates skipped = %d, want 1 (the delivery after it was handled)", b.Stats().Duplicates)
	}
}

// redisServer gives new clients of one Redis (REDIS_URL, or a miniredis of
// the test) and a function that moves a miniredis clock on (keys expire by
// it); a real Redis keeps time itself.
func redisServer(t *testing.T) (client func() *redis.Client, advance func(time.Duration)) {
	t.Helper()
	var opts *redis.Options
	advance = func(time.Duration) {}
	if url := os.Getenv("REDIS_URL"); url != "" {
		var err error
		if opts, err = redis.ParseURL(url); err != nil {
			t.Fatalf("REDIS_URL: %v", err)
		}
	} else {
		mr := miniredis.RunT(t)
		opts = &redis.Options{Addr: mr.Addr()}
		advance = mr.FastForward
	}
	return func() *redis.Client {
		rdb := redis.NewClient(opts)
		t.Cleanup(func() { rdb.Close() })
		return rdb
	}, advance
}

// losingLocker is a chat lock whose first holder loses it (its context
// cancelled) when lose is closed, as when Redis stops answering the
// holder's renewals; later holders keep it.
type losingLocker struct {
	lose  chan struct{}
	taken atomic.Int64
}

func (l *losingLocker) LockChat(ctx context.Context, key string, ttl time.Duration) (context.Context, func(), error) {
	held, cancel := context.WithCancel(ctx)
	if l.taken.Add(1) == 1 {
		go func() {
			select {
			case <-l.lose:
				cancel()
			case <-held.Done():
			}
		}()
	}
	return held, cancel, nil
}

// An update whose chat lock is lost while it is handled does not count as
// handled: the webhook answers 503, so Telegram delivers it again and the
// replica that now holds the lock takes it over. With the lock kept, it
// counts as handled.
func TestLostChatLockLeavesTheUpdateUnhandled(t *testing.T) {
	lock := &losingLocker{lose: make(chan struct{})}
	d := NewDispatcher(handlerFunc(func(ctx context.Context, u tgbotapi.Update) {
		if u.UpdateID == 1 {
			close(lock.lose)
			<-ctx.Done() // the work under the lost lock is cancelled
		}
	}), DispatcherOptions{Workers: 2, Locker: lock, BotID: 10, Logger: quietLog()})
	defer stop(t, d)
	ctx := context.Background()
	if err := d.DispatchWait(ctx, update(1, 60)); !errors.Is(err, ErrNotHandled) {
		t.Errorf("an update whose lock was lost: DispatchWait = %v, want ErrNotHandled (503)", err)
	}
	if err := d.DispatchWait(ctx, update(2, 60)); err != nil {
		t.Errorf("an update handled under its lock: %v", err)
	}
}
