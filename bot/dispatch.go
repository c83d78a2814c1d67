package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// ErrStopped is returned by Dispatch after Stop.
var ErrStopped = errors.New("bot: dispatcher stopped")

// Deduper remembers keys; storage.StateStore implements it (Redis SET NX
// with a TTL, or in memory).
type Deduper interface {
	FirstSeen(ctx context.Context, key string, ttl time.Duration) (bool, error)
}

// OnceHandler is an UpdateHandler that skips a repeated update itself, so
// that it can check the update id in the same round trip as its own first
// reads (handlers.Handlers: SET NX, the flood counter and the state in one
// Redis script). HandleUpdateOnce handles u unless dedupe has seen key
// within ttl, and reports whether it was a repeat. When the check fails it
// handles the update (better twice than never), as the Dispatcher does.
type OnceHandler interface {
	UpdateHandler
	// u is by pointer, not to be copied onto every worker's stack; it is
	// not to be kept after the call.
	HandleUpdateOnce(ctx context.Context, u *tgbotapi.Update, dedupe Deduper, key string, ttl time.Duration) (repeated bool)
}

// DoneMarker is a Deduper whose marks, under a chat lock, mean "in
// progress" until SeenDone: an update whose replica died while handling it
// is handled by the replica it is delivered to next, not skipped
// (storage.RedisStateStore). ctx is the one LockChat
// returned.
type DoneMarker interface {
	SeenDone(ctx context.Context, key string, ttl time.Duration) error
}

// ChatLockLease is how long a chat's lock outlives a replica that died
// holding it (the lock is renewed while the update is handled).
const ChatLockLease = 5 * time.Second

// ChatLocker serialises the handling of one chat's updates across replicas
// of the bot; storage.RedisStateStore implements it (SET NX with a TTL).
type ChatLocker interface {
	// LockChat returns the context to do the work under the lock in: it
	// is cancelled if the lock is lost meanwhile.
	LockChat(ctx context.Context, key string, ttl time.Duration) (held context.Context, unlock func(), err error)
}

// Dispatcher hands updates to the handler: the updates of one chat one at
// a time and in the order they came, different chats in parallel on a
// bounded number of workers. An update_id seen before is skipped, and a
// panic in the handler is logged and never kills the process.
//
// There is no goroutine per chat: a chat with pending updates is a queue in
// a map and in a ready list; a worker takes the next ready chat, handles
// one update and puts the chat back at the end of the list if it has more,
// or drops it from the map.
type Dispatcher struct {
	handler UpdateHandler
	dedupe  Deduper
	locker  ChatLocker
	lease   time.Duration
	ttl     time.Duration
	prefix  string
	timeout time.Duration
	log     *slog.Logger
	metrics *Metrics

	ctx    context.Context // handlers' context, cancelled by Stop when its grace runs out
	cancel context.CancelFunc
	slots  chan struct{} // one per update dispatched and not yet handled

	handled, duplicates, panics atomic.Int64

	mu sync.Mutex
	// idle holds the workers waiting for a chat, the last to finish last:
	// the next chat goes to it, so that under a light load a few workers
	// do the work and the others' stacks, grown by the handlers, shrink
	// back at the next collections (a sync.Cond wakes the longest waiting
	// one: every worker kept a grown stack; 5 MB of 256 workers').
	idle    []chan struct{}
	queues  map[int64]*chatQueue
	ready   []*chatQueue
	head    int
	stopped bool
	workers sync.WaitGroup
	// trackDone, set by a Poller with a TakenLog, makes the workers note
	// in done the update ids handled (or skipped as repeats), until
	// takeDone hands them over.
	trackDone bool
	done      []int
}

type chatQueue struct {
	key     int64
	updates []tgbotapi.Update
	// done holds, for each update, the channel DispatchWait waits on
	// (nil for Dispatch): sent true once handled (or skipped as seen
	// before), false when the dispatcher stopped without handling it.
	done []chan bool
}

// DefaultMaxPending is how many updates may wait or be in hand at once
// before Dispatch blocks (and with it the poller or the webhook): memory
// follows the updates in flight, not the number of users.
const DefaultMaxPending = 4096

