package handlers

import (
	"context"
	"strconv"
	"strings"
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
	o.handle(ctx, u)
}

// handle is the dispatcher of a replica: under the chat's lock.
func (o *onceConsole) handle(ctx context.Context, u tgbotapi.Update) (repeated bool) {
	held, unlock, err := o.store.LockChat(ctx, "chat:"+strconv.FormatInt(u.FromChat().ID, 10), time.Minute)
	if err != nil {
		panic(err)
	}
	defer unlock()
	return o.h.HandleUpdateOnce(held, &u, o.store, o.key(u), time.Hour)
}

func (o *onceConsole) key(u tgbotapi.Update) string { return "upd:1:" + strconv.Itoa(u.UpdateID) }

// again delivers the last update once more, as Telegram does when nobody
// answered it, and reports whether it was skipped as a repeat.
func (o *onceConsole) again() (repeated bool) {
	return o.handle(context.Background(), o.last)
}

// Replicas: an update taken over from a replica that died after moving
// the conversation on (its new state saved, its next question maybe never
// sent) gets that question again instead of "button no longer active" or
// being taken for an answer to it; once marked done, it is skipped.
func TestTakenOverUpdateAsksTheNewStepAgain(t *testing.T) {
	// With flood control on, and off (FLOOD_MESSAGES=0): the same.
	for _, flood := range []int{20, 0} {
		t.Run("flood "+strconv.Itoa(flood), func(t *testing.T) {
			c := newChatTest(t, "en")
			rs, ok := c.states.(*storage.RedisStateStore)
			if !ok {
				t.Fatalf("the test's state store is %T, want Redis", c.states)
			}
			c.deps.Config.FloodMessages, c.deps.Config.FloodWindow = flood, time.Minute
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
			held, unlock, err := rs.LockChat(context.Background(), "chat:11", time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _, _, _, err := rs.SeenCountGet(held, once.key(u), time.Hour, storage.FloodKey(11), time.Minute, 11)
			unlock()
			if err != nil || !first {
				t.Fatalf("marking the update in progress: %v %v", first, err)
			}
			once.last = u
			if once.again() {
				t.Fatal("an update in progress whose replica died was skipped")
			}
			c.expect(c.out.take(), "Where is the conflict?")

			// Handled and marked done: a later delivery is a repeat.
			held, unlock, err = rs.LockChat(context.Background(), "chat:11", time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			err = rs.SeenDone(held, once.key(once.last), time.Hour)
			unlock()
			if err != nil {
				t.Fatal(err)
			}
			if !once.again() {
				t.Fatal("a done update was handled again")
			}
			if out := c.out.take(); out != "" {
				t.Errorf("a repeated update printed:\n%s", out)
			}
		})
	}
}

// lastUpdate hands the console's updates to the handlers and keeps the last.
type lastUpdate struct {
	h    *Handlers
	last tgbotapi.Update
}

func (l *lastUpdate) HandleUpdate(ctx context.Context, u tgbotapi.Update) {
	l.last = u
	l.h.HandleUpdate(ctx, u)
}

// A replica that died after committing a confirmed request and before
// telling the citizen: the next replica handles the same press again (the
// state as the dead one left it, at the summary) and finds the case
// already stored. One case, and the citizen is told its number.
func TestConfirmHandledAgainStoresTheCaseOnce(t *testing.T) {
	c := newChatTest(t, "en")
	rec := &lastUpdate{h: c.h}
	c.console.SetHandler(rec)
	ctx := context.Background()
	c.expect(c.say("@as 10 en\n🤝 Mediation\n🙋 Ask for a mediator\n@press 1\n@press Family\n"+
		"My neighbour and I argue about the fence between our houses.\nAstana\n@press Русский\n@contact "+citizenPhone), "Confirm")
	first, again := confirmTwice(c, rec, 10, "@press ✅ Confirm")
	// No mediator serves it: the press handled again answers as the first
	// did, that the regional office was told.
	c.expect(first, "Your case M-000001 was received. No mediator", "a person from it will follow up")
	c.expect(again, "Your case M-000001 was received. No mediator", "a person from it will follow up")
	cases, err := c.db.CasesOfCitizen(ctx, 10, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 1 {
		t.Errorf("the citizen has %d cases after the press was handled twice, want 1", len(cases))
	}

	// A new request, different, is a new case.
	c.expect(c.say("🤝 Mediation\n🙋 Ask for a mediator\n@press 1\n@press Neighbours\n"+
		"The dog next door barks all night and nobody answers the door.\nAstana\n@press Русский\n@contact "+citizenPhone+"\n@press ✅ Confirm"),
		"Your case M-000002 was received.")
}

// The same for a request for help: the press handled again finds the
// request already stored, not "you already have an open request".
func TestHelpConfirmHandledAgainStoresTheRequestOnce(t *testing.T) {
	c := newChatTest(t, "en")
	rec := &lastUpdate{h: c.h}
	c.console.SetHandler(rec)
	out := c.say("@as 12 en\nCharity\nI need help")
	if strings.Contains(out, "Do you agree?") {
		c.say("@press ✅ I agree")
	}
	c.expect(c.say("@press 🍞 Food\n4\nWe need food for four people this week.\nShymkent\n@contact +77011234567"), "Confirm")
	first, again := confirmTwice(c, rec, 12, "@press ✅ Confirm")
	c.expect(first, "C-000001")
	c.expect(again, "C-000001")
	c.reject(again, "already have an open request", "C-000002")
}

// confirmTwice presses Confirm (the script's last line) as user, then hands
// the same press to the handlers again with the user's state put back as it
// was before it: what the replica that takes the press over from one that
// died after committing (and before saving the state) does. It returns what
// the first and the second handling said.
func confirmTwice(c *chatTest, rec *lastUpdate, user int64, confirm string) (first, again string) {
	c.t.Helper()
	ctx := context.Background()
	before, err := c.states.Get(ctx, user)
	if err != nil {
		c.t.Fatal(err)
	}
	first = c.say(confirm)
	if _, err := c.states.Update(ctx, user, func(st *storage.State) error {
		v := st.Version
		*st = before
		st.Version = v
		return nil
	}); err != nil {
		c.t.Fatal(err)
	}
	c.h.HandleUpdate(ctx, rec.last)
	if err := c.h.RunDue(ctx); err != nil {
		c.t.Fatal(err)
	}
	return first, c.out.take()
}

// handledTwice sends input as user and hands the same update to the
// handlers again (confirmTwice): both times the reply has want, and each
// of to got one message in all.
func handledTwice(c *chatTest, rec *lastUpdate, user int64, input, want string, to ...int64) {
	c.t.Helper()
	first, again := confirmTwice(c, rec, user, input)
	c.expect(first, want)
	c.expect(again, want)
	for _, id := range to {
		if n := len(messagesTo(first+"\n\n"+again, id)); n != 1 {
			c.t.Errorf("%d got the message %d times, want 1:\n%s\n---\n%s", id, n, first, again)
		}
	}
}

// An update of an open help request handled again: the request is not
// changed a second time and its coordinator is not told twice.
func TestHelpUpdateHandledAgainNotifiesOnce(t *testing.T) {
	c := newChatTest(t, "en", 100)
	rec := &lastUpdate{h: c.h}
	c.console.SetHandler(rec)
	c.coordinator(100, 21, "Dana", "Shymkent city")
	c.expect(c.askHelp(10, "💊 Medicine", "2", "Insulin for my mother.", "Shymkent"), "Request C-000001 received.")
	c.expect(c.say("@as 10 en\nI need help\n@press 💊 Medicine"), "You already have an open request C-000001")
	c.expect(c.say("@press ✏️ Update it\n3\nInsulin and test strips.\nShymkent\n8 701 765-43-21"), "Please check the new version")
	first, again := confirmTwice(c, rec, 10, "@press ✅ Confirm")
	c.expect(first, "Request C-000001 updated.", "[to 21]")
	c.expect(again, "Request C-000001 updated.")
	c.reject(again, "[to 21]")
}

// A coordinator's press of Create handled again after its commit (the
// replica that handled it died before saving the state): one event, and
// the coordinator is told of that one again, not of a second.
func TestNewEventConfirmHandledAgainCreatesOneEvent(t *testing.T) {
	c, _ := newEventsTest(t)
	rec := &lastUpdate{h: c.h}
	c.console.SetHandler(rec)
	c.expect(c.say("@as 50 en\n/newevent\nTree planting\nWe plant trees in the park.\n05.12.2026 10:00\nAstana\nPark, gate 2\n3"),
		"✅ Create")
	first, again := confirmTwice(c, rec, 50, "@press ✅ Create")
	c.expect(first, "E-000001 · Tree planting", "The event is created.")
	c.expect(again, "E-000001 · Tree planting", "The event is created.")
	c.reject(again, "E-000002")
	es, err := c.db.CoordinatorEvents(context.Background(), 50, c.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 {
		t.Errorf("the coordinator has %d events after the press was handled twice, want 1", len(es))
	}

	// Another event, created afterwards, is a new one.
	c.expect(c.say("/newevent\nTree planting\nWe plant trees in the park.\n05.12.2026 10:00\nAstana\nPark, gate 2\n3\n@press ✅ Create"),
		"E-000002 · Tree planting", "The event is created.")
}

// A coordinator's message to the volunteers handled again after its
// commit: each volunteer gets it once, and the coordinator hears again how
// many it went to.
func TestVolunteersMessageHandledAgainIsSentOnce(t *testing.T) {
	c, _ := newEventsTest(t)
	c.newEvent("05.12.2026 10:00", "2")
	c.volunteer(1, "Dana", "+77011234567")
	c.volunteer(2, "Alia", "+77015554433")
	rec := &lastUpdate{h: c.h}
	c.console.SetHandler(rec)
	c.expect(c.say("@as 50 en\n/events\n@press ✉️ Message volunteers"), "Write the message for the confirmed volunteers")
	handledTwice(c, rec, 50, "Bring gloves, please.", "The message goes to 2 confirmed volunteers.", 1, 2)

	// The same words sent again afterwards are a new message.
	out := c.say("/events\n@press ✉️ Message volunteers\nBring gloves, please.")
	for _, id := range []int64{1, 2} {
		if n := len(messagesTo(out, id)); n != 1 {
			t.Errorf("volunteer %d got a second message %d times, want 1:\n%s", id, n, out)
		}
	}
}

// A message to the other side of a case handled again after its commit:
// relayed once, and the sender told "Sent" again.
func TestRelayedMessageHandledAgainIsSentOnce(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.mediator(3, "Bolat")
	c.submit(10, "💬 Through the bot only")
	c.expect(c.say("@as 3 en\n@press ✅ Accept"), "You accepted case M-000001")
	rec := &lastUpdate{h: c.h}
	c.console.SetHandler(rec)
	c.expect(c.say("@as 10 en\n@press ✉️ Write to the mediator"), "passed to the mediator Bolat")
	handledTwice(c, rec, 10, "Hello, when can we talk?", "✓ Sent to", 3)
}

// The record of a step done outlives any delivery of its update again
// (stepsKept), and the daily retention job forgets it after that.
func TestRetentionForgetsStepsDone(t *testing.T) {
	c, _ := newEventsTest(t)
	rec := &lastUpdate{h: c.h}
	c.console.SetHandler(rec)
	c.newEvent("05.12.2026 10:00", "3")
	key := "event.create:50:" + strconv.Itoa(rec.last.UpdateID)
	done := func() bool {
		t.Helper()
		var ok bool
		if err := c.db.Tx(context.Background(), func(tx *storage.Tx) error {
			var err error
			_, ok, err = tx.StepDone(key)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !done() {
		t.Fatalf("creating the event recorded no step %s", key)
	}
	c.advance(stepsKept - time.Hour)
	if !done() {
		t.Fatal("the step was forgotten before stepsKept")
	}
	c.advance(25 * time.Hour) // past stepsKept, and a run of the daily job
	if done() {
		t.Error("the retention job kept the step past stepsKept")
	}
}

// A mediator's closing note, and a coordinator's, handled again after
// the commit: the citizen is told once, and the staff member hears again
// that it is closed (not "not open", "already closed").
func TestClosingHandledAgainTellsTheCitizenOnce(t *testing.T) {
	t.Run("case", func(t *testing.T) {
		c := newChatTest(t, "en", 100)
		c.mediator(3, "Bolat")
		c.submit(10, "💬 Through the bot only")
		rec := &lastUpdate{h: c.h}
		c.console.SetHandler(rec)
		c.expect(c.say("@as 3 en\n@press ✅ Accept\n/cases\n@press ✅ Close the case\n@press Resolved"), "note")
		handledTwice(c, rec, 3, "An agreement was signed.", "Case M-000001 is closed.", 10)
	})
	t.Run("help request", func(t *testing.T) {
		c := newChatTest(t, "en", 100)
		c.coordinator(100, 21, "Dana", "Shymkent city")
		c.expect(c.askHelp(10, "💊 Medicine", "2", "Insulin for my mother.", "Shymkent"), "Request C-000001 received.")
		rec := &lastUpdate{h: c.h}
		c.console.SetHandler(rec)
		c.expect(c.say("@as 21 en\n@press 🤝 Take\n@press ✅ Fulfilled"), "write a short note for the citizen")
		handledTwice(c, rec, 21, "Delivered on Monday.", "Request C-000001 is marked fulfilled.", 10)
	})
}

// A volunteer's registration handled again after its commit (the phone,
// the last answer): registered once, and told so again, not "already
// registered"; the same for a place on the waitlist.
func TestRegistrationHandledAgainAnswersAsTheFirstTime(t *testing.T) {
	c, _ := newEventsTest(t)
	c.newEvent("05.12.2026 10:00", "1")
	rec := &lastUpdate{h: c.h}
	c.console.SetHandler(rec)
	for _, v := range []struct {
		id            int64
		name, phone   string
		want, wantNot string
	}{
		{1, "Dana", "+77011234567", "✅ You are registered for E-000001", "waitlist"},
		{2, "Alia", "+77015554433", "you are number 1 on the waitlist", "You are registered"},
	} {
		c.expect(c.say("@as "+itoa(v.id)+" en\nCharity\nVolunteer at an event\nAstana\n@press 1\n@press 1\n@press ✅ I agree\n"+v.name),
			"phone")
		first, again := confirmTwice(c, rec, v.id, "@contact "+v.phone)
		c.expect(first, v.want)
		c.expect(again, v.want)
		c.reject(again, "already registered", v.wantNot)
	}
	c.expect(c.say("@as 50 en\n/events"), "Confirmed: 1 · waitlist: 1")
}
