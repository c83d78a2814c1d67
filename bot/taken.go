package bot

import (
	"context"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// TakenLog keeps the updates the bot took from Telegram and has not seen
// handled, as Telegram sent them; storage.RedisStateStore implements it (a
// hash in Redis). Telegram holds an update until the bot confirms it — the
// next getUpdates, or the webhook's answer — and the bot confirms before
// it has handled the update, so that the updates of many chats are
// handled at once. A process killed in between (SIGKILL, a lost machine)
// would lose the updates it took and had not handled; with a TakenLog the
// next start hands them on first, and those the killed process had handled
// are skipped as repeats (the dispatcher's dedupe). The Poller keeps each
// getUpdates answer, the Webhook each update (as a one-update answer).
//
// key names the bot's log (TakenKey), id an answer in it (the id of its
// first update).
type TakenLog interface {
	// KeepTaken forgets the answers drop and adds answer as id (unless it
	// is nil), in one write, and keeps the log for ttl (with ttl 0 its
	// expiry is left as it is).
	KeepTaken(ctx context.Context, key string, drop []int, id int, answer []byte, ttl time.Duration) error
	// Taken returns the answers kept, oldest first.
	Taken(ctx context.Context, key string) (ids []int, answers [][]byte, err error)
	// DropTaken forgets them all.
	DropTaken(ctx context.Context, key string) error
}

// TakenTTL is how long a TakenLog outlives the last answer kept in it: as
// long as the seen marks that skip an update handled already (Telegram
// keeps an update 24 h too).
const TakenTTL = 24 * time.Hour

// TakenKey is the name of the TakenLog of the bot botID.
func TakenKey(botID int64) string { return strconv.FormatInt(botID, 10) }

// readTaken calls fn with each answer the log holds, oldest first, decoded.
// An answer that cannot be read is logged and handed to fn without
// updates (to be dropped); a Redis failure is logged and reads nothing.
func readTaken(ctx context.Context, log TakenLog, key string, lg *slog.Logger, fn func(id int, ups []tgbotapi.Update) error) error {
	ids, answers, err := log.Taken(ctx, key)
	if err != nil {
		lg.Warn("reading the updates taken before the last stop failed", "err", err)
		return nil
	}
	for i, answer := range answers {
		ups, err := decodeUpdates(answer)
		if err != nil {
			lg.Warn("updates taken before the last stop are unreadable; skipped", "err", err)
		}
		if err := fn(ids[i], ups); err != nil {
			return err
		}
	}
	return nil
}

// tookOver logs the n updates the last process left in the TakenLog.
func tookOver(lg *slog.Logger, n int) {
	if n > 0 {
		lg.Warn("the last process stopped before it had handled every update it took; handed them on (those it had handled are skipped as repeats)", "updates", n)
	}
}

// webhookTaken keeps each update a Webhook receives in the TakenLog before
// it is answered: one HSET each. The updates handled are dropped, and the
// log's expiry renewed, every flushEvery by flush.
type webhookTaken struct {
	log TakenLog
	key string
	d   *Dispatcher
	lg  *slog.Logger

	kept atomic.Bool // since the last flush
	drop []int       // flush's: handled, to drop at its next write
}

// flushEvery is how often a webhook's TakenLog drops the updates handled.
const flushEvery = 100 * time.Millisecond

// keep writes the update id (its JSON body) to the log, as an answer of
// one update. If Redis fails, the update is handled all the same (the
// handlers need Redis too).
func (w *webhookTaken) keep(ctx context.Context, id int, body []byte) {
	answer := make([]byte, 0, len(answerHead)+len(body)+2)
	answer = append(append(append(answer, answerHead...), body...), "]}"...)
	if err := w.log.KeepTaken(ctx, w.key, nil, id, answer, 0); err != nil {
		w.lg.Warn("webhook: keeping the update taken failed; handling it all the same", "err", err)
		return
	}
	w.kept.Store(true)
}

// flush drops the updates handled since the last flush and renews the
// log's expiry, if anything changed.
func (w *webhookTaken) flush(ctx context.Context) {
	w.drop = w.d.takeDone(w.drop)
	if len(w.drop) == 0 && !w.kept.Swap(false) {
		return
	}
	if err := w.log.KeepTaken(ctx, w.key, w.drop, 0, nil, TakenTTL); err != nil {
		if ctx.Err() == nil {
			w.lg.Warn("webhook: dropping the updates handled from the log failed", "err", err)
		}
		return
	}
	w.drop = w.drop[:0]
}

// flushing calls flush every flushEvery until ctx is done.
func (w *webhookTaken) flushing(ctx context.Context) {
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.flush(ctx)
		}
	}
}

// answerHead begins a getUpdates answer.
const answerHead = `{"ok":true,"result":[`

// handOnTaken hands on the updates the last process left in the log, in
// their order.
func (w *webhookTaken) handOnTaken(ctx context.Context) error {
	n := 0
	err := readTaken(ctx, w.log, w.key, w.lg, func(id int, ups []tgbotapi.Update) error {
		if len(ups) == 0 {
			w.drop = append(w.drop, id)
		}
		for _, u := range ups {
			n++
			if err := w.d.Dispatch(ctx, u); err != nil {
				return err
			}
		}
		return nil
	})
	tookOver(w.lg, n)
	return err
}
