package handlers

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/bot"
	"github.com/dostyq/dostyq/locales"
	"github.com/dostyq/dostyq/storage"
	"github.com/dostyq/dostyq/storage/storagetest"
)

// nopSender takes every message and sends nothing: the benchmarks measure
// the handlers, not the Bot API.
type nopSender struct{}

func (nopSender) Send(context.Context, bot.Message) (int, error)       { return 1, nil }
func (nopSender) AnswerCallback(context.Context, string, string) error { return nil }

// benchHandlers are handlers on a real SQLite with the test directory and
// real Redis (REDIS_URL, else miniredis), flood control on as in serve.
func benchHandlers(b *testing.B) *Handlers {
	b.Helper()
	cat, err := locales.Load()
	if err != nil {
		b.Fatal(err)
	}
	db := storagetest.DBAt(b, filepath.Join(b.TempDir(), "dostyq.db"), time.Now)
	db.CacheUsers(storage.LastSeenEvery) // as serve does
	gaz := testGazetteer(b)
	f, err := os.Open("../testdata/directory-test.csv")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, err := db.ImportPlaces(context.Background(), f, gaz, storage.ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	return New(Deps{DB: db, States: storagetest.States(b, time.Hour), Sender: nopSender{}, Catalog: cat, Gazetteer: gaz,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Config: Config{BotUsername: "dostyq_test_bot", FloodMessages: 1 << 30, FloodWindow: time.Minute}})
}

func textUpdate(id int, user int64, text string) tgbotapi.Update {
	m := &tgbotapi.Message{MessageID: id, From: &tgbotapi.User{ID: user, FirstName: "B", LanguageCode: "en"},
		Chat: &tgbotapi.Chat{ID: user, Type: "private"}, Text: text}
	if text != "" && text[0] == '/' {
		m.Entities = []tgbotapi.MessageEntity{{Type: "bot_command", Length: len(text)}}
	}
	return tgbotapi.Update{UpdateID: id, Message: m}
}

// BenchmarkRouteUpdate is one update through HandleUpdate: flood count,
// user, state, route, the menu rendered and sent (to nowhere), over 100
// users.
func BenchmarkRouteUpdate(b *testing.B) {
	h := benchHandlers(b)
	ctx := context.Background()
	for u := int64(1); u <= 100; u++ {
		h.HandleUpdate(ctx, textUpdate(int(u), u, "/start"))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.HandleUpdate(ctx, textUpdate(1000+i, int64(i%100+1), "/menu"))
	}
}

// BenchmarkResultPage is a shared location in the Houses of Friendship
// flow: the nearest search and the page of results rendered.
func BenchmarkResultPage(b *testing.B) {
	h := benchHandlers(b)
	ctx := context.Background()
	h.HandleUpdate(ctx, textUpdate(1, 7, "/start"))
	h.HandleUpdate(ctx, textUpdate(2, 7, "🏠 Houses of Friendship"))
	loc := textUpdate(0, 7, "")
	loc.Message.Location = &tgbotapi.Location{Latitude: 43.2389, Longitude: 76.8897}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		loc.UpdateID = 10 + i
		h.HandleUpdate(ctx, loc)
	}
}
