package handlers

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/bot"
	"github.com/dostyq/dostyq/storage"
)

// enqueue commits notices the way a handler does, without sending them.
func (c *chatTest) enqueue(notices ...Notice) {
	c.t.Helper()
	if err := c.db.Tx(context.Background(), func(tx *storage.Tx) error { return c.h.notify(tx, notices...) }); err != nil {
		c.t.Fatal(err)
	}
}

func (c *chatTest) pending() int {
	c.t.Helper()
	n, err := c.db.PendingOutbox(context.Background())
	if err != nil {
		c.t.Fatal(err)
	}
	return n
}

func TestOutboxDeliversEachNoticeOnceThroughTelegramErrors(t *testing.T) {
	c := newChatTest(t, "en")
	c.sender.failEvery = 2
	c.sender.err = func(n int) error {
		if n%4 == 0 {
			return &tgbotapi.Error{Code: 429, Message: "Too Many Requests: retry after 7", ResponseParameters: tgbotapi.ResponseParameters{RetryAfter: 7}}
		}
		return fmt.Errorf("telegram: %w", &tgbotapi.Error{Code: 502, Message: "Bad Gateway"})
	}
	var notices []Notice
	for i := 1; i <= 20; i++ {
		notices = append(notices, Notice{Message: bot.Message{ChatID: int64(10 + i%3), Text: fmt.Sprintf("notice #%d.", i)}})
	}
	c.enqueue(notices...)
	var out strings.Builder
	for i := 0; i < 100 && c.pending() > 0; i++ {
		out.WriteString(c.advance(10 * time.Second))
	}
	if n := c.pending(); n != 0 {
		t.Fatalf("%d notices still pending", n)
	}
	for i := 1; i <= 20; i++ {
		if n := strings.Count(out.String(), fmt.Sprintf("notice #%d.", i)); n != 1 {
			t.Errorf("notice #%d delivered %d times", i, n)
		}
	}
	// Each chat got its notices in the order they were written.
	for chat := 10; chat <= 12; chat++ {
		last := 0
		for _, line := range strings.Split(out.String(), "\n") {
			var to, n int
			if _, err := fmt.Sscanf(line, "[to %d] notice #%d.", &to, &n); err == nil && to == chat {
				if n < last {
					t.Errorf("chat %d got notice #%d after #%d", chat, n, last)
				}
				last = n
			}
		}
	}
}

func TestOutboxGivesUpOnABlockedUser(t *testing.T) {
	c := newChatTest(t, "en")
	c.sender.failEvery = 1
	c.sender.err = func(int) error { return &tgbotapi.Error{Code: 403, Message: "Forbidden: bot was blocked by the user"} }
	c.enqueue(Notice{Message: bot.Message{ChatID: 50, Text: "hello"}})
	c.advance(0)
	if n := c.pending(); n != 0 {
		t.Fatalf("a notice to a user who blocked the bot is still pending")
	}
	sends := c.sender.sends
	c.advance(time.Hour)
	if c.sender.sends != sends {
		t.Fatal("a notice to a user who blocked the bot was retried")
	}
}

func TestOutboxSendsAfterARestartWhatWasCommittedButNotSent(t *testing.T) {
	c := newChatTest(t, "en")
	c.enqueue(Notice{Message: bot.Message{ChatID: 60, Text: "committed before the crash", Protect: true}})
	c.restart()
	out := c.advance(0)
	c.expect(out, "[to 60] committed before the crash")
	c.restart()
	if out := c.advance(time.Hour); strings.Contains(out, "committed before the crash") {
		t.Fatal("a sent notice was sent again after a restart")
	}
}

