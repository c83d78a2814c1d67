package bot

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

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
	unlock, err := s.LockChat(ctx, "c1", 600*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // over two ttls: renewed meanwhile
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	_, err = s.LockChat(short, "c1", 150*time.Millisecond)
	cancel()
	if err == nil {
		t.Fatal("took a lock held (and renewed) by another")
	}
	unlock()
	unlock() // twice is harmless
	short, cancel = context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	again, err := s.LockChat(short, "c1", 150*time.Millisecond)
	if err != nil {
		t.Fatalf("the released lock: %v", err)
	}
	again()
}
