package app

import (
	"context"
	"log/slog"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/bot"
)

// logHandled wraps h so that every update handled is logged at DEBUG with
// its id and how long it took (LOG_LEVEL=debug): what an operator sees of
// each update, and how the load tool (cmd/loadtest -bin) learns that the
// bot process has handled one. Never the text, the user or the chat. A
// repeat the handler skipped is not logged here (the dispatcher logs it).
func logHandled(h bot.UpdateHandler, log *slog.Logger) bot.UpdateHandler {
	lh := handledLogger{h: h, log: log}
	if oh, ok := h.(bot.OnceHandler); ok {
		// Keep the handler's own dedupe (the dispatcher looks for it).
		return onceHandledLogger{handledLogger: lh, once: oh}
	}
	return lh
}

type handledLogger struct {
	h   bot.UpdateHandler
	log *slog.Logger
}

func (l handledLogger) HandleUpdate(ctx context.Context, u tgbotapi.Update) {
	start := time.Now()
	l.h.HandleUpdate(ctx, u)
	l.logged(ctx, u, start)
}

func (l handledLogger) logged(ctx context.Context, u tgbotapi.Update, start time.Time) {
	l.log.LogAttrs(ctx, slog.LevelDebug, "update handled", slog.Int("update_id", u.UpdateID),
		slog.Float64("ms", float64(time.Since(start).Microseconds())/1000))
}

type onceHandledLogger struct {
	handledLogger
	once bot.OnceHandler
}

func (l onceHandledLogger) HandleUpdateOnce(ctx context.Context, u tgbotapi.Update, dedupe bot.Deduper, key string, ttl time.Duration) bool {
	start := time.Now()
	repeated := l.once.HandleUpdateOnce(ctx, u, dedupe, key, ttl)
	if !repeated {
		l.logged(ctx, u, start)
	}
	return repeated
}
