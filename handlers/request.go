package handlers

import (
	"context"
	"fmt"
	"strings"
	"sync"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/bot"
	"github.com/dostyq/dostyq/storage"
)

// Request is one update being handled, with the user it comes from, their
// language and conversation state, and helpers to reply.
type Request struct {
	ctx    context.Context
	h      *Handlers
	Update tgbotapi.Update

	UserID int64
	ChatID int64
	Lang   string
	User   storage.User
	// NewUser is true on the user's very first update.
	NewUser bool
	State   storage.State
	// Left is the state of the flow this update left (leaveFlow), for
	// its OnBack and OnCancel to tell where the user came from.
	Left storage.State
	// citizenCases, once read (citizenCasesRead): Handlers.citizenCases.
	citizenCases     []storage.Case
	citizenCasesRead bool
	// snap is State as stored when it was read or last saved, so that
	// saveState writes without reading it again (storage.Snapshot).
	snap storage.Snapshot

	// Message is the incoming message (nil for a callback query).
	Message *tgbotapi.Message
	// Callback is the incoming callback query (nil for a message).
	Callback *tgbotapi.CallbackQuery
	// Text is the message text, cleaned (NFC, no control or bidi characters).
	Text string
	// Command is the command without the slash and bot name; Args what follows it.
	Command string
	Args    string
	// Data is the callback data after the route prefix, or the value of a
	// flow button.
	Data string

	answered bool
	// answer and edit are a callback's answer and an edit sent alongside
	// (asideSender), until their answers are read (finishAside); asideMu
	// guards them against a request made with the update's context in a
	// goroutine of its own, whose drainAside would read them. Only the
	// update's goroutine takes them (finishAside), so the chat's next
	// update still comes after their answers.
	asideMu      sync.Mutex
	answer, edit *bot.Aside
}

// Context is the request's context.
func (r *Request) Context() context.Context { return r.ctx }

// T formats message id in the user's language.
func (r *Request) T(id string, data map[string]any) string { return r.h.cat.T(r.Lang, id, data) }

// N formats plural message id for count in the user's language.
func (r *Request) N(id string, count int, data map[string]any) string {
	return r.h.cat.N(r.Lang, id, count, data)
}

// Send sends m; a zero ChatID means the user's chat. An edit waits for
// the edits EditAside sent, so that the last one asked is the last one
// made.
func (r *Request) Send(m bot.Message) (int, error) {
	if m.ChatID == 0 {
		m.ChatID = r.ChatID
	}
	if m.EditID != 0 {
		r.finishEdits()
	}
	return r.h.send.Send(r.ctx, m)
}

// Reply sends text to the user's chat, keeping their current keyboard.
func (r *Request) Reply(text string) error {
	_, err := r.Send(bot.Message{Text: text})
	return err
}

// ReplyKey sends message id in the user's language.
func (r *Request) ReplyKey(id string, data map[string]any) error {
	return r.Reply(r.T(id, data))
}

// ReplyInline sends text with inline buttons.
func (r *Request) ReplyInline(text string, kb tgbotapi.InlineKeyboardMarkup) (int, error) {
	return r.Send(bot.Message{Text: text, Inline: &kb})
}

// ReplyKeyboard sends text with a reply keyboard.
func (r *Request) ReplyKeyboard(text string, kb tgbotapi.ReplyKeyboardMarkup) error {
	_, err := r.Send(bot.Message{Text: text, Keyboard: &kb})
	return err
}

// Edit replaces the text and inline buttons of the message the pressed
// button belongs to; for a message it sends a new one.
func (r *Request) Edit(text string, kb *tgbotapi.InlineKeyboardMarkup) error {
	if r.Callback == nil || r.Callback.Message == nil {
		_, err := r.Send(bot.Message{Text: text, Inline: kb})
		return err
	}
	_, err := r.Send(bot.Message{Text: text, Inline: kb, EditID: r.Callback.Message.MessageID})
	return err
}

// EditAside edits the message of the pressed button when the update does
// not need the outcome, such as the question marked with the answer
// pressed: the edit travels while the update goes on and sends its next
// message, so a press costs one round trip to Telegram less. A failed edit
// is logged (debug). An answer typed instead of pressed has no message to
// mark: nothing is sent.
func (r *Request) EditAside(text string, kb *tgbotapi.InlineKeyboardMarkup) {
	if r.Callback == nil || r.Callback.Message == nil {
		return
	}
	if r.h.answerInOrder {
		_ = r.Edit(text, kb)
		return
	}
	m := bot.Message{ChatID: r.ChatID, Text: text, Inline: kb, EditID: r.Callback.Message.MessageID}
	r.finishEdits() // an earlier EditAside of this update is made first
	var a *bot.Aside
	if s, ok := r.h.send.(asideSender); ok {
		a = s.EditAside(r.ctx, m)
	} else {
		a = r.goAside("edit aside", func() error {
			_, err := r.h.send.Send(r.ctx, m)
			return err
		})
	}
	r.asideMu.Lock()
	r.edit = a
	r.asideMu.Unlock()
}

// Answer answers the callback query with a short toast (may be empty). Every
// callback query is answered: the router answers it when a handler did not.
func (r *Request) Answer(text string) {
	if r.Callback == nil || r.answered {
		return
	}
	r.answered = true
	if r.h.answerInOrder {
		if err := r.h.send.AnswerCallback(r.ctx, r.Callback.ID, text); err != nil {
			r.h.log.Warn("answer callback", "err", err)
		}
		return
	}
	// The answer only stops the button's spinner (or shows text over the
	// chat): it travels while the reply is sent, so a press costs one
	// round trip to Telegram less.
	var a *bot.Aside
	if s, ok := r.h.send.(asideSender); ok {
		a = s.AnswerCallbackAside(r.ctx, r.Callback.ID, text)
	} else {
		a = r.goAside("answer callback", func() error { return r.h.send.AnswerCallback(r.ctx, r.Callback.ID, text) })
	}
	r.asideMu.Lock()
	r.answer = a
	r.asideMu.Unlock()
}

