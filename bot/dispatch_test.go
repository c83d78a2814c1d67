package bot

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/storage"
)

type handlerFunc func(ctx context.Context, u tgbotapi.Update)

func (f handlerFunc) HandleUpdate(ctx context.Context, u tgbotapi.Update) { f(ctx, u) }

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func update(id int, chat int64) tgbotapi.Update {
	return tgbotapi.Update{UpdateID: id, Message: &tgbotapi.Message{
		MessageID: id, Chat: &tgbotapi.Chat{ID: chat, Type: "private"}, From: &tgbotapi.User{ID: chat}, Text: "x"}}
}

func stop(t *testing.T, d *Dispatcher) {
	t.Helper()
	if err := d.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestDispatcherKeepsEachChatsOrderOneAtATime(t *testing.T) {
	var mu sync.Mutex
	seen := map[int64][]int{}
	var busy [10]atomic.Int32
	var overlap atomic.Bool
	d := NewDispatcher(handlerFunc(func(ctx context.Context, u tgbotapi.Update) {
		chat := u.Message.Chat.ID
		if busy[chat].Add(1) > 1 {
			overlap.Store(true)
		}
		mu.Lock()
		seen[chat] = append(seen[chat], u.UpdateID)
		mu.Unlock()
		busy[chat].Add(-1)
	}), DispatcherOptions{Workers: 8, Logger: quietLog()})
	id := 0
	for round := 0; round < 50; round++ {
		for chat := int64(0); chat < 10; chat++ {
			id++
			if err := d.Dispatch(context.Background(), update(id, chat)); err != nil {
				t.Fatal(err)
			}
		}
	}
	stop(t, d)
	if overlap.Load() {
		t.Error("two updates of one chat were handled at once")
	}
	for chat, ids := range seen {
		if len(ids) != 50 {
			t.Errorf("chat %d: %d updates handled, want 50", chat, len(ids))
		}
		for i := 1; i < len(ids); i++ {
			if ids[i] < ids[i-1] {
				t.Fatalf("chat %d handled out of order: %v", chat, ids)
			}
		}
	}
	if n := d.Chats(); n != 0 {
		t.Errorf("%d chat queues left after every update was handled", n)
	}
}

func TestDispatcherServesOtherChatsWhileOneIsBusy(t *testing.T) {
	release := make(chan struct{})
	other := make(chan struct{})
	d := NewDispatcher(handlerFunc(func(ctx context.Context, u tgbotapi.Update) {
		if u.Message.Chat.ID == 1 {
			<-release // chat 1 is slow
			return
		}
		close(other)
	}), DispatcherOptions{Workers: 2, Logger: quietLog()})
	d.Dispatch(context.Background(), update(1, 1))
	d.Dispatch(context.Background(), update(2, 1))
	d.Dispatch(context.Background(), update(3, 2))
	select {
	case <-other:
	case <-time.After(10 * time.Second):
		t.Fatal("chat 2 waited for slow chat 1")
	}
	close(release)
	stop(t, d)
}

func TestDispatcherBoundsTheWorkers(t *testing.T) {
	const workers = 3
	var running, peak atomic.Int32
	gate := make(chan struct{})
	entered := make(chan struct{}, 20)
	d := NewDispatcher(handlerFunc(func(ctx context.Context, u tgbotapi.Update) {
		entered <- struct{}{}
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-gate
		running.Add(-1)
	}), DispatcherOptions{Workers: workers, Logger: quietLog()})
	for i := 1; i <= 20; i++ {
		d.Dispatch(context.Background(), update(i, int64(i)))
	}
	for i := 0; i < workers; i++ {
		<-entered // as many chats handled at once as there are workers
	}
	close(gate)
	stop(t, d)
	if p := peak.Load(); p > workers {
		t.Errorf("%d updates handled at once with %d workers", p, workers)
	}
}

func TestDispatcherHandlesARepeatedUpdateOnce(t *testing.T) {
	var handled atomic.Int32
	states := storage.NewMemoryStateStore(time.Hour, nil)
	newDispatcher := func() *Dispatcher {
		return NewDispatcher(handlerFunc(func(ctx context.Context, u tgbotapi.Update) { handled.Add(1) }),
			DispatcherOptions{Workers: 4, Dedupe: states, BotID: 1, Logger: quietLog()})
	}
	d := newDispatcher()
	for i := 0; i < 3; i++ {
		d.Dispatch(context.Background(), update(500, 9))
	}
	d.Dispatch(context.Background(), update(501, 10))
	stop(t, d)
	// A restart (new dispatcher, same store) gets the same update again.
	if st := d.Stats(); st.Duplicates != 2 || st.Handled != 2 {
		t.Errorf("stats %+v, want 2 handled and 2 duplicates", st)
	}
	d = newDispatcher()
	d.Dispatch(context.Background(), update(500, 9))
	stop(t, d)
	if n := handled.Load(); n != 2 {
		t.Errorf("%d updates handled, want 2 (500 once, 501)", n)
	}
}

type failingDeduper struct{}

func (failingDeduper) FirstSeen(context.Context, string, time.Duration) (bool, error) {
	return false, errors.New("redis: connection refused")
}

func TestDispatcherHandlesUpdatesWhenDedupeFails(t *testing.T) {
	var handled atomic.Int32
	d := NewDispatcher(handlerFunc(func(ctx context.Context, u tgbotapi.Update) { handled.Add(1) }),
		DispatcherOptions{Dedupe: failingDeduper{}, Logger: quietLog()})
	d.Dispatch(context.Background(), update(1, 1))
	stop(t, d)
	if handled.Load() != 1 {
		t.Error("an update was dropped because the dedupe store failed")
	}
}

func TestDispatcherSurvivesAPanic(t *testing.T) {
	var handled atomic.Int32
	d := NewDispatcher(handlerFunc(func(ctx context.Context, u tgbotapi.Update) {
		if u.UpdateID == 1 {
			var m map[string]int
			m["boom"]++ // nil map: panics
		}
		handled.Add(1)
	}), DispatcherOptions{Workers: 1, Logger: quietLog()})
	d.Dispatch(context.Background(), update(1, 1))
	d.Dispatch(context.Background(), update(2, 1))
	stop(t, d)
	if handled.Load() != 1 {
		t.Error("the update after a panic was not handled")
	}
}

func TestDispatcherStopFinishesQueuedUpdates(t *testing.T) {
	var handled atomic.Int32
	d := NewDispatcher(handlerFunc(func(ctx context.Context, u tgbotapi.Update) {
		if ctx.Err() == nil {
			handled.Add(1)
		}
	}), DispatcherOptions{Workers: 2, Logger: quietLog()})
	for i := 1; i <= 100; i++ {
		d.Dispatch(context.Background(), update(i, int64(i%3)))
	}
	stop(t, d)
	if n := handled.Load(); n != 100 {
		t.Errorf("%d of 100 queued updates handled before Stop returned", n)
	}
	if err := d.Dispatch(context.Background(), update(101, 1)); !errors.Is(err, ErrStopped) {
		t.Errorf("Dispatch after Stop: %v", err)
	}
}

func TestDispatcherStopGivesUpAtItsDeadline(t *testing.T) {
	started := make(chan struct{})
	d := NewDispatcher(handlerFunc(func(ctx context.Context, u tgbotapi.Update) {
		close(started)
		<-ctx.Done() // a handler stuck until cancelled
	}), DispatcherOptions{Workers: 1, Logger: quietLog()})
	d.Dispatch(context.Background(), update(1, 1))
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.Stop(ctx); err == nil {
		t.Error("Stop reported every update handled while one was stuck")
	}
}

func TestDispatchWaitsWhenFull(t *testing.T) {
	gate := make(chan struct{})
	d := NewDispatcher(handlerFunc(func(ctx context.Context, u tgbotapi.Update) { <-gate }),
		DispatcherOptions{Workers: 1, MaxPending: 2, Logger: quietLog()})
	d.Dispatch(context.Background(), update(1, 1))
	d.Dispatch(context.Background(), update(2, 1))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.Dispatch(ctx, update(3, 1)); !errors.Is(err, context.Canceled) {
		t.Errorf("Dispatch past MaxPending: %v, want to wait until cancelled", err)
	}
	close(gate)
	stop(t, d)
}

// onceFunc is a bot.OnceHandler that dedupes through the store it is given.
type onceFunc struct {
	handled, plain *atomic.Int32
}

func (o onceFunc) HandleUpdate(ctx context.Context, u tgbotapi.Update) { o.plain.Add(1) }

func (o onceFunc) HandleUpdateOnce(ctx context.Context, u *tgbotapi.Update, dedupe Deduper, key string, ttl time.Duration) bool {
	if first, err := dedupe.FirstSeen(ctx, key, ttl); err == nil && !first {
		return true
	}
	o.handled.Add(1)
	return false
}

func TestDispatcherLetsAOnceHandlerDedupe(t *testing.T) {
	var handled, plain atomic.Int32
	states := storage.NewMemoryStateStore(time.Hour, nil)
	d := NewDispatcher(onceFunc{&handled, &plain}, DispatcherOptions{Workers: 4, Dedupe: states, BotID: 1, Logger: quietLog()})
	for i := 0; i < 3; i++ {
		d.Dispatch(context.Background(), update(500, 9))
	}
	d.Dispatch(context.Background(), update(501, 10))
	stop(t, d)
	if st := d.Stats(); st.Duplicates != 2 || st.Handled != 2 {
		t.Errorf("stats %+v, want 2 handled and 2 duplicates", st)
	}
	if handled.Load() != 2 || plain.Load() != 0 {
		t.Errorf("handled %d through HandleUpdateOnce and %d through HandleUpdate, want 2 and 0", handled.Load(), plain.Load())
	}
	// Without a Deduper the plain HandleUpdate is called.
	d = NewDispatcher(onceFunc{&handled, &plain}, DispatcherOptions{Workers: 1, Logger: quietLog()})
	d.Dispatch(context.Background(), update(500, 9))
	stop(t, d)
	if plain.Load() != 1 {
		t.Errorf("without dedupe: %d plain calls, want 1", plain.Load())
	}
}

// Under a light load the same few workers take the updates, so that the
// others' stacks, grown by the handlers, shrink back: one update at a time
// goes to the worker that finished last, not round the whole pool.
func TestDispatcherKeepsALightLoadOnFewWorkers(t *testing.T) {
	var mu sync.Mutex
	workers := map[string]bool{}
	d := NewDispatcher(handlerFunc(func(ctx context.Context, u tgbotapi.Update) {
		buf := make([]byte, 64)
		id := strings.Fields(string(buf[:runtime.Stack(buf, false)]))[1] // "goroutine N [running]:"
		mu.Lock()
		workers[id] = true
		mu.Unlock()
	}), DispatcherOptions{Workers: 64, Logger: quietLog()})
	defer stop(t, d)
	allIdle := func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		return len(d.idle) == 64
	}
	for i := 1; i <= 300; i++ {
		// The worker answers DispatchWait, then goes back to wait: the
		// next update comes once it is back, as under a light load.
		for !allIdle() {
			time.Sleep(100 * time.Microsecond)
		}
		if err := d.DispatchWait(context.Background(), update(i, int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(workers); n != 1 {
		t.Errorf("300 updates one at a time went to %d of 64 workers, want 1", n)
	}
}
