package bot

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/bot/bottest"
)

// newTestTelegram connects a sender to a fake Bot API; its retries do not
// really sleep but record the waits.
func newTestTelegram(t *testing.T, o bottest.Options) (*Telegram, *bottest.Server, *[]time.Duration) {
	t.Helper()
	srv := bottest.New(o)
	t.Cleanup(srv.Close)
	tg, err := NewTelegram(context.Background(), TelegramOptions{Token: srv.Token(), Endpoint: srv.Endpoint(), Retries: 3})
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	tg.sleep = func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		return ctx.Err()
	}
	return tg, srv, &waits
}

func TestTelegramSendsPlainTextWithKeyboard(t *testing.T) {
	tg, srv, _ := newTestTelegram(t, bottest.Options{})
	if tg.Self().UserName != bottest.BotUsername {
		t.Errorf("getMe: %q", tg.Self().UserName)
	}
	kb := tgbotapi.NewReplyKeyboard(tgbotapi.NewKeyboardButtonRow(tgbotapi.NewKeyboardButton("Menu")))
	id, err := tg.Send(context.Background(), Message{ChatID: 42, Text: "a *star* and an _underscore_", Keyboard: &kb, Protect: true})
	if err != nil {
		t.Fatal(err)
	}
	got := srv.Pending(42)
	if len(got) != 1 || got[0].MessageID != id || got[0].Text != "a *star* and an _underscore_" {
		t.Fatalf("sent %+v, id %d", got, id)
	}
	if got[0].ParseMode != "" || !got[0].Protect || got[0].Keyboard == nil || got[0].Keyboard.Keyboard[0][0].Text != "Menu" {
		t.Errorf("parse_mode %q, protect %v, keyboard %+v", got[0].ParseMode, got[0].Protect, got[0].Keyboard)
	}
}

func TestTelegramSplitsLongTextOnLines(t *testing.T) {
	tg, srv, _ := newTestTelegram(t, bottest.Options{})
	var lines []string
	for i := 0; i < 300; i++ {
		lines = append(lines, strings.Repeat("Достық ", 4)+"— line "+strings.Repeat("x", i%7))
	}
	text := strings.Join(lines, "\n")
	inline := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("More", "more:1")))
	if _, err := tg.Send(context.Background(), Message{ChatID: 5, Text: text, Inline: &inline}); err != nil {
		t.Fatal(err)
	}
	parts := srv.Pending(5)
	if len(parts) < 3 {
		t.Fatalf("%d-character text sent in %d messages", len([]rune(text)), len(parts))
	}
	var joined []string
	for i, p := range parts {
		if n := len([]rune(p.Text)); n > MaxTextLength {
			t.Errorf("part %d has %d characters", i+1, n)
		}
		if (p.Inline != nil) != (i == len(parts)-1) {
			t.Errorf("part %d: inline keyboard %v; it belongs on the last part only", i+1, p.Inline != nil)
		}
		joined = append(joined, p.Text)
	}
	if strings.Join(joined, "\n") != text {
		t.Error("the parts joined by line breaks are not the text: a line was cut or lost")
	}
}

func TestSplitTextNeverCutsACharacter(t *testing.T) {
	text := strings.Repeat("😀", 3000) // two UTF-16 units each, no line breaks or spaces
	parts := SplitText(text, MaxTextLength)
	if strings.Join(parts, "") != text {
		t.Fatal("parts do not add up to the text")
	}
	for _, p := range parts {
		if utf16Len(p) > MaxTextLength {
			t.Errorf("part of %d UTF-16 units", utf16Len(p))
		}
	}
}

func TestTelegramEditsAndTreatsNotModifiedAsSuccess(t *testing.T) {
	tg, srv, _ := newTestTelegram(t, bottest.Options{})
	ctx := context.Background()
	kb := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("More", "more:2")))
	id, err := tg.Send(ctx, Message{ChatID: 9, Text: "page 1", Inline: &kb})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := tg.Send(ctx, Message{ChatID: 9, EditID: id, Text: "page 2", Inline: &kb}); err != nil || got != id {
		t.Fatalf("edit: id %d, %v", got, err)
	}
	if _, err := tg.Send(ctx, Message{ChatID: 9, EditID: id, Text: "page 2", Inline: &kb}); err != nil {
		t.Errorf("an edit that changes nothing: %v", err)
	}
	if _, err := tg.Send(ctx, Message{ChatID: 9, EditID: id + 100, Text: "page 3"}); err == nil {
		t.Error("edit of a message that does not exist succeeded")
	}
	sent := srv.Pending(9)
	if len(sent) != 2 || sent[1].Method != "editMessageText" || sent[1].Text != "page 2" {
		t.Errorf("chat shows %+v", sent)
	}
}

func TestTelegramReportsABlockedUserWithoutRetrying(t *testing.T) {
	tg, srv, waits := newTestTelegram(t, bottest.Options{})
	srv.Block(77)
	_, err := tg.Send(context.Background(), Message{ChatID: 77, Text: "hello"})
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("send to a user who blocked the bot: %v, want ErrUnreachable", err)
	}
	if n := len(srv.Calls("sendMessage")); n != 1 || len(*waits) != 0 {
		t.Errorf("%d sendMessage calls and waits %v; a blocked chat must not be retried", n, *waits)
	}
}

