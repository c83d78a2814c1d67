package bot

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/bot/bottest"
	"github.com/dostyq/dostyq/storage"
	"github.com/dostyq/dostyq/storage/storagetest"
)

// textsHandled is a handler recording the texts it handled, by chat, that
// holds the text named hold until release is closed.
type textsHandled struct {
	*recorder
	hold    string
	holding chan struct{}
	release chan struct{}
}

func (h *textsHandled) HandleUpdate(ctx context.Context, u tgbotapi.Update) {
	if u.Message != nil && u.Message.Text == h.hold {
		close(h.holding)
		<-h.release
	}
	h.recorder.HandleUpdate(ctx, u)
}

// A process killed (SIGKILL) after it confirmed updates to Telegram — by
// long polling, the next getUpdates; behind a webhook, its answer — loses
// none of those it had not started: the next process finds them in the
// TakenLog (Redis) and handles them first, in their order; those handled
// before are not handled twice; Redis keeps only the updates in flight,
// and nothing after a graceful stop.
func TestUpdatesTakenByAKilledProcessAreHandedOn(t *testing.T) {
	for _, mode := range []string{"poll", "webhook"} {
		t.Run(mode, func(t *testing.T) { testTakenHandedOn(t, mode) })
	}
}

func testTakenHandedOn(t *testing.T, mode string) {
	srv := bottest.New(bottest.Options{})
	defer srv.Close()
	store := storagetest.States(t, time.Hour)
	// start runs a process's transport on a dispatcher of h; kill stops it
	// without stopping the dispatcher; graceful stops both, as dostyq
	// serve does, and leaves the TakenLog as a graceful stop leaves it.
	start := func(h UpdateHandler) (kill func(), graceful func()) {
		tg, err := NewTelegram(context.Background(), TelegramOptions{Token: srv.Token(), Endpoint: srv.Endpoint(), Logger: quietLog()})
		if err != nil {
			t.Fatal(err)
		}
		d := NewDispatcher(h, DispatcherOptions{Workers: 4, Dedupe: store, Logger: quietLog()})
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan error, 1)
		var p *Poller
		wt := NewWebhookTaken(store, tg.Self().ID, d, quietLog())
		if mode == "poll" {
			p = NewPoller(tg, d, quietLog())
			p.Taken = store
			go func() { ran <- p.Run(ctx) }()
		} else {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			srv.DeliverTo("http://" + ln.Addr().String())
			go func() {
				ran <- ServeWebhook(ctx, tg, d, WebhookOptions{URL: "https://bot.example.test/hook", Secret: "0123456789abcdef-secret",
					Listener: ln, Taken: wt}, quietLog())
			}()
		}
		kill = func() {
			cancel()
			if err := <-ran; err != nil {
				t.Fatal(err)
			}
		}
		return kill, func() {
			kill()
			stop(t, d)
			if p != nil {
				if err := p.Confirm(context.Background()); err != nil {
					t.Fatal(err)
				}
			} else if err := wt.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	key := TakenKey(bottest.BotID)

	// The first process: chat 21's first message is in hand, its next two
	// wait behind it, chat 22's is handled.
	first := &textsHandled{recorder: newRecorder(), hold: "a1", holding: make(chan struct{}), release: make(chan struct{})}
	kill, _ := start(first)
	a, b, c := bottest.User{ID: 21}, bottest.User{ID: 22}, bottest.User{ID: 23}
	srv.SendText(a, "a1")
	srv.SendText(a, "a2")
	srv.SendText(a, "a3")
	b1 := srv.SendText(b, "b1")
	<-first.holding
	first.wait(t, 1) // b1
	srv.SendText(c, "c1")
	first.wait(t, 1)
	// Confirmed to Telegram: it will not deliver a2 and a3 again.
	if mode == "poll" {
		confirmed := 0
		for _, c := range srv.Calls("getUpdates") {
			n, _ := strconv.Atoi(c.Params.Get("offset"))
			confirmed = max(confirmed, n)
		}
		if confirmed <= b1 {
			t.Fatalf("the poller has not confirmed the updates taken: offset %d, b1 is %d", confirmed, b1)
		}
	}
	// The webhook has them all (it keeps each before it answers).
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		_, kept, err := store.Taken(context.Background(), key, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if all := bytes.Join(kept, nil); bytes.Contains(all, []byte(`"a2"`)) && bytes.Contains(all, []byte(`"a3"`)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a2 and a3 are not in the TakenLog: %s", bytes.Join(kept, []byte("\n")))
		}
	}
	// Killed: the dispatcher's queue is lost with it.
	kill()

	// The next process: a4 comes at once, and is handled after the two
	// it finds in the log.
	second := newRecorder()
	_, graceful := start(second)
	srv.SendText(a, "a4")
	second.wait(t, 3)
	second.mu.Lock()
	got := fmt.Sprint(second.texts)
	second.mu.Unlock()
	if want := "map[21:[a2 a3 a4]]"; got != want {
		t.Errorf("after the kill the next process handled %s, want %s (a1 was in hand: seen, not handled twice)", got, want)
	}
	// The next updates drop those handled from Redis (the dispatcher
	// counts an update done just after the handler returns: a few tries).
	for i := 1; ; i++ {
		srv.SendText(b, "b"+strconv.Itoa(i+1))
		second.wait(t, 1)
		_, kept, err := store.Taken(context.Background(), key, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if len(kept) <= 1 {
			break
		}
		if i == 100 {
			t.Fatalf("Redis keeps %d answers with one update in flight at most: %s", len(kept), bytes.Join(kept, []byte("\n")))
		}
		time.Sleep(10 * time.Millisecond)
	}

	graceful()
	if _, kept, err := store.Taken(context.Background(), key, time.Hour); err != nil || len(kept) != 0 {
		t.Errorf("after a graceful stop Redis still keeps %d answers (%v)", len(kept), err)
	}
	close(first.release)
}

// Updates in the log that Telegram also still has (the last answer a
// killed process took, whose next getUpdates never came) are handled once,
// and the log is empty after a graceful stop.
func TestPollerHandsOnTakenUpdatesTelegramStillHasOnce(t *testing.T) {
	srv, store, tg := takenSetup(t)
	a := bottest.User{ID: 31}
	first := srv.SendText(a, "a1")
	srv.SendText(a, "a2")
	// The killed process took them (no offset: nothing confirmed) and
	// kept the answer.
	_, answer, err := tg.getUpdates(context.Background(), tgbotapi.UpdateConfig{Limit: 100}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.KeepTaken(context.Background(), TakenKey(bottest.BotID), nil, first, answer, time.Hour); err != nil {
		t.Fatal(err)
	}

	rec := newRecorder()
	d := NewDispatcher(rec, DispatcherOptions{Workers: 4, Dedupe: store, Logger: quietLog()})
	p := NewPoller(tg, d, quietLog())
	p.Taken = store
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- p.Run(ctx) }()
	rec.wait(t, 2)
	srv.SendText(a, "a3")
	rec.wait(t, 1)
	cancel()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	stop(t, d)
	if got := fmt.Sprint(rec.texts[31]); got != "[a1 a2 a3]" || d.Stats().Handled != 3 {
		t.Errorf("handled %s (%d handed to the handler), want [a1 a2 a3] once each", got, d.Stats().Handled)
	}
	if err := p.Confirm(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, kept, err := store.Taken(context.Background(), TakenKey(bottest.BotID), time.Hour); err != nil || len(kept) != 0 {
		t.Errorf("after a graceful stop Redis still keeps %d answers (%v): %s", len(kept), err, bytes.Join(kept, []byte("\n")))
	}
}

// A stop that comes while the log's updates are being handed on leaves
// those not handed on in the log, for the next start.
func TestTakenUpdatesNotHandedOnStayAfterAStop(t *testing.T) {
	_, store, tg := takenSetup(t)
	key := TakenKey(bottest.BotID)
	for _, id := range []int{40, 41} {
		answer := fmt.Sprintf(`{"ok":true,"result":[{"update_id":%d,"message":{"message_id":%d,"date":1,"chat":{"id":5,"type":"private"},"text":"m%d"}}]}`, id, id, id)
		if err := store.KeepTaken(context.Background(), key, nil, id, []byte(answer), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	// A dispatcher already stopping takes nothing.
	d := NewDispatcher(newRecorder(), DispatcherOptions{Dedupe: store, Logger: quietLog()})
	stop(t, d)
	p := NewPoller(tg, d, quietLog())
	p.Taken = store
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.Confirm(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ids, _, err := store.Taken(context.Background(), key, time.Hour); err != nil || fmt.Sprint(ids) != "[40 41]" {
		t.Errorf("the log keeps %v (%v), want [40 41]", ids, err)
	}
}

// takenSetup is a fake Bot API, a Redis store (the TakenLog) and a client
// of the fake, closed with the test.
func takenSetup(t *testing.T) (*bottest.Server, *storage.RedisStateStore, *Telegram) {
	t.Helper()
	srv := bottest.New(bottest.Options{})
	t.Cleanup(srv.Close)
	tg, err := NewTelegram(context.Background(), TelegramOptions{Token: srv.Token(), Endpoint: srv.Endpoint(), Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	return srv, storagetest.States(t, time.Hour), tg
}
