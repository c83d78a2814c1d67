package bot

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
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
	// drop are the answers to forget at the next write; done the ids of
	// the updates handled since the last one.
	inBatch map[int]int // update handed on and not yet handled → its answer's id
	left    map[int]int // answer's id → its updates not yet handled
	drop    []int
	done    []int
	writing chan error // the write startKeep started, until kept
	// replayed are the updates handed on from the last process's log:
	// Telegram may deliver some again (those it had not been confirmed),
	// which are then not handed on twice; nil once the offset is past
	// them all.
	replayed    map[int]bool
	replayedMax int

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

// takenBatch is an answer kept in the TakenLog (as id): ids its updates
// handed on.
type takenBatch struct {
	id  int
	ids []int
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
		var onAnswer func([]byte)
		if p.Taken != nil && cfg.Offset > 0 {
			onAnswer = p.startKeep(ctx, cfg.Offset)
		}
		ups, answer, err := p.tg.getUpdates(ctx, cfg, onAnswer)
		if err != nil {
			ups = nil // what was decoded before the error is not handed on
		}
		if p.writing != nil {
			p.kept(ctx, <-p.writing, p.batchOf(ups, cfg.Offset), true)
		} else if p.Taken != nil && err == nil {
			// Not started while decoding: the first poll of a process
			// that found nothing to hand on (kept as its first update's
			// id), an answer with no update (only the answers done are
			// dropped), or one not written as Telegram writes them.
			b := p.batchOf(ups, cfg.Offset)
			if cfg.Offset == 0 && len(b.ids) > 0 {
				b.id = b.ids[0]
			}
			p.keep(ctx, b, answer)
		}
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
		id := ups[i].UpdateID
		if id < p.offset {
			continue // already taken
		}
		if !p.replayed[id] {
			if err := p.d.Dispatch(ctx, ups[i]); err != nil {
				return err
			}
		}
		p.offset = id + 1
	}
	if p.replayed != nil && p.offset > p.replayedMax {
		p.replayed = nil
	}
	return nil
}

// taken reports whether the update id was handed on before (by this
// process, or from the last one's log).
func (p *Poller) taken(id, next int) bool { return id < next || p.replayed[id] }

// startKeep returns the getUpdates hook that starts writing the answer to
// the TakenLog as id, with the answers done since the last write dropped,
// while the answer is decoded; kept takes the write's outcome. id is the
// request's offset: every update of the answer is at or above it, and
// every later answer's above them. Answers with no update (a long poll
// ending with nothing) or with an error are not written; nor one written
// otherwise than Telegram writes them, which keep writes once decoded.
//
// The write is done before the updates are handed on, and before the next
// getUpdates confirms them to Telegram: started after them, it waited
// behind their own Redis commands and held the next getUpdates back longer
// (docs/BENCHMARKS.md, eighteenth round).
func (p *Poller) startKeep(ctx context.Context, id int) func([]byte) {
	return func(answer []byte) {
		if !bytes.HasPrefix(answer, []byte(answerHead)) || bytes.HasPrefix(answer, []byte(answerHead+"]")) {
			return
		}
		p.settle()
		drop := p.drop
		ch := make(chan error, 1)
		p.writing = ch
		go func() { ch <- p.Taken.KeepTaken(ctx, p.takenKey, drop, id, answer, TakenTTL) }()
	}
}

// kept records the outcome of a write of the answer whose updates b are
// about to be handed on (written false: only the drops were written). An
// answer written with none (not one of updates after all) is dropped at
// the next write.
func (p *Poller) kept(ctx context.Context, err error, b takenBatch, written bool) {
	p.writing = nil
	if err != nil {
		if ctx.Err() == nil {
			p.log.Warn("polling: keeping the updates taken failed; handling them all the same", "err", err)
		}
		p.drop = capDrop(p.drop)
	} else {
		p.drop = p.drop[:0]
	}
	if len(b.ids) > 0 {
		p.track(b)
	} else if written {
		p.drop = append(p.drop, b.id) // perhaps written even if err: dropping a missing field is harmless
	}
}