func TestTelegramRetries(t *testing.T) {
	cases := []struct {
		name       string
		code       int
		desc       string
		retryAfter int
		wantWait   func(time.Duration) bool
	}{
		{"429 waits retry_after", 429, "Too Many Requests: retry after 7", 7, func(d time.Duration) bool { return d == 7*time.Second }},
		{"5xx backs off", 502, "Bad Gateway", 0, func(d time.Duration) bool { return d > 0 && d <= 200*time.Millisecond }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tg, srv, waits := newTestTelegram(t, bottest.Options{})
			srv.Fail("sendMessage", c.code, c.desc, c.retryAfter)
			if _, err := tg.Send(context.Background(), Message{ChatID: 3, Text: "hi"}); err != nil {
				t.Fatal(err)
			}
			if len(*waits) != 1 || !c.wantWait((*waits)[0]) {
				t.Errorf("waits %v", *waits)
			}
			if got := srv.Pending(3); len(got) != 1 || got[0].Text != "hi" {
				t.Errorf("delivered %+v", got)
			}
			if st := tg.Stats(); st.Retries != 1 || st.Failed != 0 || st.TooManyRequests != map[bool]int64{true: 1}[c.code == 429] {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestTelegramRetriesADocumentUpload(t *testing.T) {
	tg, srv, waits := newTestTelegram(t, bottest.Options{})
	srv.Fail("sendDocument", 503, "Service Unavailable", 0)
	if _, err := tg.Send(context.Background(), Message{ChatID: 4, Document: &Document{Name: "a.csv", Data: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	if len(*waits) != 1 || len(srv.Pending(4)) != 1 {
		t.Errorf("waits %v, delivered %d", *waits, len(srv.Pending(4)))
	}
}

func TestTelegramGivesUpAfterBoundedRetries(t *testing.T) {
	tg, srv, waits := newTestTelegram(t, bottest.Options{})
	for i := 0; i < 10; i++ {
		srv.Fail("sendMessage", 500, "Internal Server Error", 0)
	}
	if _, err := tg.Send(context.Background(), Message{ChatID: 3, Text: "hi"}); err == nil {
		t.Fatal("send succeeded through ten failures")
	}
	if n := len(srv.Calls("sendMessage")); n != 4 || len(*waits) != 3 {
		t.Errorf("%d tries, %d waits; want 1 try and 3 retries", n, len(*waits))
	}

	// A retry_after longer than the bound is not waited out.
	srv2 := bottest.New(bottest.Options{})
	defer srv2.Close()
	tg.setEndpoint(srv2.Endpoint())
	srv2.Fail("sendMessage", 429, "Too Many Requests: retry after 3600", 3600)
	*waits = nil
	_, err := tg.Send(context.Background(), Message{ChatID: 3, Text: "hi"})
	var ae *APIError
	if !errors.As(err, &ae) || ae.RetryAfter != time.Hour || len(*waits) != 0 {
		t.Errorf("retry after an hour: %v, waits %v", err, *waits)
	}
}

func TestTelegramHonoursContext(t *testing.T) {
	tg, srv, _ := newTestTelegram(t, bottest.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tg.Send(ctx, Message{ChatID: 3, Text: "hi"}); !errors.Is(err, context.Canceled) {
		t.Errorf("send with a cancelled context: %v", err)
	}
	if got := srv.Pending(3); len(got) != 0 {
		t.Errorf("sent %+v with a cancelled context", got)
	}
}

func TestTelegramSendsVenueDocumentAndAnswers(t *testing.T) {
	tg, srv, _ := newTestTelegram(t, bottest.Options{})
	ctx := context.Background()
	if _, err := tg.Send(ctx, Message{ChatID: 11, Venue: &Venue{Latitude: 43.238949, Longitude: 76.889709, Title: "House of Friendship", Address: "Sample street 1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := tg.Send(ctx, Message{ChatID: 11, Protect: true, Document: &Document{Name: "volunteers.csv", Data: []byte("name,phone\n"), Caption: "Registered"}}); err != nil {
		t.Fatal(err)
	}
	_, cb := srv.Press(bottest.User{ID: 11}, 1, "x:1")
	if err := tg.AnswerCallback(ctx, cb, "Done"); err != nil {
		t.Fatal(err)
	}
	got := srv.Pending(11)
	if len(got) != 3 {
		t.Fatalf("chat shows %+v", got)
	}
	if v := got[0].Venue; v == nil || v.Title != "House of Friendship" || v.Location.Latitude != 43.238949 {
		t.Errorf("venue %+v", v)
	}
	if d := got[1].Document; d == nil || d.Name != "volunteers.csv" || string(d.Data) != "name,phone\n" || got[1].Text != "Registered" || !got[1].Protect {
		t.Errorf("document %+v caption %q protect %v", d, got[1].Text, got[1].Protect)
	}
	if got[2].Method != "answerCallbackQuery" || got[2].CallbackID != cb || got[2].Text != "Done" {
		t.Errorf("answer %+v", got[2])
	}
}

// A button's answer or an edit sent aside is written at once and read
// when waited for, without a goroutine of its own: the reply sent
// meanwhile goes out while Telegram still holds the first, and no
// goroutine sits in the sender while both are in flight.
func TestTelegramSendsAsideWithoutAGoroutine(t *testing.T) {
	for _, method := range []string{"answerCallbackQuery", "editMessageText"} {
		t.Run(method, func(t *testing.T) {
			tg, srv, _ := newTestTelegram(t, bottest.Options{})
			ctx := context.Background()
			question, err := tg.Send(ctx, Message{ChatID: 12, Text: "the question"})
			if err != nil {
				t.Fatal(err)
			}
			srv.Take(12)
			release := make(chan struct{})
			srv.Hold(method, release)
			_, cb := srv.Press(bottest.User{ID: 12}, question, "x:1")
			var wait func() error
			if method == "answerCallbackQuery" {
				wait = tg.AnswerCallbackAside(ctx, cb, "Done").Wait
			} else {
				wait = tg.EditAside(ctx, Message{ChatID: 12, EditID: question, Text: "the question: yes"}).Wait
			}
			if _, err := tg.Send(ctx, Message{ChatID: 12, Text: "the reply"}); err != nil {
				t.Fatalf("the reply while %s is held: %v", method, err)
			}
			// The call is recorded a moment before the chat shows it.
			got := srv.Pending(12)
			for end := time.Now().Add(5 * time.Second); len(got) < 2 && time.Now().Before(end); got = srv.Pending(12) {
				time.Sleep(time.Millisecond)
			}
			slices.SortFunc(got, func(a, b bottest.Sent) int { return strings.Compare(b.Method, a.Method) })
			if len(got) != 2 || got[0].Method != "sendMessage" || got[0].Text != "the reply" || got[1].Method != method {
				t.Fatalf("the chat shows %+v, want %s and the reply", got, method)
			}
			if a := got[1]; (method == "answerCallbackQuery" && (a.CallbackID != cb || a.Text != "Done")) ||
				(method == "editMessageText" && (a.MessageID != question || a.Text != "the question: yes")) {
				t.Errorf("%s: %+v", method, a)
			}
			buf := make([]byte, 1<<20)
			if stacks := string(buf[:runtime.Stack(buf, true)]); strings.Contains(stacks, "bot.(*Telegram).do") {
				t.Errorf("a goroutine waits in the sender for the held %s:\n%s", method, stacks)
			}
			done := make(chan error, 1)
			go func() { done <- wait() }()
			select {
			case err := <-done:
				t.Fatalf("wait returned %v before Telegram answered", err)
			case <-time.After(50 * time.Millisecond):
			}
			close(release)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if st := tg.Stats(); st.Requests != 4 || st.Failed != 0 { // getMe, the question, the aside, the reply
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// Callers that hold answers sent aside and then wait for a connection
// read those answers first (WithDrain): with every connection held by an
// aside whose caller waits for a connection, none would ever be free.
func TestTelegramReadsAsidesBeforeWaitingForAConnection(t *testing.T) {
	tg, srv, _ := newTestTelegram(t, bottest.Options{})
	rt := newH1Transport(2, 10*time.Second)
	t.Cleanup(rt.CloseIdleConnections)
	tg.rt = rt
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	users := []int64{21, 22}
	asides := make([]*Aside, len(users))
	for i, id := range users {
		_, cb := srv.Press(bottest.User{ID: id}, 1, "x:1")
		asides[i] = tg.AnswerCallbackAside(ctx, cb, "")
	}
	errs := make(chan error, len(users))
	for i, id := range users {
		go func() {
			uctx := WithDrain(ctx, asides[i].Read)
			if _, err := tg.Send(uctx, Message{ChatID: id, Text: "the reply"}); err != nil {
				errs <- err
				return
			}
			errs <- asides[i].Wait()
		}()
	}
	for range users {
		if err := <-errs; err != nil {
			t.Fatalf("a reply after an aside, both connections taken by asides: %v", err)
		}
	}
	for _, id := range users {
		if got := srv.Pending(id); len(got) != 2 {
			t.Errorf("chat %d shows %+v, want the answer and the reply", id, got)
		}
	}
}

// An aside's answer read after the transport's timeout since its request
// was written, but there in time, is read, not given up and sent again:
// the update that sent it may have taken long (the sending limits' waits
// of its replies).
func TestTelegramReadsAnAsideAnswerLaterThanTheTimeout(t *testing.T) {
	tg, srv, waits := newTestTelegram(t, bottest.Options{})
	rt := newH1Transport(4, 300*time.Millisecond)
	t.Cleanup(rt.CloseIdleConnections)
	tg.rt = rt
	_, cb := srv.Press(bottest.User{ID: 23}, 1, "x:1")
	a := tg.AnswerCallbackAside(context.Background(), cb, "")
	time.Sleep(500 * time.Millisecond)
	if err := a.Wait(); err != nil {
		t.Fatalf("an answer read late: %v", err)
	}
	if n := len(srv.Calls("answerCallbackQuery")); n != 1 || len(*waits) != 0 || tg.Stats().Retries != 0 {
		t.Errorf("%d answerCallbackQuery calls, waits %v, stats %+v: want one, not tried again", n, *waits, tg.Stats())
	}
	// Still bounded: an answer that never comes is given up on.
	release := make(chan struct{})
	defer close(release)
	srv.Hold("answerCallbackQuery", release)
	_, cb = srv.Press(bottest.User{ID: 23}, 1, "x:2")
	tg.Retries = 0
	if err := tg.AnswerCallbackAside(context.Background(), cb, "").Wait(); err == nil {
		t.Fatal("an answer that never came: no error")
	}
}

// Read, what a drain does, reads an aside's first try only: a 429's wait
// and the try again are left to Wait, so the request the drain was for is
// not held up by them.
func TestTelegramAsideReadNeverTriesAgain(t *testing.T) {
	tg, srv, waits := newTestTelegram(t, bottest.Options{})
	srv.Fail("answerCallbackQuery", 429, "Too Many Requests: retry after 20", 20)
	_, cb := srv.Press(bottest.User{ID: 24}, 1, "x:1")
	a := tg.AnswerCallbackAside(context.Background(), cb, "")
	a.Read()
	if n := len(srv.Calls("answerCallbackQuery")); n != 1 || len(*waits) != 0 {
		t.Fatalf("after Read: %d calls, waits %v; want the first try only", n, *waits)
	}
	if _, err := tg.Send(context.Background(), Message{ChatID: 24, Text: "the reply"}); err != nil {
		t.Fatal(err)
	}
	if err := a.Wait(); err != nil {
		t.Fatal(err)
	}
	calls := srv.Calls("answerCallbackQuery", "sendMessage")
	if len(calls) != 3 || calls[0].Status != 429 || calls[1].Method != "sendMessage" || calls[2].Status != 200 || len(*waits) != 1 {
		t.Errorf("calls %+v, waits %v: want the 429, the reply, then the answer again after 20 s", calls, *waits)
	}
}

// An edit sent aside that changes nothing is a success, as with Send.
func TestTelegramEditAsideNotModifiedIsASuccess(t *testing.T) {
	tg, srv, waits := newTestTelegram(t, bottest.Options{})
	ctx := context.Background()
	id, err := tg.Send(ctx, Message{ChatID: 16, Text: "same"})
	if err != nil {
		t.Fatal(err)
	}
	// The fake Bot API refuses an edit to the same text as Telegram does.
	if err := tg.EditAside(ctx, Message{ChatID: 16, EditID: id, Text: "same"}).Wait(); err != nil {
		t.Fatalf("not modified: %v", err)
	}
	var ae *APIError
	if err := tg.EditAside(ctx, Message{ChatID: 16, EditID: id + 100, Text: "other"}).Wait(); !errors.As(err, &ae) || ae.Code != 400 {
		t.Fatalf("an edit of a message that is not there: %v", err)
	}
	if c := srv.Calls("editMessageText"); len(c) != 2 || c[0].Status != 400 || c[1].Status != 400 {
		t.Errorf("edits made: %+v", c)
	}
	if len(*waits) != 0 {
		t.Errorf("waits %v: a refusal is not tried again", *waits)
	}
}

// An answer sent aside that fails is tried again when waited for, as
// AnswerCallback's are: 429 waits retry_after; a refusal is reported, not
// tried again; a cancelled update gives up.
func TestTelegramAnswerAsideRetriesLikeAnAnswer(t *testing.T) {
	ctx := context.Background()
	t.Run("429", func(t *testing.T) {
		tg, srv, waits := newTestTelegram(t, bottest.Options{})
		srv.Fail("answerCallbackQuery", 429, "Too Many Requests: retry after 3", 3)
		_, cb := srv.Press(bottest.User{ID: 13}, 1, "x:1")
		if err := tg.AnswerCallbackAside(ctx, cb, "").Wait(); err != nil {
			t.Fatal(err)
		}
		if len(*waits) != 1 || (*waits)[0] != 3*time.Second {
			t.Errorf("waits %v, want 3s", *waits)
		}
		if got := srv.Pending(13); len(got) != 1 || got[0].CallbackID != cb {
			t.Errorf("answered %+v", got)
		}
		if st := tg.Stats(); st.Retries != 1 || st.TooManyRequests != 1 || st.Failed != 0 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("refused", func(t *testing.T) {
		tg, srv, waits := newTestTelegram(t, bottest.Options{})
		srv.Fail("answerCallbackQuery", 400, "Bad Request: query is too old and response timeout expired or query ID is invalid", 0)
		_, cb := srv.Press(bottest.User{ID: 14}, 1, "x:1")
		err := tg.AnswerCallbackAside(ctx, cb, "").Wait()
		var ae *APIError
		if !errors.As(err, &ae) || ae.Code != 400 || ae.Method != "answerCallbackQuery" {
			t.Fatalf("err %v, want the 400", err)
		}
		if len(*waits) != 0 || tg.Stats().Failed != 1 {
			t.Errorf("waits %v, stats %+v: a refusal is not tried again", *waits, tg.Stats())
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		tg, srv, _ := newTestTelegram(t, bottest.Options{})
		release := make(chan struct{})
		defer close(release)
		srv.Hold("answerCallbackQuery", release)
		_, cb := srv.Press(bottest.User{ID: 15}, 1, "x:1")
		cctx, cancel := context.WithCancel(ctx)
		wait := tg.AnswerCallbackAside(cctx, cb, "").Wait
		cancel()
		if err := wait(); !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v, want context.Canceled", err)
		}
		// The connection of the cancelled request is not reused: the
		// next request gets its own answer.
		if _, err := tg.Send(ctx, Message{ChatID: 15, Text: "next"}); err != nil {
			t.Fatal(err)
		}
	})
}

// A relayed photo or voice message goes as copyMessage: the chat and
// message it copies, the caption, protect_content and the buttons reach
// the Bot API, and the id of the copy comes back.
func TestTelegramSendsACopy(t *testing.T) {
	tg, srv, _ := newTestTelegram(t, bottest.Options{})
	kb := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("Reply", "mc:w:1")))
	id, err := tg.Send(context.Background(), Message{ChatID: 3, Text: "Case M-000001, from Aigerim:\n\nThe fence", Protect: true,
		Inline: &kb, Copy: &Copy{FromChatID: 10, MessageID: 42}})
	if err != nil {
		t.Fatal(err)
	}
	got := srv.Pending(3)
	if len(got) != 1 {
		t.Fatalf("chat shows %+v", got)
	}
	c := got[0]
	if c.Method != "copyMessage" || c.CopyFrom != 10 || c.CopyMessage != 42 || c.Text != "Case M-000001, from Aigerim:\n\nThe fence" ||
		!c.Protect || c.Inline == nil || c.MessageID != id || id == 0 {
		t.Errorf("copy %+v, id %d", c, id)
	}
}

// A reply names the user's message it answers, and goes even if that
// message was deleted meanwhile; a long text is one reply, in parts, only
// the first naming the message; a copy can be a reply too.
func TestTelegramSendsAReply(t *testing.T) {
	tg, srv, _ := newTestTelegram(t, bottest.Options{})
	ctx := context.Background()
	if _, err := tg.Send(ctx, Message{ChatID: 10, Text: "Not passed on.", ReplyTo: 42}); err != nil {
		t.Fatal(err)
	}
	if _, err := tg.Send(ctx, Message{ChatID: 10, Text: strings.Repeat("слово ", 1000), ReplyTo: 43}); err != nil {
		t.Fatal(err)
	}
	if _, err := tg.Send(ctx, Message{ChatID: 3, Copy: &Copy{FromChatID: 10, MessageID: 44}, ReplyTo: 7}); err != nil {
		t.Fatal(err)
	}
	if _, err := tg.Send(ctx, Message{ChatID: 10, Text: "Plain."}); err != nil {
		t.Fatal(err)
	}
	got := srv.Pending(10)
	if len(got) != 4 {
		t.Fatalf("chat 10 shows %d messages: %+v", len(got), got)
	}
	for i, want := range []int{42, 43, 0, 0} {
		if got[i].ReplyTo != want || got[i].ReplyAnyway != (want != 0) {
			t.Errorf("message %d: reply to %d (anyway %v), want %d", i, got[i].ReplyTo, got[i].ReplyAnyway, want)
		}
	}
	if c := srv.Pending(3); len(c) != 1 || c[0].Method != "copyMessage" || c[0].ReplyTo != 7 || !c[0].ReplyAnyway {
		t.Errorf("copy: %+v", c)
	}
}

func TestTelegramErrorsNeverHoldTheToken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	const token = "4242:SECRET-TOKEN-VALUE"
	_, err = NewTelegram(context.Background(), TelegramOptions{Token: token, Endpoint: "http://" + addr + "/bot%s/%s"})
	if err == nil || strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("error %v", err)
	}

	// A server answering 5xx with HTML, as a proxy in front of it may.
	srv := http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		w.Write([]byte("<html>bad gateway " + r.URL.Path + "</html>"))
	})}
	ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	_, err = NewTelegram(context.Background(), TelegramOptions{Token: token, Endpoint: "http://" + ln.Addr().String() + "/bot%s/%s"})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != http.StatusBadGateway || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("error %v", err)
	}
}

func TestTelegramExplainsAWrongEndpoint(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler()) // a web server, not a Bot API
	defer srv.Close()
	_, err := NewTelegram(context.Background(), TelegramOptions{Token: "1:abc", Endpoint: srv.URL + "/bot%s/%s"})
	if err == nil || !strings.Contains(err.Error(), "TELEGRAM_API_ENDPOINT") || strings.Contains(err.Error(), "1:abc") {
		t.Errorf("error %v", err)
	}
	// A web server sending the bot elsewhere (http to https, say): the Bot
	// API never redirects, so the address is wrong; the redirect is not
	// followed with the token in its URL.
	var followed atomic.Bool
	moved := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			followed.Store(true)
		}
		http.Redirect(w, r, "/elsewhere", http.StatusMovedPermanently)
	}))
	defer moved.Close()
	_, err = NewTelegram(context.Background(), TelegramOptions{Token: "1:abc", Endpoint: moved.URL + "/bot%s/%s"})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != http.StatusMovedPermanently || strings.Contains(err.Error(), "1:abc") || followed.Load() {
		t.Errorf("a redirecting address: error %v, redirect followed: %v", err, followed.Load())
	}
}

func TestTelegramUnderTelegramsLimitsGetsNoTooManyRequests(t *testing.T) {
	srv := bottest.New(bottest.Options{RateLimit: true})
	defer srv.Close()
	tg, err := NewTelegram(context.Background(), TelegramOptions{Token: srv.Token(), Endpoint: srv.Endpoint(), Limiter: NewLimiter(LimiterOptions{})})
	if err != nil {
		t.Fatal(err)
	}
	// A broadcast to 40 chats and a burst of replies in one chat.
	errs := make(chan error, 45)
	for i := int64(1); i <= 40; i++ {
		go func() {
			_, err := tg.Send(context.Background(), Message{ChatID: 1000 + i, Text: "reminder"})
			errs <- err
		}()
	}
	for i := 0; i < 5; i++ {
		_, err := tg.Send(context.Background(), Message{ChatID: 1, Text: "reply"})
		errs <- err
	}
	for i := 0; i < 45; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := srv.TooManyRequests(); n != 0 {
		t.Errorf("%d answers 429 within Telegram's limits", n)
	}
}

func TestTelegramSetsCommandMenus(t *testing.T) {
	tg, srv, _ := newTestTelegram(t, bottest.Options{})
	ctx := context.Background()
	cmds := []tgbotapi.BotCommand{{Command: "start", Description: "Бастау"}, {Command: "help", Description: "Көмек"}}
	if err := tg.SetCommands(ctx, 0, "kk", cmds); err != nil {
		t.Fatal(err)
	}
	staff := []tgbotapi.BotCommand{{Command: "duty", Description: "On duty"}}
	if err := tg.SetCommands(ctx, 555, "en", staff); err != nil {
		t.Fatal(err)
	}
	if got := srv.Commands(0, "kk"); len(got) != 2 || got[1].Description != "Көмек" {
		t.Errorf("default kk commands %+v", got)
	}
	if got := srv.Commands(555, "en"); len(got) != 1 || got[0].Command != "duty" {
		t.Errorf("chat 555 commands %+v", got)
	}
	if err := tg.SetCommands(ctx, 555, "en", nil); err != nil {
		t.Fatal(err)
	}
	if got := srv.Commands(555, "en"); len(got) != 0 {
		t.Errorf("commands left after removal: %+v", got)
	}
}

// A Bot API that stops answering (a hung connection) costs one HTTP
// timeout, not a stuck sender: the send is tried again and gets through.
func TestTelegramRetriesAfterAHungAnswer(t *testing.T) {
	var sends atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/getMe"):
			w.Write([]byte(`{"ok":true,"result":{"id":7,"is_bot":true,"first_name":"Dostyq","username":"dostyq_test_bot"}}`))
		case strings.HasSuffix(r.URL.Path, "/sendMessage"):
			if sends.Add(1) == 1 {
				select { // never answers; the client gives up
				case <-r.Context().Done():
				case <-release:
				}
				return
			}
			w.Write([]byte(`{"ok":true,"result":{"message_id":55,"date":0,"chat":{"id":42,"type":"private"},"text":"hi"}}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first: frees the hung handler
	tg, err := NewTelegram(context.Background(), TelegramOptions{Token: "1:x", Endpoint: srv.URL + "/bot%s/%s", Retries: 3,
		HTTPClient: &http.Client{Timeout: 300 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	tg.sleep = func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		return ctx.Err()
	}
	id, err := tg.Send(context.Background(), Message{ChatID: 42, Text: "hi"})
	if err != nil || id != 55 {
		t.Fatalf("send after a hung answer: id %d, %v", id, err)
	}
	if n := sends.Load(); n != 2 || len(waits) != 1 {
		t.Errorf("%d sendMessage calls and %d waits, want 2 and 1", n, len(waits))
	}
}

// post, the sender's own decoding of the answers of every update's
// requests, gives what the library's MakeRequest gives: the message id, and
// the same error (code, description, retry_after) for a refusal, and the
// same request.
func TestPostAnswersLikeTheLibrary(t *testing.T) {
	answers := []string{
		`{"ok":true,"result":{"message_id":77,"from":{"id":1,"is_bot":true,"first_name":"Dostyq"},"chat":{"id":5,"type":"private"},"date":1,"text":"hi"}}`,
		`{"ok":true,"result":true}`,
		`{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}`,
		`{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}`,
		`{"ok":false,"error_code":400,"description":"Bad Request: message is not modified"}`,
		`not json`,
	}
	var body atomic.Value
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		got.Store(r.Method + " " + r.URL.Path + " " + r.Header.Get("Content-Type") + " " + r.PostForm.Encode())
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body.Load().(string))
	}))
	defer srv.Close()
	api := &tgbotapi.BotAPI{Token: "1:x", Client: srv.Client()}
	endpoint := srv.URL + "/bot%s/%s"
	api.SetAPIEndpoint(endpoint)
	p := tgbotapi.Params{"chat_id": "5", "text": "hi & bye", "reply_markup": `{"keyboard":[[{"text":"a b"}]]}`}
	for _, a := range answers {
		body.Store(a)
		resp, libErr := api.MakeRequest("sendMessage", p)
		libReq := got.Load()
		var libID struct {
			MessageID int `json:"message_id"`
		}
		if libErr == nil && string(resp.Result) != "true" {
			libErr = json.Unmarshal(resp.Result, &libID)
		}
		var id struct {
			MessageID int `json:"message_id"`
		}
		var err error
		if a == `{"ok":true,"result":true}` {
			var ok bool
			err = post(postTo(endpoint, api), "sendMessage", p, &ok)
			if !ok {
				t.Errorf("%s: result true not decoded", a)
			}
		} else {
			err = post(postTo(endpoint, api), "sendMessage", p, &id)
		}
		if got.Load() != libReq {
			t.Errorf("request %v, the library's %v", got.Load(), libReq)
		}
		if id != libID || (err == nil) != (libErr == nil) {
			t.Errorf("%s: post %v %v, the library %v %v", a, id, err, libID, libErr)
		}
		var te, libTE *tgbotapi.Error
		if errors.As(libErr, &libTE) && (!errors.As(err, &te) || *te != *libTE) {
			t.Errorf("%s: post error %#v, the library's %#v", a, err, libErr)
		}
	}
}

// getUpdates sends what the library's GetUpdates sends and gets the same
// updates.
func TestGetUpdatesLikeTheLibrary(t *testing.T) {
	tg, srv, _ := newTestTelegram(t, bottest.Options{})
	srv.SendText(bottest.User{ID: 7, LanguageCode: "ru"}, "Привет")
	srv.Press(bottest.User{ID: 7}, 1, "x:1")
	cfg := tgbotapi.UpdateConfig{Limit: 100, AllowedUpdates: AllowedUpdates}
	api := *tg.api
	lib, err := api.GetUpdates(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ups, answer, err := tg.getUpdates(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(lib)
	b, _ := json.Marshal(ups)
	if len(ups) != 2 || string(a) != string(b) {
		t.Errorf("getUpdates %s, the library's %s", b, a)
	}
	// The answer as it came, which the poller's TakenLog keeps, gives the
	// same updates again.
	again, err := decodeUpdates(answer)
	if c, _ := json.Marshal(again); err != nil || string(c) != string(a) {
		t.Errorf("the answer kept decodes to %s (%v)", c, err)
	}
}

// The id of a message sent is read off the beginning of the Bot API's
// answer; anything else is decoded in full, so an answer in another
// shape still gives the right id or the right error.
func TestSentMessageID(t *testing.T) {
	for _, tc := range []struct {
		answer string
		id     int
		fast   bool
	}{
		{`{"ok":true,"result":{"message_id":4711,"from":{"id":1},"text":"hi"}}`, 4711, true},
		{`{"ok":true,"result":{"message_id":7}}`, 7, true},
		{`{"ok":true,"result":{"message_id":123456789012345678,"date":1}}`, 123456789012345678, true},
		{`{"ok":true,"result":{"message_id":1234567890123456789,"date":1}}`, 0, false},
		{`{"ok":true,"result":{"date":1,"message_id":9}}`, 9, false},
		{`{"ok": true, "result": {"message_id": 5}}`, 5, false},
		{`{"ok":true,"result":{"message_id":-3,"date":1}}`, -3, false},
		{`{"ok":true,"result":{"message_id":12`, 0, false},
		{`{"ok":true,"result":{"message_id":12x}}`, 0, false},
		{`{"ok":true,"result":true}`, 0, false},
		{`{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}`, 0, false},
	} {
		id, fast := sentMessageID([]byte(tc.answer))
		if fast != tc.fast || (fast && id != tc.id) {
			t.Errorf("%s: read %d, %v; want %d, %v", tc.answer, id, fast, tc.id, tc.fast)
		}
	}
	// The ones not read fast are decoded in full by post.
	for _, tc := range []struct {
		answer string
		id     int
		err    string
	}{
		{`{"ok":true,"result":{"date":1,"message_id":9}}`, 9, ""},
		{`{"ok": true, "result": {"message_id": 5}}`, 5, ""},
		{`{"ok":true,"result":{"message_id":4711,"text":"hi"}}`, 4711, ""},
		{`{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}`, 0, "chat not found"},
	} {
		var m sentMessage
		err := postAnswered(tc.answer, "sendMessage", &m)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.answer, err, tc.err)
			}
			continue
		}
		if err != nil || m.MessageID != tc.id {
			t.Errorf("%s: id %d, error %v; want %d", tc.answer, m.MessageID, err, tc.id)
		}
	}
}

// A method answering true is read without encoding/json when the Bot API
// answers as it does; any other answer, a false, an error or another
// spacing, is decoded in full and means the same.
func TestAnsweredTrue(t *testing.T) {
	for _, tc := range []struct {
		answer string
		result bool
		err    string
	}{
		{`{"ok":true,"result":true}`, true, ""},
		{"{\"ok\":true,\"result\":true}\n", true, ""},
		{`{"ok": true, "result": true}`, true, ""},
		{`{"ok":true,"result":false}`, false, ""},
		{`{"ok":false,"error_code":400,"description":"Bad Request: query is too old"}`, false, "query is too old"},
		{`{"ok":false,"error_code":429,"description":"Too Many Requests","parameters":{"retry_after":3}}`, false, "Too Many Requests"},
	} {
		var ok bool
		err := postAnswered(tc.answer, "answerCallbackQuery", &ok)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.answer, err, tc.err)
			}
			var te *tgbotapi.Error
			if strings.Contains(tc.answer, "retry_after") && (!errors.As(err, &te) || te.RetryAfter != 3) {
				t.Errorf("%s: error %#v, want retry_after 3", tc.answer, err)
			}
			continue
		}
		if err != nil || ok != tc.result {
			t.Errorf("%s: %v, error %v; want %v", tc.answer, ok, err, tc.result)
		}
	}
}

// postAnswered posts method to a Bot API that answers it with answer, and
// decodes the answer into result as post does.
func postAnswered[T any](answer, method string, result *T) error {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, answer)
	}))
	defer srv.Close()
	api := &tgbotapi.BotAPI{Token: "t", Client: srv.Client()}
	return post(postTo(srv.URL+"/bot%s/%s", api), method, tgbotapi.Params{"chat_id": "1"}, result)
}

// The form a request is sent as is exactly what url.Values.Encode gives
// (Telegram reads it as such): texts in every script, emoji, keyboards
// as JSON, every byte value.
func TestEncodeParamsIsURLValuesEncode(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	samples := []string{"", "Сәлем, әлем!", "Hello world", "🏠 Houses of Friendship", `{"inline_keyboard":[[{"text":"📍 1","callback_data":"dir:v:12"}]]}`,
		"a+b=c&d", "100% ~ok~ -_.", "line1\nline2\ttab", "\x00\xff\xfe"}
	for range 300 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		samples = append(samples, string(b))
	}
	for i := 0; i < len(samples); i += 3 {
		p := tgbotapi.Params{}
		v := url.Values{}
		for j, s := range samples[i:min(i+3, len(samples))] {
			k := []string{"chat_id", "text", "reply_markup"}[j] + s[:min(len(s), 3)]
			p[k] = s
			v.Set(k, s)
		}
		b := encodeParams(p)
		if got, want := string(b), v.Encode(); got != want {
			t.Fatalf("encodeParams(%q) = %q, url.Values.Encode gives %q", p, got, want)
		}
		if cap(b) != len(b) {
			t.Errorf("encodeParams(%q) made room for %d bytes to write %d", p, cap(b), len(b))
		}
	}
}

// Over HTTP/1.1 every request in flight holds a connection of its own
// (about 50 KB of the bot's memory): past 512 at once, sends wait for a
// connection instead of opening more, and every one is delivered.
func TestSenderOpensAtMost512ConnectionsToTheBotAPI(t *testing.T) {
	srv := bottest.New(bottest.Options{})
	defer srv.Close()
	release := make(chan struct{})
	srv.Hold("sendMessage", release)
	ctx := context.Background()
	tg, err := NewTelegram(ctx, TelegramOptions{Token: srv.Token(), Endpoint: srv.Endpoint(), Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	const sends = 600
	var wg sync.WaitGroup
	for i := range sends {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := tg.Send(ctx, Message{ChatID: int64(5000 + i), Text: "Сәлем"}); err != nil {
				t.Error(err)
			}
		}()
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(srv.Calls("sendMessage")) < 512 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // room for more, were more connections allowed
	if n := len(srv.Calls("sendMessage")); n != 512 {
		t.Errorf("%d sends reached the Bot API at once, want 512", n)
	}
	close(release)
	wg.Wait()
	if n := len(srv.Calls("sendMessage")); n != sends {
		t.Errorf("%d of %d sends delivered", n, sends)
	}
}

// postTo is a Telegram whose post goes to endpoint, as api's token.
func postTo(endpoint string, api *tgbotapi.BotAPI) *botCall {
	c := &botCall{t: &Telegram{api: api, endpoint: endpoint}}
	c.client = ctxClient{ctx: context.Background(), c: api.Client.(*http.Client), status: &c.status}
	return c
}
