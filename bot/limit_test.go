package bot

import (
	"context"
	"errors"
	"testing"
	"time"
)

// fakeClock is a clock whose sleeps move it forward.
type fakeClock struct {
	t      time.Time
	slept  []time.Duration
	cancel bool
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) now() time.Time { return c.t }

func (c *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.slept = append(c.slept, d)
	c.t = c.t.Add(d)
	return nil
}

func newTestLimiter(c *fakeClock, o LimiterOptions) *Limiter {
	o.Now, o.Sleep = c.now, c.sleep
	return NewLimiter(o)
}

// sendTimes waits for each chat in turn and returns when (since the start)
// each message went.
func sendTimes(t *testing.T, l *Limiter, c *fakeClock, chats ...int64) []time.Duration {
	t.Helper()
	start := c.t
	var at []time.Duration
	for _, chat := range chats {
		if err := l.Wait(context.Background(), chat); err != nil {
			t.Fatal(err)
		}
		at = append(at, c.t.Sub(start))
	}
	return at
}

func TestLimiterKeepsTheGlobalRate(t *testing.T) {
	c := newFakeClock()
	l := newTestLimiter(c, LimiterOptions{})
	chats := make([]int64, 95)
	for i := range chats {
		chats[i] = int64(i + 1) // a broadcast: one message to each of many chats
	}
	at := sendTimes(t, l, c, chats...)
	// 30 a second: a small burst at once, then one every 1/30 s.
	if at[0] != 0 {
		t.Errorf("first message waited %v", at[0])
	}
	for i := 1; i < len(at); i++ {
		if gap := at[i] - at[i-1]; gap > every(30) {
			t.Errorf("message %d waited %v after the previous, more than 1/30 s", i+1, gap)
		}
	}
	// In any window of one second, at most 30 (plus the burst) messages.
	for i := range at {
		n := 0
		for j := i; j < len(at) && at[j]-at[i] < time.Second; j++ {
			n++
		}
		if n > 30+5 {
			t.Fatalf("%d messages within one second from message %d", n, i+1)
		}
	}
	if total := at[len(at)-1]; total < 2900*time.Millisecond || total > 3*time.Second {
		t.Errorf("95 messages took %v, want about 3 s at 30/s", total)
	}
}

func TestLimiterKeepsOneMessageASecondPerChat(t *testing.T) {
	c := newFakeClock()
	l := newTestLimiter(c, LimiterOptions{})
	at := sendTimes(t, l, c, 7, 7, 7, 7, 7)
	want := []time.Duration{0, 0, 0, time.Second, 2 * time.Second}
	for i := range want {
		if at[i] != want[i] {
			t.Errorf("message %d to one chat went at %v, want %v (all: %v)", i+1, at[i], want[i], at)
		}
	}
	// Another chat is not held up by the busy one.
	before := c.t
	sendTimes(t, l, c, 8)
	if c.t != before {
		t.Errorf("a message to another chat waited %v", c.t.Sub(before))
	}
}

func TestLimiterKeepsTwentyAMinutePerGroup(t *testing.T) {
	c := newFakeClock()
	l := newTestLimiter(c, LimiterOptions{})
	group := make([]int64, 25)
	for i := range group {
		group[i] = -100123
	}
	at := sendTimes(t, l, c, group...)
	n := 0
	for _, a := range at {
		if a < time.Minute {
			n++
		}
	}
	if n > 20 {
		t.Errorf("%d messages to one group within a minute, Telegram allows 20", n)
	}
}

func TestLimiterForgetsIdleChats(t *testing.T) {
	c := newFakeClock()
	l := newTestLimiter(c, LimiterOptions{Global: 1000})
	for i := int64(1); i <= 100; i++ {
		sendTimes(t, l, c, i)
	}
	c.t = c.t.Add(2 * time.Minute)
	sendTimes(t, l, c, 1000)
	if n := l.Chats(); n != 1 {
		t.Errorf("the limiter keeps %d chats after two idle minutes, want 1", n)
	}
}

func TestLimiterStopsWaitingWhenCancelled(t *testing.T) {
	c := newFakeClock()
	l := newTestLimiter(c, LimiterOptions{})
	sendTimes(t, l, c, 1, 1, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Wait(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait with a cancelled context: %v", err)
	}
}

func TestLimiterOff(t *testing.T) {
	c := newFakeClock()
	l := newTestLimiter(c, LimiterOptions{Global: -1})
	sendTimes(t, l, c, 1, 1, 1, 1, 1, 1, 1, 1)
	if len(c.slept) != 0 {
		t.Errorf("a limiter turned off waited %v", c.slept)
	}
}

func TestLimiterLetsRepliesGoBeforeABroadcast(t *testing.T) {
	var lastReply time.Duration
	backlog := func(l *Limiter, c *fakeClock) {
		// 60 replies wait concurrently: they reserved the next two seconds.
		for i := 0; i < 60; i++ {
			lastReply = l.global.reserve(c.t).Sub(c.t)
		}
	}
	c := newFakeClock()
	l := newTestLimiter(c, LimiterOptions{})
	backlog(l, c)
	start := c.t
	sendTimes(t, l, c, 1)
	reply := c.t.Sub(start)

	c2 := newFakeClock()
	l2 := newTestLimiter(c2, LimiterOptions{})
	backlog(l2, c2)
	start2 := c2.t
	if err := l2.WaitBulk(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	bulk := c2.t.Sub(start2)
	if bulk < lastReply {
		t.Errorf("a broadcast message went after %v, before the last waiting reply (%v)", bulk, lastReply)
	}
	if reply >= bulk {
		t.Errorf("a reply waits %v, no less than a broadcast message (%v)", reply, bulk)
	}
	// With no backlog a broadcast message goes at once.
	c3 := newFakeClock()
	l3 := newTestLimiter(c3, LimiterOptions{})
	if err := l3.WaitBulk(context.Background(), 1); err != nil || len(c3.slept) != 0 {
		t.Errorf("an idle limiter made a broadcast message wait %v (%v)", c3.slept, err)
	}
}
