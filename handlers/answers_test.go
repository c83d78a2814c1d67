package handlers

import (
	"context"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/dostyq/dostyq/storage"
)

// keyRecorder is a state store that notes, for each flow, every key a
// state of it was saved with.
type keyRecorder struct {
	storage.StateStore
	mu   sync.Mutex
	keys map[string]map[string]bool // flow → keys
}

func (k *keyRecorder) Update(ctx context.Context, userID int64, fn func(*storage.State) error) (storage.State, error) {
	st, err := k.StateStore.Update(ctx, userID, fn)
	if err == nil && st.Flow != "" {
		k.mu.Lock()
		if k.keys[st.Flow] == nil {
			k.keys[st.Flow] = map[string]bool{}
		}
		for key := range st.Data {
			k.keys[st.Flow][key] = true
		}
		k.mu.Unlock()
	}
	return st, err
}

// /mydata shows an unfinished conversation by its flow's Answers; a key
// they lack shows under "Another answer". Every flow is driven through
// each step and branch that keeps an answer in the state, and every key
// saved must be one of the flow's Answers (shown or hidden); every flow is
// driven and every answer listed is seen saved, so that the test notices
// a flow or an answer added without a script here.
func TestEveryKeyAFlowKeepsIsAnAnswer(t *testing.T) {
	c := newChatTest(t, "en", 100)
	rec := &keyRecorder{StateStore: c.states, keys: map[string]map[string]bool{}}
	c.states, c.deps.States = rec, rec
	c.restart()

	// Staff profiles (profile).
	c.mediator(3, "Bolat")
	c.coordinator(100, 50, "Aigerim", "Astana city")

	// The directory (directory).
	c.expect(c.say("@as 10 en\nHouses of Friendship"), "share your location")
	c.loadDirectory()
	c.expect(c.say("Astana"), "Houses of Friendship nearest to Astana") // its results
	// Councils: a town typed before the kind is kept.
	c.expect(c.say("🏛 Councils\nAstana"), "Now choose what you are looking for")
	c.say("/cancel")

	// A mediation request (mediation): a description too long first (its
	// draft kept), the phone shared, "no" typed at the summary, a step
	// edited.
	c.expect(c.say("/cancel\n🤝 Mediation\n🙋 Ask for a mediator\n@press 1\n@press Family\n"+strings.Repeat("a", descriptionMax+1)),
		"characters")
	c.expect(c.say("My neighbour and I argue about the fence between our houses.\nAstana\n@press Русский\n@contact "+citizenPhone+
		"\nno\n@press ✏️ Edit a step\n@press Language\n@press Русский\n@press ✅ Confirm"), "Your case M-000001 was received.")
	// Relayed messages (relay; a mediator's chat keeps the latest message
	// seen), closing (mclose) and rating (mrate).
	c.expect(c.say("@as 3 en\n@press ✅ Accept"), "You accepted case M-000001")
	c.expect(c.say("@press ✉️ Write to the citizen\nGood afternoon.\n🚪 Leave the chat"), "✓ Sent to")
	c.expect(c.say("@as 10 en\n@press ↩️ Reply\nHello, when can we talk?\n🚪 Leave the chat"), "✓ Sent to")
	// A text typed outside the chat, kept until sent (unsent).
	c.expect(c.say("Tomorrow is fine\n@press ✉️ Send to the mediator\n🚪 Leave the chat"), "✓ Sent to")
	c.expect(c.say("@as 3 en\n/cases\n@press ✅ Close the case\n@press Resolved\nAn agreement was signed."), "Case M-000001 is closed.")
	c.expect(c.say("@as 10 en\n@press ⭐4\nVery helpful, thank you."), "Thank you for your feedback.")
	// A mediator's message held: another case's citizen wrote meanwhile.
	c.submit(12, "💬 Through the bot only")
	c.expect(c.say("@as 3 en\n@press ✅ Accept"), "You accepted case M-000002")
	c.submit(13, "💬 Through the bot only")
	c.expect(c.say("@as 3 en\n@press ✅ Accept"), "You accepted case M-000003")
	c.say("@as 3 en\nnote\n@press ✉️ M-000002")
	c.expect(c.say("@as 13 en\n/cases\n@press ✉️ Write to the mediator\nHello?\n🚪 Leave the chat"), "[to 3] M-000003")
	c.expect(c.say("@as 3 en\nSee you on Monday.\n🚪 Leave the chat"), "Not sent: while you were in the chat of case M-000002")

	// Help requests (charity, help): one stored, then updated from the
	// "you already have one" question; another in a town with namesakes,
	// "no" typed at the summary, a step edited, then cancelled.
	c.expect(c.askHelp(11, "🍞 Food", "4", "We need food for four people this week.", "Astana"), "C-000001")
	c.expect(c.say("I need help\n@press 🍞 Food"), "You already have an open request C-000001")
	c.expect(c.say("@press ✏️ Update it\n3\nFood for three people this week.\nAstana\n8 701 765-43-21\n@press ✅ Confirm"),
		"Request C-000001 updated.")
	c.expect(c.say("I need help\n@press 👕 Clothing\n2\nWinter coats for two children.\nQwertyville"), "Choose your region")
	c.expect(c.say("Aksu"), "several places called")
	c.expect(c.say("@press 1\n@contact +77011234567\nno\n@press ✏️ Edit\n@press Family size\n3"), "Family: 3")
	c.say("@press ✖️ Cancel")
	// The coordinator closes the request with a note (helpnote).
	c.expect(c.say("@as 50 en\n@press 🤝 Take"), "You took request C-000001.")
	c.expect(c.say("@press ✅ Fulfilled"), "write a short note for the citizen")
	c.say("Food package delivered on Monday.")

	// Events (newevent, volunteer, volreg, eventmsg): one place, a
	// volunteer, then one more on the waitlist.
	c.newEvent("05.12.2026 10:00", "1")
	c.volunteer(1, "Dana", "+77011234567")
	c.expect(c.volunteer(2, "Alia", "+77015554433"), "waitlist")
	c.expect(c.say("@as 50 en\n/events\n@press ✉️ Message volunteers\nBring gloves, please."), "The message goes to 1 confirmed volunteer.")

	for name, f := range c.h.flows {
		saved, ok := rec.keys[name]
		if !ok {
			t.Errorf("flow %s was never driven: add it to this test", name)
			continue
		}
		listed := map[string]bool{}
		for _, a := range f.Answers {
			listed[a.Key] = true
			if !saved[a.Key] {
				t.Errorf("flow %s lists answer %q, which no step driven here saved", name, a.Key)
			}
		}
		var missing []string
		for key := range saved {
			if !listed[key] {
				missing = append(missing, key)
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			t.Errorf("flow %s keeps %q in the state without listing it in its Answers (nor hiddenAnswers): /mydata shows it as another answer",
				name, missing)
		}
	}
	for name := range rec.keys {
		if !slices.Contains(mapKeys(c.h.flows), name) {
			t.Errorf("a state of flow %s, which is not registered, was saved", name)
		}
	}
}

func mapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
