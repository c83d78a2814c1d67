package bottest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// newClient is the real go-telegram-bot-api client on s.
func newClient(t *testing.T, s *Server) *tgbotapi.BotAPI {
	t.Helper()
	api, err := tgbotapi.NewBotAPIWithAPIEndpoint(s.Token(), s.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	return api
}

func TestGetUpdatesDropsConfirmedUpdates(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	api := newClient(t, s)
	user := User{ID: 1, LanguageCode: "kk"}
	first := s.SendText(user, "/start")
	s.SendLocation(user, 43.2, 76.9)
	s.SendContact(user, "+70000000000")

	ups, err := api.GetUpdates(tgbotapi.UpdateConfig{Offset: 0, Limit: 2})
	if err != nil || len(ups) != 2 || ups[0].UpdateID != first || !ups[0].Message.IsCommand() || ups[1].Message.Location == nil {
		t.Fatalf("first poll: %+v, %v", ups, err)
	}
	// The same offset gets the same updates: nothing was confirmed.
	ups, _ = api.GetUpdates(tgbotapi.UpdateConfig{Offset: 0})
	if len(ups) != 3 {
		t.Fatalf("second poll got %d updates, want 3", len(ups))
	}
	// An offset confirms everything below it.
	ups, _ = api.GetUpdates(tgbotapi.UpdateConfig{Offset: first + 2})
	if len(ups) != 1 || ups[0].Message.Contact == nil {
		t.Fatalf("poll from offset: %+v", ups)
	}
	ups, _ = api.GetUpdates(tgbotapi.UpdateConfig{Offset: 0})
	if len(ups) != 1 {
		t.Errorf("confirmed updates came back: %d", len(ups))
	}
}

func TestGetUpdatesLongPollsUntilAnUpdateComes(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	api := newClient(t, s)
	got := make(chan []tgbotapi.Update)
	go func() {
		ups, _ := api.GetUpdates(tgbotapi.UpdateConfig{Timeout: 30})
		got <- ups
	}()
	if _, err := s.WaitCall(context.Background(), "getMe"); err != nil {
		t.Fatal(err)
	}
	s.SendText(User{ID: 2}, "hello")
	select {
	case ups := <-got:
		if len(ups) != 1 || ups[0].Message.Text != "hello" {
			t.Errorf("long poll returned %+v", ups)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the long poll did not return when an update came")
	}
}

func TestSendEditAndNext(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	api := newClient(t, s)
	kb := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("More", "more:1")))
	msg := tgbotapi.NewMessage(7, "page 1")
	msg.ReplyMarkup = kb
	sent, err := api.Send(msg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Send(tgbotapi.NewEditMessageText(7, sent.MessageID, "page 1")); err != nil {
		// Same text, keyboard removed: modified.
		t.Fatal(err)
	}
	_, err = api.Send(tgbotapi.NewEditMessageText(7, sent.MessageID, "page 1"))
	var te *tgbotapi.Error
	if !errors.As(err, &te) || te.Code != 400 {
		t.Errorf("an edit that changes nothing: %v, want 400 message is not modified", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e, err := s.Next(ctx, 7)
	if err != nil || e.Method != "sendMessage" || e.Text != "page 1" || e.Inline == nil || e.MessageID != sent.MessageID {
		t.Fatalf("first: %+v, %v", e, err)
	}
	e, err = s.Next(ctx, 7)
	if err != nil || e.Method != "editMessageText" || e.Inline != nil {
		t.Fatalf("second: %+v, %v", e, err)
	}
	if p := s.Pending(7); len(p) != 0 {
		t.Errorf("a failed edit showed in the chat: %+v", p)
	}
}

func TestRateLimitsAnswerTooManyRequests(t *testing.T) {
	s := New(Options{RateLimit: true})
	defer s.Close()
	api := newClient(t, s)
	var limited *tgbotapi.Error
	for i := 0; i < 10 && limited == nil; i++ {
		_, err := api.Send(tgbotapi.NewMessage(5, "hi"))
		errors.As(err, &limited)
	}
	if limited == nil || limited.RetryAfter < 1 {
		t.Fatalf("ten messages at once to one chat: no 429 with retry_after (%+v)", limited)
	}
	if s.TooManyRequests() != 1 {
		t.Errorf("TooManyRequests = %d", s.TooManyRequests())
	}
}

func TestWebhookDeliveryWithSecretAndPerChatOrder(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	var mu sync.Mutex
	got := map[int64][]string{}
	done := make(chan struct{}, 100)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Telegram-Bot-Api-Secret-Token") != "secret-secret-secret" || r.URL.Path != "/hook" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		u, err := newClientless().HandleUpdate(r)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		got[u.Message.Chat.ID] = append(got[u.Message.Chat.ID], u.Message.Text)
		mu.Unlock()
		done <- struct{}{}
	}))
	defer hook.Close()

	s.SendText(User{ID: 1}, "queued before the webhook")
	api := newClient(t, s)
	s.DeliverTo(hook.URL)
	wh, _ := tgbotapi.NewWebhook("https://bot.example.test/hook")
	if _, err := api.Request(wh); err != nil {
		t.Fatal(err)
	}
	// The library cannot set secret_token: MakeRequest can.
	if _, err := api.MakeRequest("setWebhook", tgbotapi.Params{"url": "https://bot.example.test/hook", "secret_token": "secret-secret-secret"}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.GetUpdates(tgbotapi.UpdateConfig{}); err == nil {
		t.Error("getUpdates works while a webhook is set")
	}
	for i := 0; i < 5; i++ {
		for chat := int64(1); chat <= 3; chat++ {
			s.SendText(User{ID: chat}, string(rune('a'+i)))
		}
	}
	for i := 0; i < 16; i++ {
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("%d of 16 updates delivered", i)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[int64]string{1: "queued before the webhook,a,b,c,d,e", 2: "a,b,c,d,e", 3: "a,b,c,d,e"}
	for chat, w := range want {
		if g := join(got[chat]); g != w {
			t.Errorf("chat %d got %s, want %s", chat, g, w)
		}
	}
}

func newClientless() *tgbotapi.BotAPI { return &tgbotapi.BotAPI{} }

func join(list []string) string {
	out := ""
	for i, s := range list {
		if i > 0 {
			out += ","
		}
		out += s
	}
	return out
}

func TestWrongTokenIsUnauthorized(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	if _, err := tgbotapi.NewBotAPIWithAPIEndpoint("1:wrong", s.Endpoint()); err == nil {
		t.Error("a wrong token was accepted")
	}
}

// With TLS the server speaks HTTPS, and a client that trusts its
// certificate (and only such a one) gets answers.
func TestServerSpeaksTLSWithItsOwnCertificate(t *testing.T) {
	s := New(Options{TLS: true})
	defer s.Close()
	if !strings.HasPrefix(s.Endpoint(), "https://") {
		t.Fatalf("endpoint %s, want https", s.Endpoint())
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CertificatePEM()) {
		t.Fatalf("CertificatePEM gives no certificate: %q", s.CertificatePEM())
	}
	trusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	api, err := tgbotapi.NewBotAPIWithClient(s.Token(), s.Endpoint(), trusting)
	if err != nil {
		t.Fatalf("getMe over TLS: %v", err)
	}
	if api.Self.ID == 0 {
		t.Error("getMe answered no bot")
	}
	if _, err := tgbotapi.NewBotAPIWithClient(s.Token(), s.Endpoint(), &http.Client{}); err == nil {
		t.Error("a client that does not trust the certificate got an answer")
	}
	if plain := New(Options{}); plain.CertificatePEM() != nil {
		t.Error("a plain server gives a certificate")
	} else {
		plain.Close()
	}
}

// The fake Bot API reads reply_markup as Telegram does: an inline keyboard,
// a reply keyboard with its options, a removal, and refuses callback data
// over 64 bytes and markup that is not JSON. An edit that only changes the
// keyboard is a change; one that repeats the keyboard is not.
func TestReplyMarkupAsTelegramReadsIt(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	api := newClient(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	reply := tgbotapi.NewReplyKeyboard(tgbotapi.NewKeyboardButtonRow(tgbotapi.NewKeyboardButtonLocation("Share location")))
	reply.OneTimeKeyboard = true
	msg := tgbotapi.NewMessage(8, "where are you?")
	msg.ReplyMarkup = reply
	if _, err := api.Send(msg); err != nil {
		t.Fatal(err)
	}
	e, err := s.Next(ctx, 8)
	if err != nil || e.Keyboard == nil || e.Inline != nil || !e.Keyboard.OneTimeKeyboard ||
		len(e.Keyboard.Keyboard) != 1 || !e.Keyboard.Keyboard[0][0].RequestLocation || e.Keyboard.Keyboard[0][0].Text != "Share location" {
		t.Fatalf("reply keyboard read as %+v, %v", e, err)
	}

	msg = tgbotapi.NewMessage(8, "thanks")
	msg.ReplyMarkup = tgbotapi.NewRemoveKeyboard(false)
	if _, err := api.Send(msg); err != nil {
		t.Fatal(err)
	}
	if e, err := s.Next(ctx, 8); err != nil || !e.RemoveKeyboard || e.Keyboard != nil || e.Inline != nil {
		t.Fatalf("removal read as %+v, %v", e, err)
	}

	one := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("More", "more:1")))
	msg = tgbotapi.NewMessage(8, "page 1")
	msg.ReplyMarkup = one
	sent, err := api.Send(msg)
	if err != nil {
		t.Fatal(err)
	}
	if e, err := s.Next(ctx, 8); err != nil || e.Inline == nil || e.Keyboard != nil || e.Inline.InlineKeyboard[0][0].Text != "More" ||
		*e.Inline.InlineKeyboard[0][0].CallbackData != "more:1" {
		t.Fatalf("inline keyboard read as %+v, %v", e, err)
	}
	two := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("More", "more:2")))
	if _, err := api.Send(tgbotapi.NewEditMessageReplyMarkup(8, sent.MessageID, two)); err != nil {
		t.Errorf("an edit of the keyboard alone: %v", err)
	}
	var te *tgbotapi.Error
	if _, err := api.Send(tgbotapi.NewEditMessageReplyMarkup(8, sent.MessageID, two)); !errors.As(err, &te) || te.Code != 400 {
		t.Errorf("an edit repeating the keyboard: %v, want 400 message is not modified", err)
	}

	long := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("x", strings.Repeat("d", 65))))
	msg = tgbotapi.NewMessage(8, "too long")
	msg.ReplyMarkup = long
	if _, err := api.Send(msg); !errors.As(err, &te) || te.Code != 400 || !strings.Contains(te.Message, "BUTTON_DATA_INVALID") {
		t.Errorf("callback data of 65 bytes: %v, want 400 BUTTON_DATA_INVALID", err)
	}
	if _, err := api.MakeRequest("sendMessage", tgbotapi.Params{"chat_id": "8", "text": "x", "reply_markup": "{not json"}); !errors.As(err, &te) || te.Code != 400 {
		t.Errorf("markup that is not JSON: %v, want 400", err)
	}
}
