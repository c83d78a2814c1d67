package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/bot"
)

// tgSender sends text messages with the real go-telegram-bot-api client,
// for tests of delivery against a test Bot API server.
type tgSender struct{ api *tgbotapi.BotAPI }

func (s tgSender) Send(ctx context.Context, m bot.Message) (int, error) {
	params := tgbotapi.Params{"chat_id": strconv.FormatInt(m.ChatID, 10), "text": m.Text}
	if m.Protect {
		params["protect_content"] = "true"
	}
	resp, err := s.api.MakeRequest("sendMessage", params)
	if err != nil {
		return 0, err
	}
	var msg tgbotapi.Message
	if err := jsonUnmarshal(resp.Result, &msg); err != nil {
		return 0, err
	}
	return msg.MessageID, nil
}

func (s tgSender) AnswerCallback(ctx context.Context, id, text string) error { return nil }

// flakyBotAPI is a test Bot API server that fails every second sendMessage,
// alternately with a 500 and a 429 (retry_after 1), and records what it
// accepted.
type flakyBotAPI struct {
	mu        sync.Mutex
	calls     int
	delivered map[string]int // text → times accepted
	protected map[string]bool
}

func (f *flakyBotAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path == "/botTEST/getMe" {
		fmt.Fprint(w, `{"ok":true,"result":{"id":1,"is_bot":true,"first_name":"Dostyq","username":"dostyq_test_bot"}}`)
		return
	}
	r.ParseForm()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	switch {
	case f.calls%4 == 2:
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `{"ok":false,"error_code":500,"description":"Internal Server Error"}`)
		return
	case f.calls%4 == 0:
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}`)
		return
	}
	text := r.PostForm.Get("text")
	f.delivered[text]++
	f.protected[text] = r.PostForm.Get("protect_content") == "true"
	fmt.Fprintf(w, `{"ok":true,"result":{"message_id":%d,"date":0,"chat":{"id":%s,"type":"private"},"text":"x"}}`, f.calls, r.PostForm.Get("chat_id"))
}

func TestOutboxThroughAFlakyBotAPIDeliversEveryNotificationOnce(t *testing.T) {
	srv := &flakyBotAPI{delivered: map[string]int{}, protected: map[string]bool{}}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	api, err := tgbotapi.NewBotAPIWithAPIEndpoint("TEST", ts.URL+"/bot%s/%s")
	if err != nil {
		t.Fatal(err)
	}
	c := newChatTest(t, "en")
	c.deps.Sender = tgSender{api}
	c.restart()

	const n = 30
	for i := 0; i < n; i++ {
		c.enqueue(Notice{Message: bot.Message{ChatID: int64(100 + i%4), Text: fmt.Sprintf("notice %d", i), Protect: i%2 == 0}})
	}
	for i := 0; i < 200 && c.pending() > 0; i++ {
		c.advance(time.Second)
	}
	if p := c.pending(); p != 0 {
		t.Fatalf("%d notifications still pending", p)
	}
	for i := 0; i < n; i++ {
		text := fmt.Sprintf("notice %d", i)
		if got := srv.delivered[text]; got != 1 {
			t.Errorf("%q accepted %d times, want once", text, got)
		}
		if srv.protected[text] != (i%2 == 0) {
			t.Errorf("%q protect_content %v", text, srv.protected[text])
		}
	}
	if srv.calls < 2*n-1 {
		t.Errorf("the server saw %d sendMessage calls; the faults were not exercised", srv.calls)
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
