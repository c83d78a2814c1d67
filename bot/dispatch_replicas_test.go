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
