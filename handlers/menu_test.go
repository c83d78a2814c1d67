package handlers

import (
	"context"
	"testing"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

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

// "Көмек" (help) alone, as a grandmother types it, is the help, which
// says where charity help and a mediator are; "көмек керек" is the
// charity's request itself.
func TestHelpTypedAloneSaysWhereHelpIs(t *testing.T) {
	c := newChatTest(t, "kk")
	c.say("/start")
	for _, typed := range []string{"көмек", "Көмек", "помощь", "Help", "Справка", "What can you do?"} {
		out := c.say(typed)
		c.expect(out, "💛 Қайырымдылық → 🙏 Маған көмек керек", "🤝 Медиация")
		c.reject(out, "Түсінбедім")
	}
	c.expect(c.say("көмек керек"), "дербес деректерді өңдеуге келісім")
	c.expect(c.say("@as 2 ru\n/help"), "💛 Благотворительность → 🙏 Мне нужна помощь")
	c.expect(c.say("@as 3 en\n/help"), "💛 Charity → 🙏 I need help")
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

// A sticker, a photo, a voice message, a video note and a document at the
// main menu each get the reply that says what the bot understands.
func TestMediaAtTheMenuGetsAReply(t *testing.T) {
	c := newChatTest(t, "kk")
	c.say("/start")
	want := c.h.cat.T("kk", "unknown.message", nil)
	for i, m := range []tgbotapi.Message{
		{Sticker: &tgbotapi.Sticker{FileID: "s"}},
		{Photo: []tgbotapi.PhotoSize{{FileID: "p"}}},
		{Voice: &tgbotapi.Voice{FileID: "v"}},
		{VideoNote: &tgbotapi.VideoNote{FileID: "n"}},
		{Document: &tgbotapi.Document{FileID: "d"}},
	} {
		m.MessageID = 10 + i
		m.From = &tgbotapi.User{ID: 1, LanguageCode: "kk"}
		m.Chat = &tgbotapi.Chat{ID: 1, Type: "private"}
		c.h.HandleUpdate(context.Background(), tgbotapi.Update{UpdateID: 800 + i, Message: &m})
		c.expect(c.out.take(), want)
	}
}
