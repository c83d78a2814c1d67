package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
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

// BenchmarkWebhookBody measures reading and decoding one update as the
// webhook does (a callback query of the load tool's size), into a lent
// buffer against io.ReadAll (the webhook before the fifteenth round).
func BenchmarkWebhookBody(b *testing.B) {
	body := []byte(`{"update_id":123456,"callback_query":{"id":"cb98765","from":{"id":100000123,"is_bot":false,"first_name":"Citizen","language_code":"ru"},` +
		`"message":{"message_id":17,"from":{"id":1,"is_bot":true,"first_name":"Dostyq","username":"dostyq_bot"},"date":1700000000,` +
		`"chat":{"id":100000123,"type":"private"},"text":"Дома дружбы рядом с вами: страница 1 из 3"},"chat_instance":"100000123","data":"dir:house:2"}}`)
	read := map[string]func(io.Reader, int64) ([]byte, func()){
		"io.ReadAll": func(r io.Reader, _ int64) ([]byte, func()) {
			buf, _ := io.ReadAll(r)
			return buf, func() {}
		},
		"lent buffer": func(r io.Reader, size int64) ([]byte, func()) {
			bp := updateBodies.Get().(*[]byte)
			buf, _ := readBody(r, (*bp)[:0], size)
			return buf, func() { *bp = buf[:0]; updateBodies.Put(bp) }
		},
	}
	for _, name := range []string{"io.ReadAll", "lent buffer"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				buf, done := read[name](bytes.NewReader(body), int64(len(body)))
				var u tgbotapi.Update
				if err := json.Unmarshal(buf, &u); err != nil || u.CallbackQuery == nil {
					b.Fatal("not decoded:", err)
				}
				done()
			}
		})
	}
}