func TestOutboxEditsAnEarlierNoticeByRef(t *testing.T) {
	c := newChatTest(t, "en")
	kb := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("Accept", "x:1")))
	c.enqueue(Notice{Message: bot.Message{ChatID: 70, Text: "offer", Inline: &kb}, Ref: "offer:1"})
	c.expect(c.advance(0), "[to 70] offer", "(1) Accept")
	c.enqueue(Notice{Message: bot.Message{ChatID: 70, Text: "offer withdrawn"}, EditRef: "offer:1"})
	c.expect(c.advance(0), "[to 70] (edited) offer withdrawn")
	m, err := c.db.OutboxByRef(context.Background(), "offer:1")
	if err != nil || m.MessageID == 0 {
		t.Fatalf("the offer's message id was not recorded: %+v, %v", m, err)
	}
}

func TestTimersFireOnceWhenDueEvenAcrossARestart(t *testing.T) {
	c := newChatTest(t, "en")
	register := func() {
		c.h.onTimer("ping", func(tx *storage.Tx, tm storage.Timer) error {
			return c.h.notify(tx, Notice{Message: bot.Message{ChatID: 80, Text: "timer " + tm.Ref + " fired"}})
		})
	}
	register()
	err := c.db.Tx(context.Background(), func(tx *storage.Tx) error {
		return tx.ScheduleTimer("ping", "a", c.clock.Now().Add(2*time.Hour))
	})
	if err != nil {
		t.Fatal(err)
	}
	if out := c.advance(time.Hour); strings.Contains(out, "fired") {
		t.Fatalf("the timer fired an hour early: %s", out)
	}
	c.restart()
	register()
	c.expect(c.advance(time.Hour), "[to 80] timer a fired")
	c.restart()
	register()
	if out := c.advance(time.Hour); strings.Contains(out, "fired") {
		t.Fatalf("the timer fired twice: %s", out)
	}
}

func TestClassifySendError(t *testing.T) {
	for _, tc := range []struct {
		err       error
		permanent bool
		wait      time.Duration
	}{
		{&tgbotapi.Error{Code: 403, Message: "Forbidden: bot was blocked by the user"}, true, 0},
		{fmt.Errorf("send: %w", &tgbotapi.Error{Code: 400, Message: "Bad Request: chat not found"}), true, 0},
		{&tgbotapi.Error{Code: 429, ResponseParameters: tgbotapi.ResponseParameters{RetryAfter: 30}}, false, 30 * time.Second},
		{&tgbotapi.Error{Code: 502, Message: "Bad Gateway"}, false, 0},
		{tgbotapi.Error{Code: 500}, false, 0},
		{context.DeadlineExceeded, false, 0},
	} {
		permanent, wait, text := classifySendError(tc.err)
		if permanent != tc.permanent || wait != tc.wait || text == "" {
			t.Errorf("%v: permanent %v, wait %v, text %q", tc.err, permanent, wait, text)
		}
	}
}

// lagRecorder is an observer that also takes the scheduler's lag.
type lagRecorder struct {
	mu   sync.Mutex
	lags []time.Duration
}

func (l *lagRecorder) ObserveUpdate(kind, outcome string, d time.Duration) {}
func (l *lagRecorder) SchedulerLag(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lags = append(l.lags, d)
}

// Each timer fired reports how late it ran (the scheduler lag metric).
func TestTimersReportTheirLag(t *testing.T) {
	c := newChatTest(t, "en")
	rec := &lagRecorder{}
	c.h.observer = rec
	if err := c.db.Tx(context.Background(), func(tx *storage.Tx) error {
		return tx.ScheduleTimer(timerEventRemindDay, "999", c.clock.Now().Add(time.Minute))
	}); err != nil {
		t.Fatal(err)
	}
	c.advance(30 * time.Second)
	if len(rec.lags) != 0 {
		t.Fatalf("a timer not yet due reported lag %v", rec.lags)
	}
	c.advance(5 * time.Minute)
	if len(rec.lags) != 1 || rec.lags[0] != 4*time.Minute+30*time.Second {
		t.Errorf("lags %v, want one of 4m30s", rec.lags)
	}
}
