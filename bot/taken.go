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
	// Taken returns the answers kept, oldest first, and forgets those
	// written more than maxAge ago.
	Taken(ctx context.Context, key string, maxAge time.Duration) (ids []int, answers [][]byte, err error)
}

// maxDrop bounds the answers a TakenLog is to drop that wait for a write
// that keeps failing (Redis down): past it the oldest are forgotten here
// and stay in the log, to be handed on, and skipped as handled, at a next
// start.
const maxDrop = 20000

// capDrop keeps the newest maxDrop of drop.
func capDrop(drop []int) []int {
	if n := len(drop); n > maxDrop {
		drop = append(drop[:0], drop[n-maxDrop:]...)
	}
	return drop
}

// TakenTTL is how long a TakenLog outlives the last answer kept in it: as
// long as the seen marks that skip an update handled already (Telegram
// keeps an update 24 h too).
const TakenTTL = 24 * time.Hour

// TakenKey is the name of the TakenLog of the bot botID.
func TakenKey(botID int64) string { return strconv.FormatInt(botID, 10) }

// readTaken calls fn with each answer the log holds, oldest first, decoded.
// An answer that cannot be read is logged and handed to fn without
// updates (to be dropped). Reading is tried again while Redis fails (the
// bot starting with Redis, say), for about 15 s; then the process goes on
// without, and what the log holds waits for a next start.
func readTaken(ctx context.Context, log TakenLog, key string, lg *slog.Logger, fn func(id int, ups []tgbotapi.Update) error) error {
	var ids []int
	var answers [][]byte
	var err error
	for wait := 500 * time.Millisecond; ; wait *= 2 {
		// Not older than the seen marks that tell what was handled, nor
		// than Telegram keeps an update: an answer left by a field
		// nobody dropped is not handed on days later.
		if ids, answers, err = log.Taken(ctx, key, TakenTTL); err == nil {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if wait > 8*time.Second {
			lg.Error("reading the updates taken before the last stop failed; going on without them", "err", err)
			return nil
		}
		lg.Warn("reading the updates taken before the last stop failed; retrying", "err", err, "wait", wait)
		if sleepCtx(ctx, wait) != nil {
			return ctx.Err()
		}
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

// WebhookTaken keeps each update a Webhook receives in the TakenLog before
// it is answered: one HSET each. The updates handled are dropped, and the
// log's expiry renewed, every flushEvery, and by Flush at a graceful stop
// (after the dispatcher's Stop). NewWebhookTaken makes one; ServeWebhook
// (WebhookOptions.Taken) hands on what the log holds before serving.
type WebhookTaken struct {
	log TakenLog
	key string
	d   *Dispatcher
	lg  *slog.Logger

	kept atomic.Bool // since the last flush
	drop []int       // flush's: handled, to drop at its next write
	// in and left count the updates of the answers handed on from the
	// log that are not one update kept as its id (getUpdates answers,
	// after a switch from long polling): the answer each update came in,
	// and how many of an answer's are not yet handled. flush's, once
	// serving.
	in   map[int]int
	left map[int]int
}

// NewWebhookTaken returns the webhook's keeper of the TakenLog of the bot
// botID, whose updates d handles.
func NewWebhookTaken(log TakenLog, botID int64, d *Dispatcher, lg *slog.Logger) *WebhookTaken {
	if lg == nil {
		lg = slog.Default()
	}
	return &WebhookTaken{log: log, key: TakenKey(botID), d: d, lg: lg}
}

// flushEvery is how often a webhook's TakenLog drops the updates handled.
const flushEvery = 100 * time.Millisecond

// keep writes the update id (its JSON body) to the log, as an answer of
// one update. If Redis fails, the update is handled all the same (the
// handlers need Redis too).
func (w *WebhookTaken) keep(ctx context.Context, id int, body []byte) {
	answer := make([]byte, 0, len(answerHead)+len(body)+2)
	answer = append(append(append(answer, answerHead...), body...), "]}"...)
	if err := w.log.KeepTaken(ctx, w.key, nil, id, answer, 0); err != nil {
		w.lg.Warn("webhook: keeping the update taken failed; handling it all the same", "err", err)
		return
	}
	w.kept.Store(true)
}

// Flush drops the updates handled since the last flush (an answer of
// several, after a switch from long polling, once all of them are) and
// renews the log's expiry, if anything changed. Not to be called while
// ServeWebhook runs: it flushes on its own.
func (w *WebhookTaken) Flush(ctx context.Context) error {
	n := len(w.drop)
	w.drop = w.d.takeDone(w.drop)
	if len(w.in) > 0 {
		// An update of an answer of several: the answer once all are.
		kept := w.drop[:n]
		for _, id := range w.drop[n:] {
			f, ok := w.in[id]
			if !ok {
				kept = append(kept, id)
				continue
			}
			delete(w.in, id)
			if w.left[f]--; w.left[f] == 0 {
				delete(w.left, f)
				kept = append(kept, f)
			}
		}
		w.drop = kept
	}
	if len(w.drop) == 0 && !w.kept.Swap(false) {
		return nil
	}
	if err := w.log.KeepTaken(ctx, w.key, w.drop, 0, nil, TakenTTL); err != nil {
		w.drop = capDrop(w.drop)
		return err
	}
	w.drop = w.drop[:0]
	return nil
}

// flushing calls flush every flushEvery until ctx is done.
func (w *WebhookTaken) flushing(ctx context.Context) {
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := w.Flush(ctx); err != nil && ctx.Err() == nil {
				w.lg.Warn("webhook: dropping the updates handled from the log failed", "err", err)
			}
		}
	}
}

// answerHead begins a getUpdates answer.
const answerHead = `{"ok":true,"result":[`

// handOnTaken hands on the updates the last process left in the log, in
// their order.
func (w *WebhookTaken) handOnTaken(ctx context.Context) error {
	n := 0
	err := readTaken(ctx, w.log, w.key, w.lg, func(id int, ups []tgbotapi.Update) error {
		if len(ups) == 0 {
			w.drop = append(w.drop, id)
		}
		for _, u := range ups {
			if err := w.d.Dispatch(ctx, u); err != nil {
				return err
			}
			n++
			if len(ups) > 1 || u.UpdateID != id {
				if w.in == nil {
					w.in, w.left = map[int]int{}, map[int]int{}
				}
				w.in[u.UpdateID] = id
				w.left[id]++
			}
		}
		return nil
	})
	tookOver(w.lg, n)
	return err
}
