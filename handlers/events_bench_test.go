package handlers

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/dostyq/dostyq/locales"
	"github.com/dostyq/dostyq/storage"
	"github.com/dostyq/dostyq/storage/storagetest"
)

// BenchmarkEventReminder1000 is the day-before reminder of an event with
// 1,000 confirmed volunteers (kk, ru and en in turn) queued in one writing
// transaction: the volunteers and their languages read, 1,000 messages
// written to the outbox. On SQLite, and on PostgreSQL when
// TEST_DATABASE_URL is set.
func BenchmarkEventReminder1000(b *testing.B) {
	if storagetest.Dialect() == storage.Postgres {
		b.Skip("both databases are measured in the first pass")
	}
	b.Run("sqlite", func(b *testing.B) {
		benchEventReminder(b, storagetest.DBAt(b, filepath.Join(b.TempDir(), "dostyq.db"), time.Now))
	})
	b.Run("postgres", func(b *testing.B) {
		benchEventReminder(b, storagetest.Postgres(b, time.Now))
	})
}

func benchEventReminder(b *testing.B, db *storage.DB) {
	ctx := context.Background()
	cat, err := locales.Load()
	if err != nil {
		b.Fatal(err)
	}
	h := New(Deps{DB: db, States: storagetest.States(b, time.Hour), Sender: nopSender{}, Catalog: cat, Gazetteer: testGazetteer(b),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	var e storage.Event
	if err := db.Tx(ctx, func(tx *storage.Tx) error {
		e, err = tx.CreateEvent(storage.Event{CoordinatorID: 50, Title: "Tree planting", Description: "Trees",
			StartsAt: time.Now().Add(72 * time.Hour), Region: "astana", Place: "Astana", Lat: 51.1, Lon: 71.4, Capacity: 1000})
		return err
	}); err != nil {
		b.Fatal(err)
	}
	langs := []string{"kk", "ru", "en"}
	for u := int64(1); u <= 1000; u++ {
		if _, _, err := db.TouchUser(ctx, u, langs[u%3]); err != nil {
			b.Fatal(err)
		}
	}
	if err := db.Tx(ctx, func(tx *storage.Tx) error {
		for u := int64(1); u <= 1000; u++ {
			if _, err := tx.Register(e.ID, u, false); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	remind := h.eventReminder("events.remind_day")
	timer := storage.Timer{Kind: timerEventRemindDay, Ref: strconv.FormatInt(e.ID, 10)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := db.Tx(ctx, func(tx *storage.Tx) error { return remind(tx, timer) }); err != nil {
			b.Fatal(err)
		}
	}
}
