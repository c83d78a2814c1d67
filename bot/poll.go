package bot

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync/atomic"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// AllowedUpdates are the kinds of update the bot asks Telegram for.
var AllowedUpdates = []string{"message", "callback_query"}

// Poller receives updates by long polling (getUpdates) and hands them to
// the dispatcher. The offset passed to Telegram, which confirms every
// update below it, moves past an update only after the dispatcher took it.
//
// Taken, when set, keeps each answer of getUpdates in a TakenLog before
// its updates are handed on, until they are all handled: the next
// getUpdates confirms them to Telegram before they are handled, and a
// process killed then (SIGKILL, a lost machine) would lose those not yet
// handled. Run first hands on the updates of the answers left in the log
// by the last process; those it had handled are skipped as repeats (the
// dispatcher's dedupe). One write per answer, which also drops the answers
// handled since the last one; the answer is kept as Telegram sent it, not
// encoded again.
type Poller struct {
	tg  *Telegram
	d   *Dispatcher
	log *slog.Logger

	Taken    TakenLog
	takenKey string
	// batches are the answers kept in Taken with updates not yet handled,
	// oldest first; drop those to forget at the next write; done the ids
	// of the updates handled since the last one.
	batches []takenBatch
	drop    []int
	done    []int

	// Timeout is the long-poll timeout (default 50 s); Limit the most
	// updates per answer (default 100).
	Timeout int
	Limit   int
	// MaxBackoff caps the wait after failed polls (default 30 s).
	MaxBackoff time.Duration
	sleep      func(ctx context.Context, d time.Duration) error

	offset   int
	lastPoll atomic.Int64 // unix nanoseconds of the last successful poll
}

// takenBatch is an answer kept in the TakenLog (as id): its updates handed
// on run from first to last, left of them not yet handled.
type takenBatch struct {
	id, first, last, left int
}

// LastPoll is when getUpdates last answered (the zero time before the
// first answer). Polling is healthy while it is within about a minute.
func (p *Poller) LastPoll() time.Time {
	n := p.lastPoll.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// NewPoller returns a poller for tg handing updates to d.
func NewPoller(tg *Telegram, d *Dispatcher, log *slog.Logger) *Poller {
	if log == nil {
		log = slog.Default()
	}
	return &Poller{tg: tg, d: d, log: log, Timeout: 50, Limit: 100, MaxBackoff: 30 * time.Second, sleep: sleepCtx,
		takenKey: TakenKey(tg.Self().ID)}
}

// Run deletes any webhook (getUpdates does not work while one is set) and
// polls until ctx is done. It does not stop the dispatcher.
func (p *Poller) Run(ctx context.Context) error {
	if err := p.tg.Request(ctx, tgbotapi.DeleteWebhookConfig{}); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if p.Taken != nil {
		p.d.trackHandled()
		if err := p.handOnTaken(ctx); err != nil {
			return nil // ctx done or dispatcher stopped: the log keeps them
		}
	}
	p.log.Info("polling for updates")
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		cfg := tgbotapi.UpdateConfig{Offset: p.offset, Limit: p.Limit, Timeout: p.Timeout, AllowedUpdates: AllowedUpdates}
		ups, answer, err := p.tg.getUpdates(ctx, cfg)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			backoff = nextBackoff(backoff, p.MaxBackoff)
			var ae *APIError
			if errors.As(err, &ae) && ae.RetryAfter > backoff {
				backoff = ae.RetryAfter
			}
			p.log.Warn("polling failed; retrying", "err", err, "wait", backoff.Round(time.Millisecond))
			if p.sleep(ctx, backoff) != nil {
				break
			}
			continue
		}
		backoff = 0
		p.lastPoll.Store(time.Now().UnixNano())
		if p.Taken != nil {
			// Before the updates are handed on: the write waits behind
			// none of their commands and holds the next getUpdates back
			// the least (docs/BENCHMARKS.md, eighteenth round).
			p.keep(ctx, p.batchOf(ups, 0), answer)
		}
		if err := p.handOn(ctx, ups); err != nil {
			return nil // ctx done or dispatcher stopped: leave the rest unconfirmed
		}
	}
	return nil
}

