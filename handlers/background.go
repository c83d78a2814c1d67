package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/bot"
	"github.com/dostyq/dostyq/locales"
	"github.com/dostyq/dostyq/storage"
)

// A Notice is a message to someone other than the user being answered
// (an offer to a mediator, a relayed message, an alert). It goes through
// the outbox: written in the transaction of the change that caused it and
// sent by the background worker until Telegram accepts it.
type Notice struct {
	// ChatID, Text, Inline, Protect, Copy and ReplyTo of the message are
	// used.
	bot.Message
	// Ref names the message so that a later notice can edit it.
	Ref string
	// EditRef, when set, edits the message sent for that ref (its text,
	// and its inline buttons: none when Inline is nil) instead of sending.
	EditRef string
}

// TimerFunc does the work of a due timer, inside the transaction that
// records the timer fired: its changes and notices commit with it, so the
// work is done once even across restarts.
type TimerFunc func(tx *storage.Tx, t storage.Timer) error

// onTimer registers the function that fires timers of kind.
func (h *Handlers) onTimer(kind string, fn TimerFunc) { h.timers[kind] = fn }

// notify writes notices to the outbox in tx, in order; they are sent after
// tx commits. Pass many at once (a reminder to every volunteer): they are
// written a hundred to a statement.
func (h *Handlers) notify(tx *storage.Tx, notices ...Notice) error {
	ms, err := outboxOf(notices)
	if err != nil {
		return err
	}
	return tx.EnqueueAll(ms)
}

// outboxOf is the outbox's messages of notices (notify). Made apart from
// the insert, so that their copies are not on the stack beneath it
// (HANDLERS.md, "A worker's stack").
//
//go:noinline
func outboxOf(notices []Notice) ([]storage.OutboxMessage, error) {
	ms := make([]storage.OutboxMessage, len(notices))
	for i := range notices {
		n, m := &notices[i], &ms[i]
		*m = storage.OutboxMessage{ChatID: n.ChatID, Text: n.Text, Protect: n.Protect, Ref: n.Ref, EditRef: n.EditRef, ReplyTo: n.ReplyTo}
		if n.Copy != nil {
			m.CopyFrom, m.CopyMessage = n.Copy.FromChatID, n.Copy.MessageID
		}
		if n.Inline != nil {
			buf, err := json.Marshal(n.Inline)
			if err != nil {
				return nil, fmt.Errorf("notify: keyboard: %w", err)
			}
			m.Keyboard = string(buf)
		}
	}
	return ms, nil
}

// inTx runs fn in a database transaction and, once it is committed, wakes
// the background worker to send the notices it wrote.
func (h *Handlers) inTx(ctx context.Context, fn func(tx *storage.Tx) error) error {
	if err := h.db.Tx(ctx, fn); err != nil {
		return err
	}
	h.wake()
	return nil
}

// wake tells the background worker there is something to send.
func (h *Handlers) wake() {
	select {
	case h.wakeCh <- struct{}{}:
	default:
	}
}

// langOf is the language of user id, for a message sent to them.
func (h *Handlers) langOf(ctx context.Context, id int64) string {
	u, err := h.db.User(ctx, id)
	if err != nil {
		return locales.Default
	}
	return locales.Lang(u.Lang)
}

// tr formats message id in the language of user id.
func (h *Handlers) tr(ctx context.Context, id int64, key string, data map[string]any) string {
	return h.cat.T(h.langOf(ctx, id), key, data)
}

// backgroundTick is how often the background worker looks for due timers
// and messages when nothing wakes it.
const backgroundTick = time.Second

