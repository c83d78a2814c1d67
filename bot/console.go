package bot

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// UpdateHandler handles one update. handlers.Handlers implements it.
type UpdateHandler interface {
	HandleUpdate(ctx context.Context, u tgbotapi.Update)
}

// Console lets a person chat with the bot in a terminal: it turns lines of
// input into updates for the same handlers Telegram would reach, and prints
// every message the bot sends. It is also a Sender.
//
// Input, one message per line:
//
//	text                 a text message; "/cmd args" is a command
//	@location LAT LON    a shared location
//	@contact PHONE       the user's own contact
//	@press N | @press T  press inline button N (from 1) or labelled T of the
//	                     latest bot message with inline buttons
//	@as ID [LANG]        continue as Telegram user ID with client language LANG
type Console struct {
	handler UpdateHandler

	mu       sync.Mutex
	out      io.Writer
	userID   int64
	lang     string
	nextMsg  int
	inline   map[int64]consoleInline // chat → latest message with inline buttons
	messages map[int64]map[int]bool  // chat → ids of messages sent there
}

type consoleInline struct {
	id     int
	markup tgbotapi.InlineKeyboardMarkup
}

// NewConsole returns a console writing to out that speaks as userID with
// client language lang. Set the handler with SetHandler before Run.
func NewConsole(out io.Writer, userID int64, lang string) *Console {
	return &Console{out: out, userID: userID, lang: lang, inline: map[int64]consoleInline{}, messages: map[int64]map[int]bool{}}
}

// consoleUpdates is the last update id a console of this process gave.
var consoleUpdates atomic.Int64

// nextConsoleUpdate numbers a console's update as Telegram would, never
// reusing an id for the database the console may share with the bot and
// with earlier sessions (the handlers remember by update id which steps
// committed: storage steps_done). Ids come from the clock in microseconds,
// above Telegram's 32-bit ones and past those of every session before, and
// each is past every id given before in this process.
func nextConsoleUpdate() int {
	for {
		last := consoleUpdates.Load()
		next := max(time.Now().UnixMicro(), last+1)
		if consoleUpdates.CompareAndSwap(last, next) {
			return int(next)
		}
	}
}

// SetHandler sets the handler updates go to.
func (c *Console) SetHandler(h UpdateHandler) { c.handler = h }

// Run reads lines from in until EOF or ctx is done.
func (c *Console) Run(ctx context.Context, in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		if ctx.Err() != nil {
			return nil
		}
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		u, err := c.update(line)
		if err != nil {
			c.printf("! %v\n\n", err)
			continue
		}
		if u == nil {
			continue
		}
		c.handler.HandleUpdate(ctx, *u)
	}
	return sc.Err()
}

