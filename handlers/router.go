package handlers

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/bot"
	"github.com/dostyq/dostyq/locales"
	"github.com/dostyq/dostyq/storage"
)

// command registers a /name command.
func (h *Handlers) command(name string, fn HandlerFunc) { h.commands[name] = fn }

// commandInFlow registers a /name command that leaves the user's flow
// where it was: they can go on answering afterwards.
func (h *Handlers) commandInFlow(name string, fn HandlerFunc) {
	h.commands[name] = fn
	h.keepFlow[name] = true
}

// commandAside registers a /name command that shows something (a list:
// /cases, /requests): typed in the middle of a request with answers given,
// it leaves the request where it was and asks its step again after, so
// that nothing typed is lost and the summary's buttons still work; at a
// request's first question it leaves it, as other commands do.
func (h *Handlers) commandAside(name string, fn HandlerFunc) {
	h.commandInFlow(name, func(r *Request) error {
		if len(r.State.History) == 0 {
			if err := h.sayLeft(r); err != nil {
				return err
			}
			if err := h.leaveFlow(r); err != nil {
				return err
			}
			return fn(r)
		}
		if err := fn(r); err != nil {
			// Refused ("/case" from a citizen): said, then the question
			// again. A fault goes up as any other.
			if _, _, internal := replyKey(err); internal {
				return err
			}
			h.replyError(r, err, r.Update.UpdateID)
		}
		_, err := h.askAgain(r)
		return err
	})
}

// sayLeft says the user's flow ended (its LeftKey) when a command or a
// menu button is about to leave it; flows without a LeftKey end without a
// word.
func (h *Handlers) sayLeft(r *Request) error {
	if f := h.flows[r.State.Flow]; f != nil && f.LeftKey != "" {
		return r.ReplyKey(f.LeftKey, nil)
	}
	return nil
}

// wordInFlow is word for a label that leaves the user's flow where it was
// (keepFlow holds label ids beside command names).
func (h *Handlers) wordInFlow(id string, fn HandlerFunc) {
	h.word(id, fn)
	h.keepFlow[id] = true
}

// word registers a button label (message id) that works typed or pressed in
// any language.
func (h *Handlers) word(id string, fn HandlerFunc) {
	h.words[id] = fn
	h.cat.RegisterWords(id)
}

// callback registers a callback-data prefix: data "prefix:rest" reaches fn
// with r.Data = "rest".
func (h *Handlers) callback(prefix string, fn HandlerFunc) { h.callbacks[prefix] = fn }

// flow registers a conversation flow.
func (h *Handlers) flow(f *Flow) { h.flows[f.Name] = f }

// HandleUpdate handles one update from Telegram or the console. It never
// panics: a fault is logged with the update id and the user told something
// went wrong. Every callback query is answered.
//
// Each update gets one log line (observe.go): at debug, or at error with
// the error when handling it failed.
func (h *Handlers) HandleUpdate(ctx context.Context, u tgbotapi.Update) {
	h.handleUpdate(ctx, &u, nil)
}

// HandleUpdateOnce implements bot.OnceHandler: when dedupe is the handlers'
// Redis state store and flood control is on, the update id (SET NX), the
// flood counter and the sender's state are one round trip
// (storage.RedisStateStore.SeenCountGet) instead of three. Otherwise the
// update id is checked first, as the dispatcher would.
//
// Its frame, and handleUpdate's, stay under every reply a worker waits for:
// the reads are in functions of their own (seenCountGet) and the update
// goes by pointer, so that a worker's stack stays within Go's first 8 KB
// (docs/BENCHMARKS.md, twelfth round).
func (h *Handlers) HandleUpdateOnce(ctx context.Context, u *tgbotapi.Update, dedupe bot.Deduper, key string, ttl time.Duration) bool {
	from := u.SentFrom()
	if rs, ok := dedupe.(*storage.RedisStateStore); ok && from != nil && h.states == storage.StateStore(rs) {
		first, c, err := h.seenCountGet(ctx, rs, u, from.ID, key, ttl)
		switch {
		case err != nil:
			// Better to risk handling an update twice than to drop it; the
			// counter and the state are read again on their own.
			h.warnUpdate("dispatch: dedupe", u.UpdateID, err)
			h.handleUpdate(ctx, u, nil)
		case !first:
			return true
		default:
			h.handleUpdate(ctx, u, c)
		}
		return false
	}
	first, err := dedupe.FirstSeen(ctx, key, ttl)
	if err != nil {
		h.warnUpdate("dispatch: dedupe", u.UpdateID, err)
	} else if !first {
		return true
	}
	h.handleUpdate(ctx, u, nil)
	return false
}

