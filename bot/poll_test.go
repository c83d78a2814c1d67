package bot

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/bot/bottest"
)

// recorder is a handler that records the texts it handled, by chat.
type recorder struct {
	mu    sync.Mutex
	texts map[int64][]string
	got   chan struct{}
}

func newRecorder() *recorder {
	return &recorder{texts: map[int64][]string{}, got: make(chan struct{}, 1000)}
}

func (r *recorder) HandleUpdate(ctx context.Context, u tgbotapi.Update) {
	r.mu.Lock()
	r.texts[u.Message.Chat.ID] = append(r.texts[u.Message.Chat.ID], u.Message.Text)
	r.mu.Unlock()
	r.got <- struct{}{}
}

func (r *recorder) wait(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		select {
		case <-r.got:
		case <-time.After(20 * time.Second):
			t.Fatalf("only %d of %d updates handled", i, n)
		}
	}
}

func startPoller(t *testing.T, srv *bottest.Server, h UpdateHandler) (*Poller, *Dispatcher, func()) {
	t.Helper()
	tg, err := NewTelegram(context.Background(), TelegramOptions{Token: srv.Token(), Endpoint: srv.Endpoint(), Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	d := NewDispatcher(h, DispatcherOptions{Workers: 4, Logger: quietLog()})
	p := NewPoller(tg, d, quietLog())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	return p, d, func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		stop(t, d)
	}
}

func TestPollerReceivesAndConfirmsUpdates(t *testing.T) {
	srv := bottest.New(bottest.Options{})
	defer srv.Close()
	srv.Fail("getUpdates", 502, "Bad Gateway", 0) // the first poll fails: back off, then go on
	rec := newRecorder()
	p, _, stopPolling := startPoller(t, srv, rec)
	user := bottest.User{ID: 12}
	var last int
	for i := 1; i <= 5; i++ {
		last = srv.SendText(user, "m"+strconv.Itoa(i))
	}
	rec.wait(t, 5)
	stopPolling()
	if p.LastPoll().IsZero() {
		t.Error("LastPoll is zero after successful polls")
	}
	if err := p.Confirm(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := rec.texts[12]; len(got) != 5 || got[0] != "m1" || got[4] != "m5" {
		t.Errorf("handled %v", got)
	}
	calls := srv.Calls()
	if calls[1].Method != "deleteWebhook" {
		t.Errorf("the poller did not delete the webhook first: %s", calls[1].Method)
	}
	final := calls[len(calls)-1]
	if final.Method != "getUpdates" || final.Params.Get("offset") != strconv.Itoa(last+1) {
		t.Errorf("final call %s %v does not confirm update %d", final.Method, final.Params, last)
	}

	// A new poller on the same server gets nothing again.
	rec2 := newRecorder()
	_, _, stop2 := startPoller(t, srv, rec2)
	srv.SendText(user, "after restart")
	rec2.wait(t, 1)
	stop2()
	if got := rec2.texts[12]; len(got) != 1 || got[0] != "after restart" {
		t.Errorf("after a restart handled %v", got)
	}
}

func TestPollerLeavesUpdatesNotTakenUnconfirmed(t *testing.T) {
	srv := bottest.New(bottest.Options{})
	defer srv.Close()
	tg, err := NewTelegram(context.Background(), TelegramOptions{Token: srv.Token(), Endpoint: srv.Endpoint(), Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	// A dispatcher that refuses everything (stopped) takes no update.
	d := NewDispatcher(newRecorder(), DispatcherOptions{Logger: quietLog()})
	stop(t, d)
	user := bottest.User{ID: 13}
	srv.SendText(user, "kept")
	p := NewPoller(tg, d, quietLog())
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.Confirm(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	_, _, stopPolling := startPoller(t, srv, rec)
	rec.wait(t, 1)
	stopPolling()
	if got := rec.texts[13]; len(got) != 1 || got[0] != "kept" {
		t.Errorf("the update not taken was lost: %v", got)
	}
}

func TestBackoffGrowsWithJitterUpToItsCap(t *testing.T) {
	const limit = 30 * time.Second
	var d time.Duration
	for i := 0; i < 20; i++ {
		next := nextBackoff(d, limit)
		if next <= 0 || next > limit {
			t.Fatalf("backoff %v after %v", next, d)
		}
		d = next
	}
	if d < limit/2 {
		t.Errorf("backoff after 20 failures is %v, want near the cap %v", d, limit)
	}
}