// keep writes answer, whose updates b are about to be handed on, to the
// TakenLog, with the answers whose updates have all been handled since
// the last write dropped. If Redis fails, the updates are handled all the
// same (the handlers need Redis too), and the answers done are dropped at
// the next write.
func (p *Poller) keep(ctx context.Context, b takenBatch, answer []byte) {
	p.settle()
	if len(b.ids) == 0 {
		answer = nil
		if len(p.drop) == 0 {
			return
		}
	}
	p.kept(ctx, p.Taken.KeepTaken(ctx, p.takenKey, p.drop, b.id, answer, TakenTTL), b, false)
}

// batchOf is the batch of ups that will be handed on (those not taken
// before), kept as id.
func (p *Poller) batchOf(ups []tgbotapi.Update, id int) takenBatch {
	b := takenBatch{id: id}
	next := p.offset
	for i := range ups {
		if u := ups[i].UpdateID; !p.taken(u, next) {
			b.ids = append(b.ids, u)
			next = u + 1
		}
	}
	return b
}

// track counts b's updates as handed on and not yet handled.
func (p *Poller) track(b takenBatch) {
	if p.inBatch == nil {
		p.inBatch, p.left = map[int]int{}, map[int]int{}
	}
	for _, u := range b.ids {
		p.inBatch[u] = b.id
	}
	p.left[b.id] += len(b.ids)
}

// settle counts the updates handled since the last call against their
// answers (by id: an answer's updates need not be one run of ids); an
// answer with none left goes to drop.
func (p *Poller) settle() {
	p.done = p.d.takeDone(p.done[:0])
	for _, u := range p.done {
		id, ok := p.inBatch[u]
		if !ok {
			continue
		}
		delete(p.inBatch, u)
		if p.left[id]--; p.left[id] <= 0 {
			delete(p.left, id)
			p.drop = append(p.drop, id)
		}
	}
}

// handOnTaken hands on the updates of the answers the TakenLog kept from
// the last process, oldest first (they stay in the log until handled).
// The offset stays: Telegram gives again what it had not been confirmed
// (the last answer the killed process took, or a webhook's requests in
// flight when it died), and those of them handed on here are skipped.
func (p *Poller) handOnTaken(ctx context.Context) error {
	n := 0
	err := readTaken(ctx, p.Taken, p.takenKey, p.log, func(id int, ups []tgbotapi.Update) error {
		b := takenBatch{id: id}
		for i := range ups {
			u := ups[i].UpdateID
			if p.replayed[u] {
				continue
			}
			if err := p.d.Dispatch(ctx, ups[i]); err != nil {
				return err
			}
			if p.replayed == nil {
				p.replayed = map[int]bool{}
			}
			p.replayed[u], p.replayedMax = true, max(p.replayedMax, u)
			b.ids = append(b.ids, u)
		}
		if len(b.ids) == 0 {
			p.drop = append(p.drop, b.id)
			return nil
		}
		n += len(b.ids)
		p.track(b)
		return nil
	})
	tookOver(p.log, n)
	return err
}

// Confirm tells Telegram that every update taken so far is done, so that
// a restart does not receive them again, and drops them from the
// TakenLog. Call it after the dispatcher has handled them all. What the
// log holds that this process did not hand on (a replay cut short by the
// stop) stays for the next start.
func (p *Poller) Confirm(ctx context.Context) error {
	var err error
	if p.offset > 0 {
		_, _, err = p.tg.getUpdates(ctx, tgbotapi.UpdateConfig{Offset: p.offset, Limit: 1, Timeout: 0, AllowedUpdates: AllowedUpdates}, nil)
	}
	if p.Taken == nil {
		return err
	}
	// Dropped even if Telegram did not answer: they were handled.
	p.settle()
	if len(p.drop) > 0 {
		if derr := p.Taken.KeepTaken(ctx, p.takenKey, p.drop, 0, nil, TakenTTL); derr != nil {
			return errors.Join(err, derr)
		}
		p.drop = p.drop[:0]
	}
	return err
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