// asideSender is a sender that sends a callback's answer or an edit
// alongside what follows without a goroutine for it (bot.Telegram): the
// request is written at once, its answer read later (finishAside), or
// before the update waits for a connection (drainAside). Any other sender's
// travel in a goroutine each (goAside).
type asideSender interface {
	AnswerCallbackAside(ctx context.Context, callbackID, text string) *bot.Aside
	EditAside(ctx context.Context, m bot.Message) *bot.Aside
}

// finishEdits waits for the edit EditAside sent.
func (r *Request) finishEdits() { r.finishAside(true, false) }

// finishAside reads the answers of the edit and (when answer is true) the
// callback's answer sent aside, each once: first both first tries, which
// frees their connections, then the tries again of those that failed.
func (r *Request) finishAside(edit, answer bool) {
	r.asideMu.Lock()
	var e, a *bot.Aside
	if edit {
		e, r.edit = r.edit, nil
	}
	if answer {
		a, r.answer = r.answer, nil
	}
	r.asideMu.Unlock()
	for _, x := range []*bot.Aside{e, a} {
		if x != nil {
			x.Read()
		}
	}
	if e != nil {
		if err := e.Wait(); err != nil {
			r.h.log.Debug("edit aside", "err", err) // the update does not need it
		}
	}
	if a != nil {
		if err := a.Wait(); err != nil {
			r.h.log.Warn("answer callback", "err", err)
		}
	}
}

// drainContext is ctx, for a sender that sends aside made to read what
// the update sent aside before it waits for a connection.
func (r *Request) drainContext(ctx context.Context) context.Context {
	if _, ok := r.h.send.(asideSender); ok {
		return bot.WithDrain(ctx, r.drainAside)
	}
	return ctx
}

// drainAside reads the first tries' answers of what the update sent aside
// before it waits for a connection to the Bot API (bot.WithDrain): their
// connections may be the ones it waits for. Tries again, of those that
// failed, are left to finishAside: a 429's wait would hold up the reply.
func (r *Request) drainAside() {
	r.asideMu.Lock()
	defer r.asideMu.Unlock()
	for _, x := range []*bot.Aside{r.edit, r.answer} {
		if x != nil {
			x.Read()
		}
	}
}

// goAside runs f in a goroutine of its own, alongside the update, for a
// sender that cannot send aside itself; a panic in f is logged and
// reported as its error.
func (r *Request) goAside(what string, f func() error) *bot.Aside {
	return bot.Go(func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				r.h.log.Error(what+": panic", "panic", p)
				err = fmt.Errorf("%s: panic: %v", what, p)
			}
		}()
		return f()
	})
}

// waitAside waits until what travels alongside the update (Answer,
// EditAside) came back.
func (r *Request) waitAside() { r.finishAside(true, true) }

// IsAdmin tells whether the sender is an administrator.
func (r *Request) IsAdmin() bool { return r.h.isAdmin(r.UserID) }

// Media tells whether the message is one the relay passes on as a copy:
// a photo, document, voice message, audio or video (not a sticker, a
// round video, a poll or text).
func (r *Request) Media() bool { return mediaMessage(r.Message) }

// mediaMessage tells whether m is a photo, document, voice message, audio
// or video (what the relay copies, and what an album is made of).
func mediaMessage(m *tgbotapi.Message) bool {
	return m != nil && (len(m.Photo) > 0 || m.Document != nil || m.Voice != nil || m.Audio != nil || m.Video != nil)
}

// Location is the shared location of the message, if any.
func (r *Request) Location() *tgbotapi.Location {
	if r.Message == nil {
		return nil
	}
	if r.Message.Location != nil {
		return r.Message.Location
	}
	if r.Message.Venue != nil {
		return &r.Message.Venue.Location
	}
	return nil
}

// Contact is the contact shared with the message, if any.
func (r *Request) Contact() *tgbotapi.Contact {
	if r.Message == nil {
		return nil
	}
	return r.Message.Contact
}

// Is tells whether the message text is the label of message id in any
// language (a button pressed or the word typed).
func (r *Request) Is(id string) bool {
	if r.Text == "" {
		return false
	}
	w, ok := r.h.cat.Word(r.Text)
	return ok && w == id
}

// Button is a reply-keyboard button with the label of message id.
func (r *Request) Button(id string) tgbotapi.KeyboardButton {
	return tgbotapi.NewKeyboardButton(r.T(id, nil))
}

// InlineButton is an inline button with the label of message id and
// callback data.
func (r *Request) InlineButton(id, data string) tgbotapi.InlineKeyboardButton {
	return tgbotapi.NewInlineKeyboardButtonData(r.T(id, nil), data)
}

// splitCommand splits "/cmd@bot args" into "cmd" and "args".
func splitCommand(text string) (string, string, bool) {
	if !strings.HasPrefix(text, "/") {
		return "", "", false
	}
	cmd, args, _ := strings.Cut(text[1:], " ")
	cmd, _, _ = strings.Cut(cmd, "@")
	return strings.ToLower(cmd), strings.TrimSpace(args), cmd != ""
}
