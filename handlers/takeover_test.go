package handlers

import (
	"context"
	"strconv"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/storage"
)

// onceConsole hands the console's updates to HandleUpdateOnce, as the
// dispatcher of a replica does, and can deliver the last one again.
type onceConsole struct {
	h     *Handlers
	store *storage.RedisStateStore
	last  tgbotapi.Update
}

func (o *onceConsole) HandleUpdate(ctx context.Context, u tgbotapi.Update) {
	o.last = u
	o.h.HandleUpdateOnce(ctx, u, o.store, o.key(u), time.Hour)
}

func (o *onceConsole) key(u tgbotapi.Update) string { return "upd:1:" + strconv.Itoa(u.UpdateID) }

// again delivers the last update once more, as Telegram does when nobody
// answered it, and reports whether it was skipped as a repeat.
func (o *onceConsole) again() (repeated bool) {
	return o.h.HandleUpdateOnce(context.Background(), o.last, o.store, o.key(o.last), time.Hour)
}

// Replicas: an update taken over from a replica that died after moving
// the conversation on (its new state saved, its next question maybe never
// sent) gets that question again instead of "button no longer active" or
// being taken for an answer to it; once marked done, it is skipped.
func TestTakenOverUpdateAsksTheNewStepAgain(t *testing.T) {
	c := newChatTest(t, "en")
	rs, ok := c.states.(*storage.RedisStateStore)
	if !ok {
		t.Fatalf("the test's state store is %T, want Redis", c.states)
	}
	rs.SeenUntilDone = true
	c.deps.Config.FloodMessages, c.deps.Config.FloodWindow = 20, time.Minute
	c.restart()
	once := &onceConsole{h: c.h, store: rs}
	c.console.SetHandler(once)

	c.expect(c.say("@as 11 en\n🤝 Mediation\n🙋 Ask for a mediator"), "consent")
	c.expect(c.say("@press 1"), "What kind of conflict is it?")

	// The replica that handled the press died before marking it done.
	if once.again() {
		t.Fatal("an update in progress whose replica died was skipped")
	}
	out := c.out.take()
	c.expect(out, "What kind of conflict is it?")
	c.reject(out, "no longer active")

	// The description, whose replica died before writing anything (its mark
	// is in progress, the state still the one it read): handled as the
	// answer it is.
	c.expect(c.say("@press Family"), "Describe the situation")
	u := tgbotapi.Update{UpdateID: 9000, Message: &tgbotapi.Message{MessageID: 9000, Date: int(c.clock.Now().Unix()),
		From: &tgbotapi.User{ID: 11, LanguageCode: "en"}, Chat: &tgbotapi.Chat{ID: 11, Type: "private"},
		Text: "The neighbours block the yard with their cars every evening."}}
	if first, _, _, _, _, err := rs.SeenCountGet(context.Background(), once.key(u), time.Hour, floodKey(11), time.Minute, 11); err != nil || !first {
		t.Fatalf("marking the update in progress: %v %v", first, err)
	}
	once.last = u
	if once.again() {
		t.Fatal("an update in progress whose replica died was skipped")
	}
	c.expect(c.out.take(), "Where is the conflict?")

	// Handled and marked done: a later delivery is a repeat.
	if err := rs.SeenDone(context.Background(), once.key(once.last), time.Hour); err != nil {
		t.Fatal(err)
	}
	if !once.again() {
		t.Fatal("a done update was handled again")
	}
	if out := c.out.take(); out != "" {
		t.Errorf("a repeated update printed:\n%s", out)
	}
}