func (c *Console) update(line string) (*tgbotapi.Update, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	u := &tgbotapi.Update{UpdateID: nextConsoleUpdate()}
	from := &tgbotapi.User{ID: c.userID, FirstName: "User" + strconv.FormatInt(c.userID, 10), LanguageCode: c.lang}
	chat := &tgbotapi.Chat{ID: c.userID, Type: "private"}
	msg := &tgbotapi.Message{MessageID: c.newMessageID(), From: from, Chat: chat, Date: int(time.Now().Unix())}

	if !strings.HasPrefix(line, "@") {
		msg.Text = line
		if strings.HasPrefix(line, "/") {
			n := strings.IndexByte(line, ' ')
			if n < 0 {
				n = len(line)
			}
			msg.Entities = []tgbotapi.MessageEntity{{Type: "bot_command", Offset: 0, Length: n}}
		}
		u.Message = msg
		return u, nil
	}
	verb, rest, _ := strings.Cut(line[1:], " ")
	args := strings.Fields(rest)
	switch verb {
	case "location":
		if len(args) != 2 {
			return nil, fmt.Errorf("usage: @location LAT LON")
		}
		lat, err1 := strconv.ParseFloat(args[0], 64)
		lon, err2 := strconv.ParseFloat(args[1], 64)
		if err1 != nil || err2 != nil || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
			return nil, fmt.Errorf("usage: @location LAT LON, with LAT in -90..90 and LON in -180..180")
		}
		msg.Location = &tgbotapi.Location{Latitude: lat, Longitude: lon}
		u.Message = msg
	case "contact":
		if len(args) != 1 {
			return nil, fmt.Errorf("usage: @contact PHONE")
		}
		msg.Contact = &tgbotapi.Contact{PhoneNumber: args[0], FirstName: from.FirstName, UserID: c.userID}
		u.Message = msg
	case "album":
		// A photo of an album (media_group_id): Telegram sends each photo
		// of an album as its own message, the caption with one of them.
		if len(args) == 0 {
			return nil, fmt.Errorf("usage: @album ID [CAPTION]")
		}
		msg.MediaGroupID = "console-album-" + args[0]
		msg.Photo = []tgbotapi.PhotoSize{{FileID: "console-photo", FileUniqueID: "console-photo", Width: 640, Height: 480}}
		msg.Caption = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), args[0]))
		u.Message = msg
	case "photo", "document", "voice", "sticker":
		// What a phone sends that is not text: a photo or a document with
		// an optional caption, a voice message, a sticker.
		switch verb {
		case "photo":
			msg.Photo = []tgbotapi.PhotoSize{{FileID: "console-photo", FileUniqueID: "console-photo", Width: 640, Height: 480}}
		case "document":
			msg.Document = &tgbotapi.Document{FileID: "console-document", FileUniqueID: "console-document", FileName: "document.pdf"}
		case "voice":
			msg.Voice = &tgbotapi.Voice{FileID: "console-voice", FileUniqueID: "console-voice", Duration: 3}
		case "sticker":
			msg.Sticker = &tgbotapi.Sticker{FileID: "console-sticker", FileUniqueID: "console-sticker", Emoji: "🙂"}
		}
		if verb == "photo" || verb == "document" {
			msg.Caption = strings.TrimSpace(rest)
		}
		u.Message = msg
	case "press":
		if len(args) == 0 {
			return nil, fmt.Errorf("usage: @press N or @press LABEL")
		}
		last, ok := c.inline[c.userID]
		if !ok {
			return nil, fmt.Errorf("@press: no message with inline buttons")
		}
		btn, err := findButton(last.markup, strings.TrimSpace(rest))
		if err != nil {
			return nil, err
		}
		u.CallbackQuery = &tgbotapi.CallbackQuery{
			ID:      "console-" + strconv.Itoa(u.UpdateID),
			From:    from,
			Message: &tgbotapi.Message{MessageID: last.id, Chat: chat},
			Data:    *btn.CallbackData,
		}
	case "as":
		if len(args) < 1 || len(args) > 2 {
			return nil, fmt.Errorf("usage: @as ID [LANG]")
		}
		id, err := strconv.ParseInt(args[0], 10, 64)
		if err != nil || id <= 0 {
			return nil, fmt.Errorf("@as: %q is not a Telegram user id", args[0])
		}
		c.userID = id
		if len(args) == 2 {
			c.lang = args[1]
		}
		return nil, nil
	default:
		return nil, fmt.Errorf("unknown command @%s (use @location, @contact, @press or @as)", verb)
	}
	return u, nil
}

func findButton(kb tgbotapi.InlineKeyboardMarkup, arg string) (tgbotapi.InlineKeyboardButton, error) {
	var all []tgbotapi.InlineKeyboardButton
	for _, row := range kb.InlineKeyboard {
		for _, b := range row {
			if b.CallbackData != nil {
				all = append(all, b)
			}
		}
	}
	if n, err := strconv.Atoi(arg); err == nil {
		if n < 1 || n > len(all) {
			return tgbotapi.InlineKeyboardButton{}, fmt.Errorf("@press: no button %d (there are %d)", n, len(all))
		}
		return all[n-1], nil
	}
	for _, b := range all {
		if strings.EqualFold(b.Text, arg) {
			return b, nil
		}
	}
	return tgbotapi.InlineKeyboardButton{}, fmt.Errorf("@press: no button labelled %q", arg)
}

