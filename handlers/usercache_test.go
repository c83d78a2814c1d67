package handlers

import (
	"context"
	"testing"
)

// The handlers run on a cached users table (newChatTest turns it on, as
// serve does). A mediator removed by an administrator loses the role on
// their very next update, though they had been chatting a moment before.
func TestRemovedMediatorLosesTheRoleOnTheNextUpdate(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.mediator(2, "Aigerim")
	c.expect(c.say("@as 2 en\n/duty"), "You are off duty.")
	c.expect(c.say("@as 2 en\n/duty"), "You are on duty.")

	c.forge(100, "ma:rm:2")
	c.expect(c.say("@as 100 en\n@press Yes, remove"), "Mediator 2 was removed")
	c.expect(c.say("@as 2 en\n/duty"), "This is for mediators and coordinators.")
}

// A language switch takes effect on the next update at once, every time,
// though the user is cached.
func TestLanguageSwitchTakesEffectAtOnce(t *testing.T) {
	c := newChatTest(t, "kk")
	c.say("/start\n/menu\n/menu")
	c.expect(c.say("/language\n@press English"), "The language is now English.")
	c.expect(c.say("/menu"), "[🏠 Houses of Friendship]")
	c.expect(c.say("/language\n@press Русский"), "[🏠 Дома дружбы]")
	c.expect(c.say("/menu"), "[🏠 Дома дружбы]")
	if u, err := c.db.User(context.Background(), 1); err != nil || u.Lang != "ru" || !u.LangChosen {
		t.Fatalf("stored user: %+v %v", u, err)
	}
}

// After /forget the user's next update is a new user's: the row is created
// again and the language is offered again.
func TestForgottenUserIsNewOnTheNextUpdate(t *testing.T) {
	c := newChatTest(t, "en")
	c.say("/start\n/language\n@press Русский\n/menu")
	c.say("/forget")
	c.say("@press 🗑 Да, удалить мои данные")
	if _, err := c.db.User(context.Background(), 1); err == nil {
		t.Fatal("the user row is still there after /forget")
	}
	c.expect(c.say("/start"), "Houses of Friendship", "(1) Қазақша  (2) Русский  (3) English")
	if u, err := c.db.User(context.Background(), 1); err != nil || u.Lang != "en" || u.LangChosen {
		t.Fatalf("user after /forget and /start: %+v %v", u, err)
	}
}
