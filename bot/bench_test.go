package bot

import (
	"context"
	"sync"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/bot/bottest"
	"github.com/dostyq/dostyq/storage"
)

// BenchmarkDispatch measures the dispatcher's own cost per update (queueing,
// dedupe in memory, handing over), over 1,000 chats.
func BenchmarkDispatch(b *testing.B) {
	var wg sync.WaitGroup
	d := NewDispatcher(handlerFunc(func(ctx context.Context, u tgbotapi.Update) { wg.Done() }),
		DispatcherOptions{Workers: 16, Dedupe: storage.NewMemoryStateStore(time.Hour, nil), DedupeTTL: time.Minute, Logger: quietLog()})
	defer d.Stop(context.Background())
	ups := make([]tgbotapi.Update, 1000)
	for i := range ups {
		ups[i] = update(0, int64(i+1))
	}
	b.ReportAllocs()
	b.ResetTimer()
	wg.Add(b.N)
	for i := 0; i < b.N; i++ {
		u := ups[i%len(ups)]
		u.UpdateID = i + 1
		d.Dispatch(context.Background(), u)
	}
	wg.Wait()
}

// BenchmarkSend measures one sendMessage through the sender and the real
// client to the fake Bot API on loopback, limiter off.
func BenchmarkSend(b *testing.B) {
	srv := bottest.New(bottest.Options{NoRecord: true})
	defer srv.Close()
	tg, err := NewTelegram(context.Background(), TelegramOptions{Token: srv.Token(), Endpoint: srv.Endpoint(), Logger: quietLog()})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := tg.Send(context.Background(), Message{ChatID: 1, Text: "Hello"}); err != nil {
				b.Error(err)
			}
		}
	})
}