// RunBackground sends the outbox and fires due timers until ctx is done.
// Run one per database.
func (h *Handlers) RunBackground(ctx context.Context) {
	t := time.NewTicker(backgroundTick)
	defer t.Stop()
	for {
		if err := h.RunDue(ctx); err != nil && ctx.Err() == nil {
			h.log.Error("background", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-h.wakeCh:
		}
	}
}

// Replicas sharing the database claim timers and outbox messages before
// working on them (storage.ClaimTimers, storage.ClaimOutbox), so each is
// handled by one replica; a claim runs out after these leases if its
// replica dies. An outbox lease covers a send with all its retries.
const (
	timerLease  = time.Minute
	outboxLease = 2 * time.Minute
)

// lagObserver is told how late each timer fires (*bot.Metrics: the
// scheduler lag histogram).
type lagObserver interface{ SchedulerLag(time.Duration) }

// RunDue does one pass of the background work: fires the timers due by the
// handlers' clock, then sends every outbox message that is due (a chat's
// messages in order), claiming each so that other replicas leave it alone.
// Tests call it after moving the clock.
func (h *Handlers) RunDue(ctx context.Context) error {
	h.bgMu.Lock()
	defer h.bgMu.Unlock()
	var errs []error
	if !h.retentionScheduled {
		if err := h.scheduleRetention(ctx); err != nil {
			errs = append(errs, err)
		} else {
			h.retentionScheduled = true
		}
	}
	for {
		due, err := h.db.ClaimTimers(ctx, h.now(), timerLease, 100)
		if err != nil {
			return err
		}
		for _, t := range due {
			if lo, ok := h.observer.(lagObserver); ok {
				lo.SchedulerLag(h.now().Sub(t.DueAt))
			}
			if err := h.fireTimer(ctx, t); err != nil {
				errs = append(errs, err)
			}
		}
		if len(due) < 100 || len(errs) > 0 {
			break
		}
	}
	tried := map[int64]bool{}
	for ctx.Err() == nil {
		due, err := h.db.ClaimOutbox(ctx, h.now(), outboxLease, 100)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		var chats [][]storage.OutboxMessage // by chat, in order
		at := map[int64]int{}
		for _, m := range due {
			if tried[m.ID] {
				continue
			}
			tried[m.ID] = true
			i, ok := at[m.ChatID]
			if !ok {
				i = len(chats)
				at[m.ChatID] = i
				chats = append(chats, nil)
			}
			chats[i] = append(chats[i], m)
		}
		if len(chats) == 0 {
			break
		}
		errs = append(errs, h.deliverChats(ctx, chats)...)
	}
	return errors.Join(errs...)
}

// outboxParallel is how many chats the outbox sends to at once: the Bot
// API is tens of milliseconds away, so one message at a time cannot reach
// the 30 a second the sender's limiter allows.
const outboxParallel = 16

// deliverChats sends the messages of each chat in order, different chats
// in parallel (the sender's limiter keeps to Telegram's limits).
func (h *Handlers) deliverChats(ctx context.Context, chats [][]storage.OutboxMessage) []error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		next = make(chan []storage.OutboxMessage)
	)
	for range min(outboxParallel, len(chats)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for msgs := range next {
				for _, m := range msgs {
					if err := h.deliver(ctx, m); err != nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
					}
				}
			}
		}()
	}
	for _, msgs := range chats {
		next <- msgs
	}
	close(next)
	wg.Wait()
	return errs
}

func (h *Handlers) fireTimer(ctx context.Context, t storage.Timer) error {
	fn, ok := h.timers[t.Kind]
	err := h.db.Tx(ctx, func(tx *storage.Tx) error {
		fired, err := tx.FireTimer(t.ID)
		if err != nil || !fired {
			return err
		}
		if !ok {
			h.log.Warn("timer of unknown kind dropped", "kind", t.Kind, "ref", t.Ref)
			return nil
		}
		return fn(tx, t)
	})
	if err != nil {
		return fmt.Errorf("timer %s %s: %w", t.Kind, t.Ref, err)
	}
	return nil
}

// Outbox retry policy: exponential backoff from outboxBackoff up to
// outboxMaxBackoff; 429 waits what Telegram says. A message is given up
// after outboxMaxAttempts (about a day of trying), or at once when Telegram
// refuses it for good (403: the user blocked the bot; 400: bad request).
const (
	outboxBackoff     = 5 * time.Second
	outboxMaxBackoff  = 10 * time.Minute
	outboxMaxAttempts = 150
)

