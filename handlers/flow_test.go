package handlers

import (
	"context"
	"errors"
	"strings"
	"testing"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/bot"
	"github.com/dostyq/dostyq/locales"
)

// addTestFlow registers a two-step flow: a name typed as text, then a colour
// chosen with inline buttons. /testflow starts it.
func addTestFlow(h *Handlers) {
	h.flow(&Flow{
		Name:  "test",
		First: "name",
		Steps: map[string]Step{
			"name": {
				Ask: func(r *Request) error {
					return r.ReplyKeyboard("What is your name?", r.FlowKeyboard())
				},
				Answer: func(r *Request) (string, error) {
					if r.Text == "" {
						return Stay, r.Reply("Type your name.")
					}
					r.State.Set("name", r.Text)
					return "colour", nil
				},
			},
			"colour": {
				Ask: func(r *Request) error {
					_, err := r.ReplyInline("Colour for "+r.State.Get("name")+"?", tgbotapi.NewInlineKeyboardMarkup(
						tgbotapi.NewInlineKeyboardRow(
							tgbotapi.NewInlineKeyboardButtonData("red", StepData("colour", "red")),
							tgbotapi.NewInlineKeyboardButtonData("blue", StepData("colour", "blue")),
						)))
					return err
				},
				Answer: func(r *Request) (string, error) {
					if r.Data == "" {
						return Stay, invalid("unknown.in_flow", nil)
					}
					return End, r.Reply("Done: " + r.State.Get("name") + " likes " + r.Data)
				},
			},
		},
	})
	h.command("testflow", func(r *Request) error { return h.StartFlow(r, "test", nil) })
}

func TestFlowStepsBackAndCancel(t *testing.T) {
	c := newChatTest(t, "en")
	addTestFlow(c.h)

	out := c.say("/testflow")
	c.expect(out, "What is your name?", "[◀️ Back] [✖️ Cancel]")
	c.expect(c.say("Aigerim"), "Colour for Aigerim?", "(1) red  (2) blue")
	// Back returns to the name step; typed in Russian while reading English.
	c.expect(c.say("Назад"), "What is your name?")
	c.expect(c.say("Dana"), "Colour for Dana?")
	c.expect(c.say("@press blue"), "Done: Dana likes blue")
	st, err := c.states.Get(context.Background(), 1)
	if err != nil || st.Flow != "" {
		t.Fatalf("after the last step the flow should be over, state %+v, err %v", st, err)
	}

	c.say("/testflow")
	c.expect(c.say("/cancel"), "Cancelled")
	c.say("/testflow\nAsel")
	c.expect(c.say("Болдырмау"), "Cancelled")
}

func TestFlowResumesAfterRestart(t *testing.T) {
	c := newChatTest(t, "en")
	addTestFlow(c.h)
	c.say("/testflow\nAruzhan")

	// A new process: new handlers and console on the same database and state store.
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	c.console = bot.NewConsole(c.out, 1, "en")
	c.h = New(Deps{DB: c.db, States: c.states, Sender: c.console, Catalog: cat, Gazetteer: testGazetteer(t)})
	addTestFlow(c.h)
	c.console.SetHandler(c.h)

	// The old message's buttons are not known to the new console: answer by
	// asking the step again with Back, then forward.
	c.expect(c.say("Back"), "What is your name?")
	c.expect(c.say("Aruzhan"), "Colour for Aruzhan?")
	c.expect(c.say("@press red"), "Done: Aruzhan likes red")
}

func TestFlowRefusesOutdatedButtonsAndOddMessages(t *testing.T) {
	c := newChatTest(t, "en")
	addTestFlow(c.h)
	c.say("/testflow\nMarat")
	// A forged button of another step.
	c.h.HandleUpdate(context.Background(), tgbotapi.Update{UpdateID: 900, CallbackQuery: &tgbotapi.CallbackQuery{
		ID: "x", From: &tgbotapi.User{ID: 1, LanguageCode: "en"}, Data: StepData("name", "evil"),
		Message: &tgbotapi.Message{MessageID: 1, Chat: &tgbotapi.Chat{ID: 1, Type: "private"}},
	}})
	// The step just answered: the notice alone, as for a double tap (a
	// step further back also asks the current question again:
	// TestButtonsAskedAgainAtTheBottom). The answer is not taken.
	out := c.out.take()
	c.expect(out, "This button is no longer active.")
	c.reject(out, "Colour for Marat?")
	// A sticker in the middle of the flow keeps the answers.
	c.h.HandleUpdate(context.Background(), tgbotapi.Update{UpdateID: 901, Message: &tgbotapi.Message{
		MessageID: 2, From: &tgbotapi.User{ID: 1, LanguageCode: "en"}, Chat: &tgbotapi.Chat{ID: 1, Type: "private"},
		Sticker: &tgbotapi.Sticker{FileID: "s"},
	}})
	c.expect(c.out.take(), "your answers so far are kept")
	out = c.say("@press red")
	c.expect(out, "Done: Marat likes red")
	if strings.Contains(out, "evil") {
		t.Error("forged data reached the flow")
	}
}

// twoUpdatesOfOneState starts a chat as user 1 and returns two requests of
// theirs that loaded the same state, as two replicas handling two updates
// of the user at once have them.
func twoUpdatesOfOneState(t *testing.T) (c *chatTest, a, b *Request) {
	t.Helper()
	c = newChatTest(t, "en")
	ctx := context.Background()
	c.say("/start")
	loaded, err := c.states.Get(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	return c, &Request{ctx: ctx, h: c.h, UserID: 1, State: loaded}, &Request{ctx: ctx, h: c.h, UserID: 1, State: loaded}
}

// Two replicas handling two updates of one user: the one that saves second
// finds the state moved on, writes nothing and says so; the first one's
// answers stay.
func TestSaveStateRefusesAStaleState(t *testing.T) {
	c, first, second := twoUpdatesOfOneState(t)
	ctx := context.Background()
	first.State.Flow, first.State.Step = "first", "a"
	second.State.Flow, second.State.Step = "second", "b"
	if err := c.h.saveState(first); err != nil {
		t.Fatal(err)
	}
	if err := c.h.saveState(second); !errors.Is(err, errStateMoved) {
		t.Fatalf("saving a stale state: %v, want errStateMoved", err)
	}
	got, err := c.states.Get(ctx, 1)
	if err != nil || got.Flow != "first" {
		t.Fatalf("stored %+v, %v; want the first update's state", got, err)
	}
	if key, _, internal := replyKey(errStateMoved); internal || c.h.cat.T("kk", key, nil) == key {
		t.Errorf("the user gets no reply in their language for a moved state")
	}
}

// A flow that ends (its last step done: a request stored, a broadcast
// sent) after another update moved the conversation on is no error: the
// newer state stays, and the user is not asked to do the step again.
func TestEndingAFlowKeepsANewerState(t *testing.T) {
	c, newer, ending := twoUpdatesOfOneState(t)
	ctx := context.Background()
	newer.State.Flow, newer.State.Step = "other", "b"
	if err := c.h.saveState(newer); err != nil {
		t.Fatal(err)
	}
	ending.State.Flow, ending.State.Step = "first", "last"
	if err := c.h.advance(ending, &Flow{Name: "first"}, End); err != nil {
		t.Fatalf("ending a flow after the state moved on: %v, want no error", err)
	}
	if got, err := c.states.Get(ctx, 1); err != nil || got.Flow != "other" {
		t.Fatalf("stored %+v, %v; want the newer update's state", got, err)
	}
}
