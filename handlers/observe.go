package handlers

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/bot"
	"github.com/dostyq/dostyq/storage"
)

// Observer is told of every handled update: its kind (bot.Kind*), outcome
// (bot.Outcome*) and how long it took. *bot.Metrics is one.
type Observer interface {
	ObserveUpdate(kind, outcome string, d time.Duration)
}

// HasCommand tells whether the bot answers /name, so the command menu lists
// only commands that work.
func (h *Handlers) HasCommand(name string) bool {
	_, ok := h.commands[name]
	return ok || name == "cancel"
}

// updateLog is the one log line, and the observation, of a handled update.
// It carries no message text, phone number or user name: the chat id is
// hashed and the route is a name from the routing table.
type updateLog struct {
	h       *Handlers
	u       *tgbotapi.Update
	start   time.Time
	kind    string
	route   routeName
	outcome string
	refused string // message id of the reply to a refused input
	err     error
	stack   string
}

// observe starts the log record of update u. It is on the heap, not in
// handleUpdate's frame, which is beneath everything the update waits for
// (Dispatcher.handle).
func (h *Handlers) observe(u *tgbotapi.Update) *updateLog {
	kind := bot.UpdateKind(*u)
	return &updateLog{h: h, u: u, start: time.Now(), kind: kind, route: routeName{kind}, outcome: bot.OutcomeOK}
}

// failed records err as the update's result: an internal fault (a store
// that did not answer is one, though its reply is "temporarily
// unavailable"), or a refused input that was answered with a clear reply
// (still outcome ok).
func (o *updateLog) failed(err error) {
	if key, _, internal := replyKey(err); !internal && !errors.Is(err, storage.ErrUnavailable) {
		o.refused = key
		return
	}
	o.outcome, o.err = bot.OutcomeError, err
}

// done writes the update's log line, at debug, or at error with the error
// (and the stack of a panic), and tells the observer.
func (o *updateLog) done() {
	d := time.Since(o.start)
	if o.h.observer != nil {
		o.h.observer.ObserveUpdate(o.kind, o.outcome, d)
	}
	level := slog.LevelDebug
	if o.outcome == bot.OutcomeError || o.outcome == bot.OutcomePanic {
		level = slog.LevelError
	}
	ctx := context.Background()
	if !o.h.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.Int("update_id", o.u.UpdateID),
		slog.String("chat", o.h.chatHash(o.u)),
		slog.String("kind", o.kind),
		slog.String("route", o.route.String()),
		slog.String("outcome", o.outcome),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000),
	}
	if o.refused != "" {
		attrs = append(attrs, slog.String("refused", o.refused))
	}
	if o.err != nil {
		attrs = append(attrs, slog.String("err", o.err.Error()))
	}
	if o.stack != "" {
		attrs = append(attrs, slog.String("stack", o.stack))
	}
	o.h.log.LogAttrs(ctx, level, "update", attrs...)
}

// newLogSalt returns the per-process salt of chat hashes: log lines of one
// run can be followed per chat, but a hash cannot be turned back into a
// Telegram id by trying them all.
func newLogSalt() []byte {
	salt := make([]byte, 16)
	rand.Read(salt) // never fails (crypto/rand)
	return salt
}

// chatHash is the first 8 hex digits of the salted SHA-256 of the update's
// chat id ("-" when it has none).
func (h *Handlers) chatHash(u *tgbotapi.Update) string {
	var id int64
	if chat := u.FromChat(); chat != nil {
		id = chat.ID
	} else if from := u.SentFrom(); from != nil {
		id = from.ID
	} else {
		return "-"
	}
	sum := sha256.New()
	sum.Write(h.logSalt)
	sum.Write([]byte(strconv.FormatInt(id, 10)))
	return hex.EncodeToString(sum.Sum(nil)[:4])
}

// routeName names the route route() takes for r, from the routing table and
// the user's flow, never from free text: unknown commands and callback
// prefixes (client input) are "unknown". The name is joined only when the
// log line is written (routeName.String).
func (h *Handlers) routeName(r *Request) routeName {
	if r.Callback != nil {
		prefix, rest, _ := strings.Cut(r.Callback.Data, ":")
		if prefix == flowPrefix {
			step, _, _ := strings.Cut(rest, ":")
			if r.State.Flow == "" || step != r.State.Step {
				return routeName{"flow:outdated"}
			}
			return routeName{"flow:", r.State.Flow, ":", r.State.Step}
		}
		if _, ok := h.callbacks[prefix]; ok {
			return routeName{"callback:", prefix}
		}
		return routeName{"callback:unknown"}
	}
	if r.Command != "" {
		if h.HasCommand(r.Command) {
			return routeName{"command:", r.Command}
		}
		return routeName{"command:unknown"}
	}
	if id, ok := h.cat.Word(r.Text); ok && r.Text != "" && !h.freeText(r, id) {
		if r.State.Flow != "" && (id == "btn.back" || id == "btn.cancel") {
			return routeName{"flow:", r.State.Flow, ":", strings.TrimPrefix(id, "btn.")}
		}
		if _, ok := h.words[id]; ok {
			return routeName{"word:", id}
		}
	}
	if r.State.Flow != "" {
		return routeName{"flow:", r.State.Flow, ":", r.State.Step}
	}
	switch {
	case r.Location() != nil:
		return routeName{"location"}
	case r.Contact() != nil:
		return routeName{"contact"}
	case r.Text != "":
		return routeName{"text"}
	}
	return routeName{"message"}
}

// routeName is a route's name in parts, joined by String: most updates
// write no log line (debug), so the name is not built for them.
type routeName [4]string

func (n routeName) String() string { return n[0] + n[1] + n[2] + n[3] }