// deliver sends one outbox message and records the result.
func (h *Handlers) deliver(ctx context.Context, m storage.OutboxMessage) error {
	msg := bot.Message{ChatID: m.ChatID, Text: m.Text, Protect: m.Protect, ReplyTo: m.ReplyTo}
	if m.CopyMessage != 0 {
		msg.Copy = &bot.Copy{FromChatID: m.CopyFrom, MessageID: m.CopyMessage}
	}
	if m.Keyboard != "" {
		var kb tgbotapi.InlineKeyboardMarkup
		if err := json.Unmarshal([]byte(m.Keyboard), &kb); err != nil {
			return h.db.OutboxFailed(ctx, m.ID, "bad keyboard")
		}
		msg.Inline = &kb
	}
	if m.EditRef != "" {
		orig, err := h.db.OutboxByRef(ctx, m.EditRef)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			return h.db.OutboxFailed(ctx, m.ID, "no message "+m.EditRef)
		case err != nil:
			return err
		case orig.FailedAt != nil:
			return h.db.OutboxFailed(ctx, m.ID, "message "+m.EditRef+" was not sent")
		case orig.SentAt == nil:
			return h.db.OutboxRetry(ctx, m.ID, h.now().Add(outboxBackoff), "waiting for "+m.EditRef)
		}
		msg.ChatID, msg.EditID = orig.ChatID, orig.MessageID
		if msg.Inline == nil {
			msg.Inline = &tgbotapi.InlineKeyboardMarkup{InlineKeyboard: [][]tgbotapi.InlineKeyboardButton{}}
		}
	}
	id, err := h.send.Send(ctx, msg)
	if err == nil {
		// Sent: record it even if ctx is cancelled meanwhile (shutdown),
		// or the message would be sent again on the next pass.
		return h.db.OutboxSent(context.WithoutCancel(ctx), m.ID, id)
	}
	if ctx.Err() != nil {
		// Stopping: let another replica send it without waiting for the lease.
		return h.db.ReleaseOutbox(context.WithoutCancel(ctx), m.ID)
	}
	permanent, wait, text := classifySendError(err)
	h.log.Warn("outbox: send failed", "outbox_id", m.ID, "attempt", m.Attempts+1, "err", text)
	switch {
	case text == "message is not modified":
		return h.db.OutboxSent(ctx, m.ID, msg.EditID)
	case permanent || m.Attempts+1 >= outboxMaxAttempts:
		return h.giveUp(ctx, m, text)
	}
	if wait == 0 {
		wait = outboxBackoff << min(m.Attempts, 10)
		wait = min(wait, outboxMaxBackoff)
	}
	return h.db.OutboxRetry(ctx, m.ID, h.now().Add(wait), text)
}

// giveUp records that the message will not be sent and, for a relayed
// message, tells its sender so (relayUndelivered: nothing for other
// messages), in the same transaction.
func (h *Handlers) giveUp(ctx context.Context, m storage.OutboxMessage, errText string) error {
	return h.inTx(ctx, func(tx *storage.Tx) error {
		if failed, err := tx.OutboxFailed(m.ID, errText); err != nil || !failed {
			return err // not pending any more: whoever ended it spoke for it
		}
		return h.relayUndelivered(ctx, tx, m, errText)
	})
}

// classifySendError tells whether a send error is final (the user blocked
// the bot, the request is wrong), how long Telegram asked to wait (429), and
// a short description without personal data. Transports report Telegram's
// answers as *tgbotapi.Error (wrapped with %w is fine).
func classifySendError(err error) (permanent bool, wait time.Duration, text string) {
	var te *tgbotapi.Error
	if !errors.As(err, &te) {
		var tv tgbotapi.Error
		if errors.As(err, &tv) {
			te = &tv
		}
	}
	if te == nil {
		return false, 0, "send failed"
	}
	desc := strings.ToLower(te.Message)
	switch {
	case te.Code == 429:
		wait = time.Duration(te.RetryAfter) * time.Second
		if wait <= 0 {
			wait = outboxBackoff
		}
		return false, wait, "429 too many requests"
	case strings.Contains(desc, "message is not modified"):
		return true, 0, "message is not modified"
	case te.Code == 403:
		return true, 0, fmt.Sprintf("403 %s", truncateRunes(te.Message, 100))
	case te.Code == 400:
		return true, 0, fmt.Sprintf("400 %s", truncateRunes(te.Message, 100))
	}
	return false, 0, fmt.Sprintf("%d %s", te.Code, truncateRunes(te.Message, 100))
}

// botText is a plain text message to chat.
func botText(chat int64, text string) bot.Message { return bot.Message{ChatID: chat, Text: text} }

// botMenu is a text message with a reply keyboard to the user's chat.
func botMenu(text string, kb *tgbotapi.ReplyKeyboardMarkup) bot.Message {
	return bot.Message{Text: text, Keyboard: kb}
}