func (c *Console) newMessageID() int {
	c.nextMsg++
	return c.nextMsg
}

func (c *Console) printf(format string, a ...any) {
	fmt.Fprintf(c.out, format, a...)
}

// Send prints m as the user would see it.
func (c *Console) Send(ctx context.Context, m Message) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	if m.ChatID != c.userID {
		fmt.Fprintf(&b, "[to %d] ", m.ChatID)
	}
	id := m.EditID
	if m.EditID != 0 {
		if !c.messages[m.ChatID][m.EditID] {
			// As Telegram answers: for good, so that the outbox gives the
			// edit up (a message of an earlier run of the console) instead
			// of holding the chat's later messages behind it.
			return 0, &tgbotapi.Error{Code: 400, Message: fmt.Sprintf("Bad Request: message to edit not found (console message %d)", m.EditID)}
		}
		b.WriteString("(edited) ")
	} else {
		if m.ReplyTo != 0 && m.Venue == nil && m.Document == nil { // as Telegram.Send sends it
			fmt.Fprintf(&b, "(in reply to message %d) ", m.ReplyTo)
		}
		id = c.newMessageID()
		if c.messages[m.ChatID] == nil {
			c.messages[m.ChatID] = map[int]bool{}
		}
		c.messages[m.ChatID][id] = true
	}
	switch {
	case m.Venue != nil:
		fmt.Fprintf(&b, "📍 %s — %s (%.5f, %.5f)\n", m.Venue.Title, m.Venue.Address, m.Venue.Latitude, m.Venue.Longitude)
	case m.Copy != nil:
		fmt.Fprintf(&b, "📎 (a copy of message %d of chat %d)\n", m.Copy.MessageID, m.Copy.FromChatID)
		if m.Text != "" {
			b.WriteString(m.Text + "\n")
		}
	case m.Document != nil:
		fmt.Fprintf(&b, "📎 %s\n", m.Document.Name)
		if m.Document.Caption != "" {
			b.WriteString(m.Document.Caption + "\n")
		}
	default:
		b.WriteString(m.Text + "\n")
	}
	if m.Keyboard != nil {
		for _, row := range m.Keyboard.Keyboard {
			labels := make([]string, len(row))
			for i, btn := range row {
				labels[i] = "[" + btn.Text + "]"
			}
			b.WriteString(strings.Join(labels, " ") + "\n")
		}
	}
	if m.Inline != nil && len(m.Inline.InlineKeyboard) > 0 {
		n := 0
		for _, row := range m.Inline.InlineKeyboard {
			labels := make([]string, len(row))
			for i, btn := range row {
				n++
				labels[i] = fmt.Sprintf("(%d) %s", n, btn.Text)
			}
			b.WriteString(strings.Join(labels, "  ") + "\n")
		}
		c.inline[m.ChatID] = consoleInline{id: id, markup: *m.Inline}
	} else if last, ok := c.inline[m.ChatID]; ok && m.EditID != 0 && last.id == m.EditID {
		delete(c.inline, m.ChatID)
	}
	b.WriteString("\n")
	_, err := io.WriteString(c.out, b.String())
	return id, err
}

// Local tells the handlers that the console's calls cost no round trip,
// so a pressed button's notice is printed before the reply, in order.
func (c *Console) Local() bool { return true }

// AnswerCallback prints a non-empty toast.
func (c *Console) AnswerCallback(ctx context.Context, callbackID, text string) error {
	if text == "" {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := fmt.Fprintf(c.out, "(notice) %s\n\n", text)
	return err
}