// seenCountGet marks update key seen, counts it against the sender's flood
// counter and reads their state, in one round trip. What it read is on the
// heap, not on the stack beneath the update.
//
//go:noinline
func (h *Handlers) seenCountGet(ctx context.Context, rs *storage.RedisStateStore, u *tgbotapi.Update, from int64, key string, ttl time.Duration) (first bool, c *counted, err error) {
	counter, _ := h.floodCounter(u, from)
	first, n, st, snap, moved, err := rs.SeenCountGet(ctx, key, ttl, counter, h.cfg.FloodWindow, from)
	return first, &counted{n: n, pre: preloaded{userID: from, state: st, snap: snap, ok: true}, resume: moved}, err
}

// warnUpdate logs a fault handling update id that did not stop it.
//
//go:noinline
func (h *Handlers) warnUpdate(msg string, id int, err error) {
	h.log.Warn(msg, "update_id", id, "err", err)
}

// counted is the flood count of an update and the sender's state, read
// before handleUpdate.
type counted struct {
	n   int64
	pre preloaded
	// resume: the update was taken over from a replica that died after
	// it had moved the user's conversation on (under the chat's lock, storage.RedisStateStore);
	// the new step is asked again instead of handling the update twice.
	resume bool
}

func (h *Handlers) handleUpdate(ctx context.Context, u *tgbotapi.Update, c *counted) {
	o := h.observe(u)
	defer o.done()
	if r := h.load(ctx, u, c, o); r != nil {
		h.serve(r, c != nil && c.resume, o)
	}
}

// load counts u against its sender's flood limit and loads its request,
// its route named in o; nil when the update goes no further (flooded,
// ignored, or the user could not be loaded: told so), with o's outcome
// set. A function of its own, as serve is, so that what each needs is not
// on the stack of the other: HANDLERS.md, "A worker's stack".
//
//go:noinline
func (h *Handlers) load(ctx context.Context, u *tgbotapi.Update, c *counted, o *updateLog) *Request {
	flooded, pre := h.flooding(ctx, u, c)
	if flooded {
		o.outcome = bot.OutcomeFlooded
		return nil
	}
	r, err := h.newRequest(ctx, u, pre)
	if err != nil {
		o.failed(fmt.Errorf("load user: %w", err))
		h.loadFailed(ctx, u, err)
		return nil
	}
	if r == nil {
		o.outcome = bot.OutcomeIgnored
		return nil
	}
	o.route = h.routeName(r)
	if c != nil && c.resume {
		o.route = routeName{"resume"}
	}
	return r
}

// serve routes r (or, resuming, asks its step again: resume) and replies
// to what went wrong.
func (h *Handlers) serve(r *Request, resume bool, o *updateLog) {
	route := h.route
	if resume {
		route = h.resume
	}
	// Last, even if what follows panics: an aside holds a connection to
	// the Bot API until its answer is read.
	defer r.waitAside()
	defer h.recovered(r, o)
	if err := route(r); err != nil {
		o.failed(err)
		h.replyError(r, err, r.Update.UpdateID)
	}
}

// recovered, deferred by serve, logs a panic of its route and tells the
// user, and answers a pressed button whatever happened.
func (h *Handlers) recovered(r *Request, o *updateLog) {
	if p := recover(); p != nil {
		o.outcome, o.err, o.stack = bot.OutcomePanic, fmt.Errorf("panic: %v", p), string(debug.Stack())
		h.replyError(r, o.err, r.Update.UpdateID)
	}
	r.Answer("")
}