// DispatcherOptions configure NewDispatcher.
type DispatcherOptions struct {
	Workers int // parallel updates (default 16)
	// MaxPending bounds the updates waiting; Dispatch blocks past it
	// (default DefaultMaxPending, or twice Workers if that is more).
	MaxPending int
	// Dedupe and DedupeTTL skip a repeated update_id (default TTL 24 h,
	// as long as Telegram keeps an update). Without Dedupe every update is
	// handled.
	Dedupe    Deduper
	DedupeTTL time.Duration
	// Locker, when set, takes a lock of the chat (in Redis) around the
	// handling of each update, so replicas behind one webhook never handle
	// two updates of one chat at once. Without it the per-chat queue of
	// this process is the only order. When Dedupe is also a DoneMarker, an
	// update is marked done once handled, before the lock is released.
	Locker ChatLocker
	// LockLease is the chat lock's lease (default ChatLockLease).
	LockLease time.Duration
	// BotID keeps the update ids of different bots sharing one Redis apart.
	BotID int64
	// Timeout bounds the handling of one update (default 2 min).
	Timeout time.Duration
	Logger  *slog.Logger
	// Metrics, when set, counts the repeated updates skipped (the handlers
	// count the others).
	Metrics *Metrics
}

// NewDispatcher starts the workers.
func NewDispatcher(h UpdateHandler, o DispatcherOptions) *Dispatcher {
	if o.Workers <= 0 {
		o.Workers = 16
	}
	if o.MaxPending <= 0 {
		o.MaxPending = max(DefaultMaxPending, 2*o.Workers)
	}
	if o.DedupeTTL <= 0 {
		o.DedupeTTL = 24 * time.Hour
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.LockLease <= 0 {
		o.LockLease = ChatLockLease
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	d := &Dispatcher{
		handler: h, dedupe: o.Dedupe, locker: o.Locker, lease: o.LockLease, ttl: o.DedupeTTL, prefix: "upd:" + strconv.FormatInt(o.BotID, 10) + ":", timeout: o.Timeout, log: o.Logger, metrics: o.Metrics,
		slots:  make(chan struct{}, o.MaxPending),
		queues: map[int64]*chatQueue{},
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	for i := 0; i < o.Workers; i++ {
		d.workers.Add(1)
		go d.work()
	}
	return d
}

// chatKey is what orders updates: the chat, else the user, else nothing
// (updates without either share one queue).
func chatKey(u *tgbotapi.Update) int64 {
	if c := u.FromChat(); c != nil {
		return c.ID
	}
	if f := u.SentFrom(); f != nil {
		return f.ID
	}
	return 0
}

// Dispatch queues u behind the earlier updates of its chat. It blocks
// while too many updates wait, until ctx is done.
func (d *Dispatcher) Dispatch(ctx context.Context, u tgbotapi.Update) error {
	return d.dispatch(ctx, u, nil)
}

// ErrNotHandled is DispatchWait's answer for an update the dispatcher
// dropped while stopping.
var ErrNotHandled = errors.New("dispatch: stopped before the update was handled")

// DispatchWait is Dispatch, then waits until u has been handled (or
// skipped as seen before). A webhook behind which several replicas run
// answers Telegram only then: Telegram sends a chat's next update after
// the previous one was answered, so the next one, whichever replica gets
// it, is handled after this one, and an update whose replica dies before
// handling it is delivered again. It returns ctx's error if ctx ends
// first (the update stays queued and is still handled) and ErrNotHandled
// if the dispatcher stopped without handling it.
func (d *Dispatcher) DispatchWait(ctx context.Context, u tgbotapi.Update) error {
	done := make(chan bool, 1)
	if err := d.dispatch(ctx, u, done); err != nil {
		return err
	}
	select {
	case handled := <-done:
		if !handled {
			return ErrNotHandled
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (d *Dispatcher) dispatch(ctx context.Context, u tgbotapi.Update, done chan bool) error {
	select {
	case d.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		<-d.slots
		return ErrStopped
	}
	key := chatKey(&u)
	q := d.queues[key]
	if q == nil {
		q = &chatQueue{key: key}
		d.queues[key] = q
		d.ready = append(d.ready, q)
		d.wakeOne()
	}
	q.updates = append(q.updates, u)
	q.done = append(q.done, done)
	return nil
}

// wakeOne wakes the worker that became idle last, if one is; d.mu held.
func (d *Dispatcher) wakeOne() {
	if n := len(d.idle); n > 0 {
		wake := d.idle[n-1]
		d.idle[n-1] = nil
		d.idle = d.idle[:n-1]
		wake <- struct{}{}
	}
}

func (d *Dispatcher) work() {
	defer d.workers.Done()
	// Sent to once each time the worker is taken off d.idle.
	wake := make(chan struct{}, 1)
	for {
		d.mu.Lock()
		for d.head == len(d.ready) && !d.stopped {
			d.idle = append(d.idle, wake)
			d.mu.Unlock()
			<-wake
			d.mu.Lock()
		}
		if d.head == len(d.ready) { // stopped and nothing left
			d.mu.Unlock()
			return
		}
		q := d.popReady()
		// The update is handled where it is queued, not copied: the queue's
		// head is only cleared below, and what is appended meanwhile goes
		// after it (or into a new array, leaving this one as it is).
		u, done := &q.updates[0], q.done[0]
		d.mu.Unlock()

		handled := d.handle(u)
		<-d.slots
		if done != nil {
			done <- handled
		}

		d.mu.Lock()
		if handled && d.trackDone {
			d.done = append(d.done, u.UpdateID)
		}
		q.updates[0] = tgbotapi.Update{}
		q.updates = q.updates[1:]
		q.done[0] = nil
		q.done = q.done[1:]
		if len(q.updates) > 0 {
			d.ready = append(d.ready, q)
			d.wakeOne()
		} else {
			delete(d.queues, q.key)
		}
		d.mu.Unlock()
	}
}

// popReady takes the first ready chat; the list is a slice used as a queue,
// compacted when half of it is spent.
func (d *Dispatcher) popReady() *chatQueue {
	q := d.ready[d.head]
	d.ready[d.head] = nil
	d.head++
	switch {
	case d.head == len(d.ready):
		d.ready, d.head = d.ready[:0], 0
	case d.head > 64 && d.head > len(d.ready)/2:
		n := copy(d.ready, d.ready[d.head:])
		clear(d.ready[n:])
		d.ready, d.head = d.ready[:n], 0
	}
	return q
}

// handle runs the handler on one update, unless it was seen before. It
// reports false when it dropped the update (stopping).
//
// Every worker's stack holds handle and what it calls for as long as an
// update takes, Bot API round trips included: its frame is kept small
// (the update by pointer, logging in functions of their own), so that a
// worker's stack stays within Go's first 8 KB (docs/BENCHMARKS.md, twelfth
// round).
func (d *Dispatcher) handle(u *tgbotapi.Update) (handled bool) {
	if d.ctx.Err() != nil {
		return false // Stop gave up waiting: drop what is left
	}
	ctx, cancel := context.WithTimeout(d.ctx, d.timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			handled = true // not to be delivered again: it would panic again
			d.panicked(u.UpdateID, p)
		}
	}()
	if d.locker != nil {
		return d.handleLocked(ctx, u)
	}
	var handling bool
	return d.handleUnder(ctx, ctx, u, &handling)
}

// handleLocked handles u under its chat's lock (replicas). A function of
// its own, as the lock's deferred calls would take handle's stack.
//
//go:noinline
func (d *Dispatcher) handleLocked(ctx context.Context, u *tgbotapi.Update) bool {
	// handling is true from the moment the update is known not to be a
	// repeat: it is then marked done, even after a panic (it would panic
	// again), before the lock is released.
	handling := false
	base := ctx
	// A lease renewed while the update is handled: a replica that dies
	// holding it keeps the chat waiting d.lease at most.
	held, unlock, err := d.locker.LockChat(ctx, d.prefix+"chat:"+strconv.FormatInt(chatKey(u), 10), d.lease)
	if err != nil {
		// Better to risk two replicas in one chat than to drop the
		// update; without the lock its mark means "seen" at once.
		d.warn("dispatch: chat lock", u.UpdateID, err)
		if ctx.Err() != nil {
			return false // the deadline or Stop came first: not handled
		}
	} else {
		ctx = held // cancelled if the lock is lost: another replica's then
		defer unlock()
		if dm, ok := d.dedupe.(DoneMarker); ok {
			defer func() {
				// Not when Stop cut the handling short: another
				// replica is to take the update over.
				if handling && d.ctx.Err() == nil {
					if err := dm.SeenDone(ctx, d.prefix+strconv.Itoa(u.UpdateID), d.ttl); err != nil {
						d.warn("dispatch: mark done", u.UpdateID, err)
					}
				}
			}()
		}
	}
	return d.handleUnder(base, ctx, u, &handling)
}

// handleUnder skips u if it was seen before and hands it to the handler
// otherwise, under ctx (the chat lock's, derived from base, when there is
// one); *handling is set once u is known not to be a repeat.
func (d *Dispatcher) handleUnder(base, ctx context.Context, u *tgbotapi.Update, handling *bool) bool {
	key := d.prefix + strconv.Itoa(u.UpdateID)
	if d.dedupe != nil {
		if oh, once := d.handler.(OnceHandler); once {
			// The handler checks the update id itself, in the round trip
			// of its first reads (under the chat lock, when there is one).
			*handling = true
			if oh.HandleUpdateOnce(ctx, u, d.dedupe, key, d.ttl) {
				*handling = false
				d.duplicate(u)
				return true
			}
			d.handled.Add(1)
			return d.completed(base, ctx)
		}
		// Under the chat lock, when there is one.
		first, err := d.dedupe.FirstSeen(ctx, key, d.ttl)
		if err != nil {
			// Better to risk handling an update twice than to drop it.
			d.warn("dispatch: dedupe", u.UpdateID, err)
		} else if !first {
			d.duplicate(u)
			return true
		}
	}
	*handling = true
	d.handleCopy(ctx, u)
	d.handled.Add(1)
	return d.completed(base, ctx)
}

// handleCopy runs a Handler that takes the update by value (not a
// OnceHandler): the copy on a stack of its own frame, not handleUnder's.
//
//go:noinline
func (d *Dispatcher) handleCopy(ctx context.Context, u *tgbotapi.Update) {
	// The handlers log one line per update (route, outcome, duration).
	d.handler.HandleUpdate(ctx, *u)
}

// completed tells whether an update handled under ctx (the chat lock's
// context, derived from base) counts as handled. With replicas it does not
// when Stop cut the handling short or the chat lock was lost meanwhile: the
// webhook then answers 503, so that Telegram delivers it again and another
// replica takes it over. An update that ran out of its deadline counts as
// handled, as with one process.
func (d *Dispatcher) completed(base, ctx context.Context) bool {
	if d.locker == nil {
		return true
	}
	lockLost := ctx.Err() != nil && base.Err() == nil
	return d.ctx.Err() == nil && !lockLost
}

// duplicate counts an update skipped as a repeat.
func (d *Dispatcher) duplicate(u *tgbotapi.Update) {
	d.duplicates.Add(1)
	d.metrics.ObserveUpdate(UpdateKind(*u), OutcomeDuplicate, 0)
	d.log.Debug("dispatch: repeated update skipped", "update_id", u.UpdateID)
}

// warn logs a fault handling update id that did not stop it. Not inlined:
// its arguments would take handle's stack (Dispatcher.handle).
//
//go:noinline
func (d *Dispatcher) warn(msg string, id int, err error) {
	d.log.Warn(msg, "update_id", id, "err", err)
}

// panicked counts and logs a handler's panic (recovered in handle).
//
//go:noinline
func (d *Dispatcher) panicked(id int, p any) {
	d.panics.Add(1)
	d.log.Error("dispatch: panic", "update_id", id, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
}

// DispatchStats count the updates since the dispatcher started.
type DispatchStats struct {
	Handled    int64 // handed to the handler and returned
	Duplicates int64 // skipped: update_id seen before
	Panics     int64 // recovered by the dispatcher
	Pending    int   // queued or being handled now
}

// Stats returns the counts so far (for metrics).
func (d *Dispatcher) Stats() DispatchStats {
	return DispatchStats{Handled: d.handled.Load(), Duplicates: d.duplicates.Load(), Panics: d.panics.Load(), Pending: len(d.slots)}
}

// trackHandled makes the workers note the ids of the updates they finish
// from now on, for takeDone.
func (d *Dispatcher) trackHandled() {
	d.mu.Lock()
	d.trackDone = true
	d.mu.Unlock()
}

// takeDone returns the ids of the updates finished since the last call
// (handled, or skipped as repeats; not those dropped by Stop).
func (d *Dispatcher) takeDone(into []int) []int {
	d.mu.Lock()
	into = append(into, d.done...)
	d.done = d.done[:0]
	d.mu.Unlock()
	return into
}

// Pending is how many updates are queued or being handled.
func (d *Dispatcher) Pending() int { return len(d.slots) }

// Chats is how many chats have updates queued or being handled.
func (d *Dispatcher) Chats() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.queues)
}

// Stop refuses new updates and waits for the queued ones to be handled.
// When ctx ends first, the handlers' context is cancelled, Stop waits for
// them to return and reports ctx's error: some queued updates were not
// handled.
func (d *Dispatcher) Stop(ctx context.Context) error {
	d.mu.Lock()
	d.stopped = true
	for len(d.idle) > 0 {
		d.wakeOne()
	}
	d.mu.Unlock()
	done := make(chan struct{})
	go func() {
		d.workers.Wait()
		close(done)
	}()
	select {
	case <-done:
		d.cancel()
		return nil
	case <-ctx.Done():
		d.cancel()
		<-done
		return fmt.Errorf("dispatch: stopped before every update was handled: %w", ctx.Err())
	}
}
