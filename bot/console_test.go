package bot

import (
	"bytes"
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// consoleRecorder is an UpdateHandler that keeps the updates and can answer them.
type consoleRecorder struct {
	updates []tgbotapi.Update
	reply   func(u tgbotapi.Update)
}

func (r *consoleRecorder) HandleUpdate(ctx context.Context, u tgbotapi.Update) {
	r.updates = append(r.updates, u)
	if r.reply != nil {
		r.reply(u)
	}
}

func newTestConsole(t *testing.T) (*Console, *consoleRecorder, *bytes.Buffer) {
	t.Helper()
	out := &bytes.Buffer{}
	c := NewConsole(out, 1, "kk")
	rec := &consoleRecorder{}
	c.SetHandler(rec)
	return c, rec, out
}

func run(t *testing.T, c *Console, script string) {
	t.Helper()
	if err := c.Run(context.Background(), strings.NewReader(script)); err != nil {
		t.Fatal(err)
	}
}

func inline(rows ...[]string) *tgbotapi.InlineKeyboardMarkup {
	var kb tgbotapi.InlineKeyboardMarkup
	for _, row := range rows {
		var r []tgbotapi.InlineKeyboardButton
		for _, label := range row {
			r = append(r, tgbotapi.NewInlineKeyboardButtonData(label, "data:"+label))
		}
		kb.InlineKeyboard = append(kb.InlineKeyboard, r)
	}
	return &kb
}

func TestConsoleTextAndCommands(t *testing.T) {
	c, rec, out := newTestConsole(t)
	run(t, c, "Сәлем, бот\n\n   \n/start invite-42\r\n/help\n")
	if len(rec.updates) != 3 {
		t.Fatalf("got %d updates, want 3 (blank lines are skipped)", len(rec.updates))
	}
	m := rec.updates[0].Message
	if m == nil || m.Text != "Сәлем, бот" || m.IsCommand() || m.From.ID != 1 || m.From.LanguageCode != "kk" ||
		m.Chat.ID != 1 || m.Chat.Type != "private" {
		t.Fatalf("text line became %+v", m)
	}
	m = rec.updates[1].Message
	if !m.IsCommand() || m.Command() != "start" || m.CommandArguments() != "invite-42" {
		t.Errorf("/start invite-42: command %q args %q", m.Command(), m.CommandArguments())
	}
	if m = rec.updates[2].Message; m.Command() != "help" || m.CommandArguments() != "" {
		t.Errorf("/help: command %q args %q", m.Command(), m.CommandArguments())
	}
	if rec.updates[0].UpdateID == rec.updates[1].UpdateID || rec.updates[1].Message.MessageID == rec.updates[2].Message.MessageID {
		t.Error("update or message ids repeat")
	}
	if out.Len() != 0 {
		t.Errorf("the console printed %q for valid input", out.String())
	}
}

// The handlers remember by update id which steps committed, in a database
// that console sessions may share with each other and with the bot: every
// console's update ids are above Telegram's (32-bit) and never repeat,
// however consoles follow one another.
func TestConsoleUpdateIDsNeverRepeat(t *testing.T) {
	a, recA, _ := newTestConsole(t)
	b, recB, _ := newTestConsole(t)
	run(t, a, "one\ntwo\n")
	run(t, b, "one\ntwo\n")
	run(t, a, "three\n")
	seen := map[int]bool{}
	for _, u := range append(recA.updates, recB.updates...) {
		if u.UpdateID <= math.MaxInt32 {
			t.Errorf("update id %d is among Telegram's", u.UpdateID)
		}
		if seen[u.UpdateID] {
			t.Errorf("update id %d given twice", u.UpdateID)
		}
		seen[u.UpdateID] = true
	}
	if len(seen) != 5 {
		t.Errorf("%d update ids, want 5", len(seen))
	}
}

func TestConsoleLocationAndContact(t *testing.T) {
	c, rec, out := newTestConsole(t)
	run(t, c, "@location 43.238949 76.889709\n@contact +77010000000\n")
	if len(rec.updates) != 2 {
		t.Fatalf("got %d updates", len(rec.updates))
	}
	if l := rec.updates[0].Message.Location; l == nil || l.Latitude != 43.238949 || l.Longitude != 76.889709 {
		t.Errorf("location: %+v", l)
	}
	if k := rec.updates[1].Message.Contact; k == nil || k.PhoneNumber != "+77010000000" || k.UserID != 1 {
		t.Errorf("contact: %+v", k)
	}
	if out.Len() != 0 {
		t.Errorf("printed %q", out.String())
	}
}

func TestConsoleMalformedLinesPrintAnErrorAndGoOn(t *testing.T) {
	c, rec, out := newTestConsole(t)
	run(t, c, strings.Join([]string{
		"@location 43.2",
		"@location 91 10",
		"@location north east",
		"@contact",
		"@press 1",
		"@press",
		"@as bob",
		"@as 0",
		"@teleport 5",
		"still here",
	}, "\n"))
	if len(rec.updates) != 1 || rec.updates[0].Message.Text != "still here" {
		t.Fatalf("want only the last line handled, got %d updates", len(rec.updates))
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n\n")
	if len(lines) != 9 {
		t.Fatalf("want 9 error lines, got %d:\n%s", len(lines), out)
	}
	for _, want := range []string{
		"! usage: @location LAT LON",
		"! usage: @location LAT LON, with LAT in -90..90",
		"! usage: @contact PHONE",
		"! @press: no message with inline buttons",
		"! usage: @press N or @press LABEL",
		`! @as: "bob" is not a Telegram user id`,
		"! unknown command @teleport",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestConsolePress(t *testing.T) {
	c, rec, out := newTestConsole(t)
	ctx := context.Background()
	if _, err := c.Send(ctx, Message{ChatID: 1, Text: "Choose your language:", Inline: inline([]string{"Қазақша", "Русский"}, []string{"English"})}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	run(t, c, "@press 3\n@press русский\n@press Қазақша\n@press 4\n@press Deutsch\n")
	if len(rec.updates) != 3 {
		t.Fatalf("got %d updates, want 3", len(rec.updates))
	}
	for i, want := range []string{"data:English", "data:Русский", "data:Қазақша"} {
		cq := rec.updates[i].CallbackQuery
		if cq == nil || cq.Data != want || cq.From.ID != 1 || cq.Message == nil || cq.Message.MessageID != 1 || cq.ID == "" {
			t.Errorf("press %d: %+v, want data %q on message 1", i+1, cq, want)
		}
	}
	for _, want := range []string{"! @press: no button 4 (there are 3)", `! @press: no button labelled "Deutsch"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	// A later message with buttons is the one pressed; a message to another
	// chat (a mediator, say) does not change what the current user presses.
	c.Send(ctx, Message{ChatID: 1, Text: "Next", Inline: inline([]string{"yes", "no"})})
	c.Send(ctx, Message{ChatID: 77, Text: "New case", Inline: inline([]string{"accept"})})
	rec.updates = nil
	run(t, c, "@press 2\n@as 77 ru\n@press accept\n")
	if len(rec.updates) != 2 || rec.updates[0].CallbackQuery.Data != "data:no" {
		t.Fatalf("press on the latest message: %+v", rec.updates)
	}
	cq := rec.updates[1].CallbackQuery
	if cq.Data != "data:accept" || cq.From.ID != 77 || cq.From.LanguageCode != "ru" || cq.Message.Chat.ID != 77 {
		t.Errorf("press as user 77: %+v from %+v", cq, cq.From)
	}
}

func TestConsoleAs(t *testing.T) {
	c, rec, _ := newTestConsole(t)
	run(t, c, "hi\n@as 500 en\nhello\n@as 600\nagain\n")
	if len(rec.updates) != 3 {
		t.Fatalf("got %d updates", len(rec.updates))
	}
	for i, want := range []struct {
		id   int64
		lang string
	}{{1, "kk"}, {500, "en"}, {600, "en"}} {
		m := rec.updates[i].Message
		if m.From.ID != want.id || m.Chat.ID != want.id || m.From.LanguageCode != want.lang {
			t.Errorf("update %d from %d/%s, want %d/%s", i, m.From.ID, m.From.LanguageCode, want.id, want.lang)
		}
	}
}

func TestConsoleOutputFormat(t *testing.T) {
	c, _, out := newTestConsole(t)
	ctx := context.Background()
	kb := tgbotapi.NewReplyKeyboard(
		tgbotapi.NewKeyboardButtonRow(tgbotapi.NewKeyboardButton("🏠 Houses"), tgbotapi.NewKeyboardButton("🤝 Mediation")),
		tgbotapi.NewKeyboardButtonRow(tgbotapi.NewKeyboardButton("ℹ️ About")),
	)
	id, err := c.Send(ctx, Message{ChatID: 1, Text: "Main menu.", Keyboard: &kb})
	if err != nil {
		t.Fatal(err)
	}
	id2, _ := c.Send(ctx, Message{ChatID: 1, Text: "Page 1", Inline: inline([]string{"◀️", "▶️"}, []string{"more"})})
	if id2 == id {
		t.Error("two messages got one id")
	}
	c.Send(ctx, Message{ChatID: 1, EditID: id2, Text: "Page 2", Inline: inline([]string{"◀️"})})
	c.Send(ctx, Message{ChatID: 1, Venue: &Venue{Latitude: 43.2389, Longitude: 76.8897, Title: "House of Friendship (sample)", Address: "Almaty"}})
	c.Send(ctx, Message{ChatID: 1, Document: &Document{Name: "volunteers.csv", Data: []byte("a,b\n"), Caption: "3 volunteers"}})
	c.Send(ctx, Message{ChatID: 900, Text: "New mediation case", Protect: true})
	c.AnswerCallback(ctx, "cb1", "")
	c.AnswerCallback(ctx, "cb2", "The language is now English.")
	want := "Main menu.\n[🏠 Houses] [🤝 Mediation]\n[ℹ️ About]\n\n" +
		"Page 1\n(1) ◀️  (2) ▶️\n(3) more\n\n" +
		"(edited) Page 2\n(1) ◀️\n\n" +
		"📍 House of Friendship (sample) — Almaty (43.23890, 76.88970)\n\n" +
		"📎 volunteers.csv\n3 volunteers\n\n" +
		"[to 900] New mediation case\n\n" +
		"(notice) The language is now English.\n\n"
	if got := out.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
	if _, err := c.Send(ctx, Message{ChatID: 1, EditID: 999, Text: "x"}); err == nil {
		t.Error("an edit of a message never sent succeeded")
	}
}

// An edit that removes the buttons leaves nothing to press.
func TestConsoleEditRemovesButtons(t *testing.T) {
	c, rec, out := newTestConsole(t)
	ctx := context.Background()
	id, _ := c.Send(ctx, Message{ChatID: 1, Text: "Confirm?", Inline: inline([]string{"yes"})})
	c.Send(ctx, Message{ChatID: 1, EditID: id, Text: "Confirmed."})
	out.Reset()
	run(t, c, "@press yes\n")
	if len(rec.updates) != 0 || !strings.Contains(out.String(), "no message with inline buttons") {
		t.Errorf("pressed a removed button: %d updates, output %q", len(rec.updates), out)
	}
}

func TestConsoleMediaAndCopies(t *testing.T) {
	c, rec, out := newTestConsole(t)
	run(t, c, "@photo The fence\n@document\n@voice\n@sticker\n")
	if len(rec.updates) != 4 {
		t.Fatalf("got %d updates", len(rec.updates))
	}
	m := rec.updates[0].Message
	if len(m.Photo) == 0 || m.Caption != "The fence" || m.Text != "" {
		t.Errorf("photo: %+v", m)
	}
	if m := rec.updates[1].Message; m.Document == nil || m.Caption != "" {
		t.Errorf("document: %+v", m)
	}
	if rec.updates[2].Message.Voice == nil || rec.updates[3].Message.Sticker == nil {
		t.Errorf("voice, sticker: %+v %+v", rec.updates[2].Message, rec.updates[3].Message)
	}
	if _, err := c.Send(context.Background(), Message{ChatID: 1, Text: "Case M-000001", Copy: &Copy{FromChatID: 10, MessageID: 7}}); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.Contains(got, "a copy of message 7 of chat 10") || !strings.Contains(got, "Case M-000001") {
		t.Errorf("printed %q", got)
	}

	// An album: photos with one media_group_id, the caption on the first.
	run(t, c, "@album 7 Both sides\n@album 7\n@album 8\n@album\n")
	if len(rec.updates) != 7 {
		t.Fatalf("after the album lines: %d updates (want 3 more; @album without an id is refused)", len(rec.updates))
	}
	a, b, d := rec.updates[4].Message, rec.updates[5].Message, rec.updates[6].Message
	if len(a.Photo) == 0 || a.Caption != "Both sides" || a.MediaGroupID == "" || b.MediaGroupID != a.MediaGroupID || b.Caption != "" ||
		d.MediaGroupID == a.MediaGroupID || d.MediaGroupID == "" {
		t.Errorf("album: %+v / %+v / %+v", a, b, d)
	}
	if !strings.Contains(out.String(), "usage: @album ID") {
		t.Errorf("@album without an id: %q", out.String())
	}

	// A reply names the message it answers.
	if _, err := c.Send(context.Background(), Message{ChatID: 1, Text: "Not passed on.", ReplyTo: 5}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "(in reply to message 5) Not passed on.") {
		t.Errorf("reply printed as %q", out.String())
	}
}

// An edit of a message the console never printed (one of an earlier run)
// is refused as Telegram refuses it, with a 400, so that the outbox gives
// it up rather than holding the chat's later messages behind it.
func TestConsoleEditOfAnUnknownMessageIsABadRequest(t *testing.T) {
	c, _, _ := newTestConsole(t)
	_, err := c.Send(context.Background(), Message{ChatID: 1, Text: "Offer expired", EditID: 999})
	var te *tgbotapi.Error
	if !errors.As(err, &te) || te.Code != 400 || !strings.Contains(te.Message, "message to edit not found") {
		t.Errorf("edit of an unknown message: %v", err)
	}
}
