package handlers

import "testing"

func TestStartGreetsInClientLanguage(t *testing.T) {
	for _, tc := range []struct{ client, menu string }{
		{"kk", "[🏠 Достық үйлері]"},
		{"ru", "[🏠 Дома дружбы]"},
		{"en", "[🏠 Houses of Friendship]"},
		{"de", "[🏠 Достық үйлері]"},
	} {
		t.Run(tc.client, func(t *testing.T) {
			c := newChatTest(t, tc.client)
			out := c.say("/start")
			c.expect(out, tc.menu, "(1) Қазақша  (2) Русский  (3) English")
		})
	}
}

func TestLanguageSwitchIsRemembered(t *testing.T) {
	c := newChatTest(t, "kk")
	c.say("/start")
	out := c.say("/language\n@press English")
	c.expect(out, "The language is now English.", "[🏠 Houses of Friendship]")
	out = c.say("/help")
	c.expect(out, "/language — change the language")
}

func TestMenuWordsWorkInEveryLanguage(t *testing.T) {
	c := newChatTest(t, "kk")
	for _, word := range []string{"Об Ассамблее", "about", "ℹ️ Ассамблея туралы"} {
		out := c.say(word)
		c.expect(out, "1995")
	}
}

func TestUnhandledInputGetsAReply(t *testing.T) {
	c := newChatTest(t, "en")
	c.expect(c.say("/nosuchcommand"), "I do not know this command")
	if out := c.say("@location 43.2 76.9"); out == "" {
		t.Error("a shared location got no reply")
	}
	c.expect(c.say("@contact +77010000000"), "I cannot read this kind of message")
}