// handOn dispatches the updates not taken before and moves the offset past
// each one taken.
func (p *Poller) handOn(ctx context.Context, ups []tgbotapi.Update) error {
	for i := range ups {
		if ups[i].UpdateID < p.offset {
			continue // already taken
		}
		if err := p.d.Dispatch(ctx, ups[i]); err != nil {
			return err
		}
		p.offset = ups[i].UpdateID + 1
	}
	return nil
}

// keep writes answer, whose updates b are about to be handed on, to the
// TakenLog, with the answers whose updates have all been handled since
// the last write dropped. If Redis fails, the updates are handled all the
// same (the handlers need Redis too), and the answers done are dropped at
// the next write.
func (p *Poller) keep(ctx context.Context, b takenBatch, answer []byte) {
	p.settle()
	if b.left == 0 {
		answer = nil
		if len(p.drop) == 0 {
			return
		}
	}
	if err := p.Taken.KeepTaken(ctx, p.takenKey, p.drop, b.id, answer, TakenTTL); err != nil {
		p.log.Warn("polling: keeping the updates taken failed; handling them all the same", "err", err)
	} else {
		p.drop = p.drop[:0]
	}
	if b.left > 0 {
		p.batches = append(p.batches, b)
	}
}

// batchOf is the batch of ups that will be handed on (those not taken
// before), kept as id (its first update's id when id is 0).
func (p *Poller) batchOf(ups []tgbotapi.Update, id int) takenBatch {
	b := takenBatch{id: id}
	next := p.offset
	for i := range ups {
		if u := ups[i].UpdateID; u >= next {
			if b.left == 0 {
				b.first = u
			}
			b.last, b.left, next = u, b.left+1, u+1
		}
	}
	if b.id == 0 {
		b.id = b.first
	}
	return b
}

// settle counts the updates handled since the last call against their
// batches; a batch with none left goes to drop.
func (p *Poller) settle() {
	p.done = p.d.takeDone(p.done[:0])
	if len(p.done) == 0 {
		return
	}
	for _, id := range p.done {
		i := sort.Search(len(p.batches), func(i int) bool { return p.batches[i].last >= id })
		if i < len(p.batches) && p.batches[i].first <= id {
			p.batches[i].left--
		}
	}
	kept := p.batches[:0]
	for _, b := range p.batches {
		if b.left > 0 {
			kept = append(kept, b)
		} else {
			p.drop = append(p.drop, b.id)
		}
	}
	clear(p.batches[len(kept):])
	p.batches = kept
}

// handOnTaken hands on the updates of the answers the TakenLog kept from
// the last process, oldest first, and moves the offset past them (they
// stay in the log until handled).
func (p *Poller) handOnTaken(ctx context.Context) error {
	n := 0
	err := readTaken(ctx, p.Taken, p.takenKey, p.log, func(id int, ups []tgbotapi.Update) error {
		b := p.batchOf(ups, id)
		if b.left == 0 {
			p.drop = append(p.drop, b.id)
			return nil
		}
		n += b.left
		p.batches = append(p.batches, b)
		return p.handOn(ctx, ups)
	})
	tookOver(p.log, n)
	return err
}

// Confirm tells Telegram that every update taken so far is done, so that
// a restart does not receive them again, and empties the TakenLog. Call it
// after the dispatcher has handled them all.
func (p *Poller) Confirm(ctx context.Context) error {
	if p.offset == 0 {
		return nil
	}
	if _, _, err := p.tg.getUpdates(ctx, tgbotapi.UpdateConfig{Offset: p.offset, Limit: 1, Timeout: 0, AllowedUpdates: AllowedUpdates}); err != nil {
		return err
	}
	if p.Taken != nil {
		return p.Taken.DropTaken(ctx, p.takenKey)
	}
	return nil
}

// nextBackoff doubles the wait from 500 ms up to max, with jitter.
func nextBackoff(prev, max time.Duration) time.Duration {
	next := 2 * prev
	if next < 500*time.Millisecond {
		next = 500 * time.Millisecond
	}
	if next > max {
		next = max
	}
	return next/2 + rand.N(next/2+1)
}
