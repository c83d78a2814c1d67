package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/bot/bottest"
)

// step is one thing a simulated citizen does: type text, share a location,
// or press the inline button whose label contains press.
type step struct {
	text     string
	location bool
	press    string
	optional bool // skipped when the button is not there
}

// conversation is what every simulated citizen does, in order: the story of
// issue 7 (start, language, Houses of Friendship by location and by town,
// paging, a mediation request to confirmation, a volunteer registration).
var conversation = []step{
	{text: "/start"},
	{press: "English"},
	{text: "🏠 Houses of Friendship"},
	{location: true},
	{press: "More", optional: true},
	{press: "More", optional: true},
	{text: "🏠 Houses of Friendship"},
	{text: "$town"},
	{press: "📍 1", optional: true},
	{text: "/menu"},
	{text: "🤝 Mediation"},
	{text: "🙋 Ask for a mediator"},
	{press: "I agree"},
	{press: "Family"},
	{text: "My neighbour and I argue about the fence between our houses."},
	{text: "Astana"},
	{press: "Русский"},
	{text: "💬 Through the bot only"},
	{press: "Confirm"},
	{text: "💛 Charity"},
	{text: "🙌 Volunteer at an event"},
	{location: true},
	{press: "1"},
	{press: "Register"},
	{press: "I agree"},
	{text: "Aigerim"},
	{text: "+7 701 000 00 00"},
	{text: "/menu"},
}

// openConversation leaves the citizen in the middle of a flow, with
// conversation state in Redis: for the memory figures.
var openConversation = []step{
	{text: "/start"},
	{press: "English"},
	{text: "🤝 Mediation"},
	{text: "🙋 Ask for a mediator"},
	{press: "I agree"},
	{press: "Family"},
}

var towns = []string{"Almaty", "Астана", "Shymkent", "Караганда", "Oskemen", "Алмати", "Taraz", "Павлодар"}

// waiter tells a citizen that the bot finished handling their update, by
// update id: from the in-process bot's wrapped handler, or from the log of
// a bot process (which may tell before the citizen asked).
type waiter struct {
	mu    sync.Mutex
	chans map[int]chan time.Time // update id → the citizen who sent it
	early map[int]time.Time      // handled before expect was called
}

func newWaiter() *waiter {
	return &waiter{chans: map[int]chan time.Time{}, early: map[int]time.Time{}}
}

// expect sends to ch when update id is handled.
func (w *waiter) expect(id int, ch chan time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if at, ok := w.early[id]; ok {
		delete(w.early, id)
		ch <- at
		return
	}
	w.chans[id] = ch
}

// forget drops what is left of update id (a step that timed out).
func (w *waiter) forget(id int) {
	w.mu.Lock()
	delete(w.chans, id)
	delete(w.early, id)
	w.mu.Unlock()
}

func (w *waiter) done(u tgbotapi.Update) { w.doneID(u.UpdateID, time.Now()) }

func (w *waiter) doneID(id int, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ch, ok := w.chans[id]
	if !ok {
		w.early[id] = at
		return
	}
	delete(w.chans, id)
	select {
	case ch <- at:
	default:
	}
}

// citizen is one simulated user.
type citizen struct {
	user   bottest.User
	srv    *bottest.Server
	w      *waiter
	done   chan time.Time // buffered
	rng    *rand.Rand
	inline *bottest.Sent // the latest message with inline buttons
	trace  func(string)
}

var errNoButton = errors.New("no such button")

// do performs one step and waits until the bot has handled it; it returns
// how long that took (false when the step was skipped).
func (c *citizen) do(ctx context.Context, s step, timeout time.Duration) (time.Duration, bool, error) {
	start := time.Now()
	var id int
	switch {
	case s.location:
		id = c.srv.SendLocation(c.user, 43.2389+c.rng.Float64()*0.05, 76.8897+c.rng.Float64()*0.05)
	case s.press != "":
		if c.inline == nil {
			if s.optional {
				return 0, false, nil
			}
			return 0, false, fmt.Errorf("press %q: %w (no inline keyboard)", s.press, errNoButton)
		}
		data, ok := findButton(c.inline.Inline, s.press)
		if !ok {
			if s.optional {
				return 0, false, nil
			}
			return 0, false, fmt.Errorf("press %q: %w", s.press, errNoButton)
		}
		id, _ = c.srv.Press(c.user, c.inline.MessageID, data)
	case s.text == "$town":
		id = c.srv.SendText(c.user, towns[c.rng.IntN(len(towns))])
	default:
		id = c.srv.SendText(c.user, s.text)
	}
	c.w.expect(id, c.done)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case at := <-c.done:
		c.collect()
		return at.Sub(start), true, nil
	case <-t.C:
		c.w.forget(id)
		return 0, false, fmt.Errorf("step %+v: no answer in %s", s, timeout)
	case <-ctx.Done():
		c.w.forget(id)
		return 0, false, ctx.Err()
	}
}

// collect takes what the bot sent and remembers the latest inline keyboard.
func (c *citizen) collect() {
	for _, e := range c.srv.Take(c.user.ID) {
		if c.trace != nil {
			c.trace(fmt.Sprintf("  %s #%d %q %s", e.Method, e.MessageID, firstLine(e.Text), buttons(e.Inline)))
		}
		if e.Inline != nil && len(e.Inline.InlineKeyboard) > 0 {
			e := e
			c.inline = &e
		}
	}
}

func findButton(kb *tgbotapi.InlineKeyboardMarkup, label string) (string, bool) {
	if kb == nil {
		return "", false
	}
	for _, row := range kb.InlineKeyboard {
		for _, b := range row {
			if b.CallbackData != nil && b.Text == label {
				return *b.CallbackData, true
			}
		}
	}
	for _, row := range kb.InlineKeyboard {
		for _, b := range row {
			if b.CallbackData != nil && strings.Contains(b.Text, label) {
				return *b.CallbackData, true
			}
		}
	}
	return "", false
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if r := []rune(s); len(r) > 60 {
		s = string(r[:60]) + "…"
	}
	return s
}

func buttons(kb *tgbotapi.InlineKeyboardMarkup) string {
	if kb == nil {
		return ""
	}
	var out []string
	for _, row := range kb.InlineKeyboard {
		for _, b := range row {
			out = append(out, "["+b.Text+"]")
		}
	}
	return strings.Join(out, " ")
}