// askAgain, for a menu item typed in the middle of a request with answers
// given, says so and asks the step's question again: as with /start, the
// answers are kept; /cancel or Cancel leaves the request. asked is false
// out of such a request. (Apart from route, whose frame is beneath every
// update: HANDLERS.md, "A worker's stack".)
//
//go:noinline
func (h *Handlers) askAgain(r *Request) (asked bool, err error) {
	_, step, ok := h.currentStep(r)
	if !ok || len(r.State.History) == 0 {
		return false, nil
	}
	if err := r.ReplyKey("menu.in_flow", nil); err != nil {
		return true, err
	}
	return true, step.Ask(r)
}

// loadFailed tells the sender of u that their update could not be handled:
// their user or state could not be read (err).
//
//go:noinline
func (h *Handlers) loadFailed(ctx context.Context, u *tgbotapi.Update, err error) {
	chat := u.FromChat()
	if chat == nil {
		return
	}
	er := &Request{h: h, ChatID: chat.ID, Lang: h.senderLang(ctx, u), Callback: u.CallbackQuery}
	er.ctx = er.drainContext(ctx)
	defer er.waitAside() // even after a panic: an aside holds a connection until read
	h.replyError(er, err, u.UpdateID)
}

// resume answers an update taken over from a replica that died after it
// had saved the user's new state but maybe before it asked the new step:
// the step is asked again (or, out of any flow, the main menu is shown),
// rather than taking the update for an answer to that step as well.
func (h *Handlers) resume(r *Request) error {
	if _, step, ok := h.currentStep(r); ok {
		return step.Ask(r)
	}
	return h.sendMenu(r, "menu.main")
}

// flooding counts the sender's updates in the flood window (album items
// apart: floodCounter). Past the limit
// the first extra update gets one "slow down" reply and every further one is
// dropped (a pressed button is still answered, so it stops spinning) until
// the window passes. Other users are never affected.
//
// The sender's conversation state is read in the same round trip as the
// counter (storage.CountGet); when the update goes on, it is returned for
// newRequest (not ok when it was not read).
//
// c, when not nil, is the count and state already read (HandleUpdateOnce);
// otherwise they are read here. The state read is returned (nil when none
// was).
func (h *Handlers) flooding(ctx context.Context, u *tgbotapi.Update, c *counted) (bool, *preloaded) {
	from := u.SentFrom()
	if from == nil {
		return false, nil
	}
	if h.cfg.FloodMessages <= 0 {
		if c != nil {
			return false, &c.pre // counted in passing; the state read is kept
		}
		return false, nil
	}
	counter, limit := h.floodCounter(u, from.ID)
	if c == nil {
		read, err := h.countGet(ctx, counter, from.ID)
		if err != nil {
			// Counted or not, the update goes on; newRequest reads the state
			// again and reports the store's fault if it lasts.
			h.log.Warn("flood control", "err", err)
			return false, nil
		}
		c = read
	}
	n := c.n
	if n <= limit {
		return false, &c.pre
	}
	if u.CallbackQuery != nil {
		if err := h.send.AnswerCallback(ctx, u.CallbackQuery.ID, ""); err != nil {
			h.log.Warn("answer callback", "err", err)
		}
	}
	if n == limit+1 {
		lang := locales.Lang(from.LanguageCode)
		if user, err := h.db.User(ctx, from.ID); err == nil {
			lang = locales.Lang(user.Lang)
		}
		if chat := u.FromChat(); chat != nil {
			if _, err := h.send.Send(ctx, bot.Message{ChatID: chat.ID, Text: h.cat.T(lang, "error.flood", nil)}); err != nil {
				h.log.Warn("flood reply", "err", err)
			}
		}
	}
	return true, nil
}

// countGet counts an update against counter and reads user's state, in one
// round trip. What it read is on the heap, as seenCountGet's is.
//
//go:noinline
func (h *Handlers) countGet(ctx context.Context, counter string, user int64) (*counted, error) {
	n, st, snap, err := storage.CountGet(ctx, h.states, counter, h.cfg.FloodWindow, user)
	if err != nil {
		return nil, err
	}
	return &counted{n: n, pre: preloaded{userID: user, state: st, snap: snap, ok: true}}, nil
}

