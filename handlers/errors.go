package handlers

import (
	"context"
	"errors"
	"fmt"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/locales"
	"github.com/dostyq/dostyq/storage"
)

// Code classifies an error for the reply the user gets.
type Code int

// Error codes.
const (
	Internal  Code = iota // a fault of ours: logged with detail, "something went wrong"
	Invalid               // the user's input was not acceptable
	NotFound              // what the user asked for does not exist
	Forbidden             // the user may not do this
)

// Error is an error with a code and the locale message id of the reply the
// user gets. Only Internal errors are logged with detail.
type Error struct {
	Code Code
	Key  string
	Data map[string]any
	Err  error
	// Reask: a message typed where a step's buttons are the answer is
	// answered with Key and then the step's question again, its buttons at
	// the bottom of the chat (answerFlow): the question may have scrolled
	// up, or been lost to a crash between two messages of one answer.
	Reask bool
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Key, e.Err)
	}
	return e.Key
}

func (e *Error) Unwrap() error { return e.Err }

// invalid is a user-input error replied with message key.
func invalid(key string, data map[string]any) error {
	return &Error{Code: Invalid, Key: key, Data: data}
}

// pressButtons is a user-input error for text typed where a step's buttons
// are the answer: replied with message key ("choose with the buttons
// below"), then the step asked again (Error.Reask).
func pressButtons(key string) error {
	return &Error{Code: Invalid, Key: key, Reask: true}
}

// forbidden is a permission error replied with message key.
func forbidden(key string) error {
	return &Error{Code: Forbidden, Key: key}
}

// notFound is replied with message key.
func notFound(key string) error {
	return &Error{Code: NotFound, Key: key}
}

// replyKey returns the message id and data of the reply for err, and
// whether err is an internal fault. A store that did not answer (Redis
// down) is a fault of ours too, but the user hears that it is temporary,
// also on the pressed button.
func replyKey(err error) (string, map[string]any, bool) {
	if errors.Is(err, storage.ErrUnavailable) {
		return "faults.unavailable", nil, false
	}
	var e *Error
	if errors.As(err, &e) && e.Code != Internal {
		return e.Key, e.Data, false
	}
	return "error.internal", nil, true
}

// senderLang is the language of the sender of u when their request could
// not be loaded: the one stored (the database may answer when Redis does
// not), else their client's, else the default.
func (h *Handlers) senderLang(ctx context.Context, u *tgbotapi.Update) string {
	from := u.SentFrom()
	if from == nil {
		return locales.Default
	}
	if user, err := h.db.User(ctx, from.ID); err == nil && user.Lang != "" {
		return locales.Lang(user.Lang)
	}
	return locales.Lang(from.LanguageCode)
}