// freeText tells whether the label id the user typed is, in their current
// flow and step, words to take as they are (Flow.FreeText, Step.FreeText).
func (h *Handlers) freeText(r *Request, id string) bool {
	f := h.flows[r.State.Flow]
	switch {
	case f == nil:
		return false
	case f.FreeText:
		return !slices.Contains(f.Exits, id)
	}
	return f.Steps[r.State.Step].FreeText && id != "btn.back" && id != "btn.cancel"
}

// albumFloodFactor is how many items of albums a user may send in the
// flood window for each message of FLOOD_MESSAGES: at the defaults 40 a
// minute, four albums of ten, which one chat's sending limit (about a
// message a second) can still answer.
const albumFloodFactor = 2

// floodCounter names the counter an update of user counts against, and its
// limit. Each item of an album (photos, videos, documents or audio sent as
// one group) is an update of its own, up to ten at once, so album items
// count against a counter of their own: two albums of photos a citizen
// sends their mediator neither use up the limit of what they type and
// press nor lose their last photos, while a script sending albums is still
// slowed down. Only a message that can be an album item counts so: a text
// carrying a media_group_id (Telegram never sends one) counts as any text.
func (h *Handlers) floodCounter(u *tgbotapi.Update, user int64) (key string, limit int64) {
	if m := u.Message; m != nil && m.MediaGroupID != "" && mediaMessage(m) {
		return storage.AlbumFloodKey(user), int64(h.cfg.FloodMessages) * albumFloodFactor
	}
	return storage.FloodKey(user), int64(h.cfg.FloodMessages)
}

// preloaded is a user's conversation state read before newRequest (when
// ok).
type preloaded struct {
	userID int64
	state  storage.State
	snap   storage.Snapshot
	ok     bool
}

func (h *Handlers) replyError(r *Request, err error, updateID int) {
	key, data, internal := replyKey(err) // internal faults are logged by HandleUpdate
	if r.Callback != nil && !internal {
		r.Answer(truncateRunes(r.T(key, data), 190))
	}
	if sendErr := r.ReplyKey(key, data); sendErr != nil {
		h.log.Warn("update: reply error", "update_id", updateID, "err", sendErr)
	}
}

// newRequest resolves the user, their language and conversation state. It
// returns nil for updates the bot does not act on (channel posts, edits).
// pre, when ok, is the state already read for the sender.
func (h *Handlers) newRequest(ctx context.Context, u *tgbotapi.Update, pre *preloaded) (*Request, error) {
	r := &Request{h: h, Update: *u}
	r.ctx = r.drainContext(ctx)
	var from *tgbotapi.User
	switch {
	case u.Message != nil:
		r.Message = u.Message
		from = u.Message.From
		r.ChatID = u.Message.Chat.ID
		if u.Message.Chat.Type != "private" {
			return nil, nil
		}
	case u.CallbackQuery != nil:
		r.Callback = u.CallbackQuery
		from = u.CallbackQuery.From
		if u.CallbackQuery.Message != nil {
			r.ChatID = u.CallbackQuery.Message.Chat.ID
		}
	default:
		return nil, nil
	}
	if from == nil || from.IsBot {
		return nil, nil
	}
	r.UserID = from.ID
	if r.ChatID == 0 {
		r.ChatID = from.ID
	}
	user, created, err := h.db.TouchUser(ctx, from.ID, locales.Lang(from.LanguageCode))
	if err != nil {
		return nil, err
	}
	r.User, r.NewUser, r.Lang = user, created, locales.Lang(user.Lang)
	if pre != nil && pre.ok && pre.userID == from.ID {
		r.State, r.snap = pre.state, pre.snap
	} else {
		st, snap, err := storage.GetSnapshot(ctx, h.states, from.ID)
		if err != nil {
			return nil, fmt.Errorf("load state: %w", err)
		}
		r.State, r.snap = st, snap
	}
	if r.Message != nil {
		r.Text = CleanText(r.Message.Text)
		if r.Text == "" && r.Message.Caption != "" {
			r.Text = ""
		}
		r.Command, r.Args, _ = splitCommand(r.Text)
	}
	return r, nil
}

// route finds the handler of the request: a callback button, a command, a
// button label, the step of the user's flow, or the kind of message.
func (h *Handlers) route(r *Request) error {
	if r.Callback != nil {
		prefix, rest, _ := strings.Cut(r.Callback.Data, ":")
		if prefix == flowPrefix {
			return h.flowCallback(r, rest)
		}
		if fn, ok := h.callbacks[prefix]; ok {
			r.Data = rest
			return fn(r)
		}
		r.Answer(r.T("error.button_outdated", nil))
		return nil
	}

	if r.Command != "" {
		if r.Command == "cancel" {
			return h.cancelFlow(r)
		}
		fn, ok := h.commands[r.Command]
		if !ok {
			return r.ReplyKey("unknown.command", nil)
		}
		if h.keepFlow[r.Command] {
			return fn(r)
		}
		if err := h.sayLeft(r); err != nil {
			return err
		}
		if err := h.leaveFlow(r); err != nil {
			return err
		}
		return fn(r)
	}

	if id, ok := h.cat.Word(r.Text); ok && r.Text != "" && !h.freeText(r, id) {
		if r.State.Flow != "" {
			switch id {
			case "btn.back":
				return h.backFlow(r)
			case "btn.cancel":
				return h.cancelFlow(r)
			}
		}
		if fn, ok := h.words[id]; ok {
			if h.keepFlow[id] {
				return fn(r)
			}
			if asked, err := h.askAgain(r); asked || err != nil {
				return err
			}
			if f := h.flows[r.State.Flow]; f != nil && !slices.Contains(f.Exits, id) {
				// A menu button leaving a flow that says so when left
				// (a message kept unsent: "not sent"); its own exit
				// says it itself.
				if err := h.sayLeft(r); err != nil {
					return err
				}
			}
			if err := h.leaveFlow(r); err != nil {
				return err
			}
			return fn(r)
		}
		// Back or Cancel with no flow: a keyboard left from a flow that
		// ended or whose state expired, or the word typed. The main menu.
		switch id {
		case "btn.back":
			return h.menu(r)
		case "btn.cancel":
			return h.cancelFlow(r)
		}
	}

	if r.State.Flow != "" {
		if f := h.flows[r.State.Flow]; r.Text == "" && r.Location() == nil && r.Contact() == nil && (f == nil || !f.Media) {
			// A sticker, photo or voice message in the middle of a flow: say
			// what is expected, keep the answers given so far (if any),
			// and ask the question again, its buttons under it.
			return h.mediaInFlow(r)
		}
		return h.answerFlow(r)
	}

	switch {
	case r.Location() != nil && h.onLocation != nil:
		return h.onLocation(r)
	case r.Contact() != nil && h.onContact != nil:
		return h.onContact(r)
	case r.Text != "" && h.onText != nil:
		return h.onText(r)
	case r.Text != "":
		return r.ReplyKey("unknown.text", nil)
	case r.Media():
		// A photo or voice message for the mediator sent outside the
		// chat of the case (its state expired overnight): not passed on,
		// and they are told so, with the button to write.
		if hinted, err := h.relayHint(r); hinted || err != nil {
			return err
		}
		// An administrator's directory file sent to the bot: where it goes.
		if d := r.Message.Document; d != nil && h.isAdmin(r.UserID) && strings.HasSuffix(strings.ToLower(d.FileName), ".csv") {
			return r.ReplyKey("unknown.csv_admin", nil)
		}
	}
	return r.ReplyKey("unknown.message", nil)
}

// mediaInFlow answers a message without text in the middle of a flow that
// takes none: what is expected, then the question again (Step.Again).
func (h *Handlers) mediaInFlow(r *Request) error {
	key := "unknown.in_flow"
	if len(r.State.History) == 0 {
		key = "unknown.in_flow_first" // no answers yet to keep
	}
	if err := r.ReplyKey(key, nil); err != nil {
		return err
	}
	if _, step, ok := h.currentStep(r); ok {
		return step.again(r)
	}
	return nil
}
