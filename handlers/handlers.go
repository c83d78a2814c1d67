// Package handlers is what the bot says and does: one file per flow (menu,
// directory, mediation, charity, volunteering, admin, privacy), every route
// registered in routes.go.
package handlers

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/dostyq/dostyq/bot"
	"github.com/dostyq/dostyq/locales"
	"github.com/dostyq/dostyq/storage"
)

// Sender delivers the bot's messages: to Telegram, or to the console.
type Sender interface {
	// Send sends m and returns the id of the message sent (or edited).
	Send(ctx context.Context, m bot.Message) (int, error)
	// AnswerCallback answers a callback query, with an optional toast text.
	AnswerCallback(ctx context.Context, callbackID, text string) error
}

// Config is what the handlers need to know of the bot's configuration.
type Config struct {
	AdminIDs    []int64
	BotUsername string
	// FloodMessages is how many updates a user may send in FloodWindow;
	// past it they get one "slow down" reply and the rest are dropped until
	// the window passes. Zero turns flood control off.
	FloodMessages int
	FloodWindow   time.Duration
	// OfferTimeout is how long a mediator has to accept an offered case
	// before the next one is asked; EscalateAfter how long a case may wait
	// for a mediator before administrators are alerted.
	OfferTimeout  time.Duration
	EscalateAfter time.Duration
	// Retention is how long closed cases and requests and past events'
	// registrations keep their personal data (privacy.go); zero: 365 days.
	Retention time.Duration
}

// Deps are the handlers' dependencies.
type Deps struct {
	DB      *storage.DB
	States  storage.StateStore
	Sender  Sender
	Catalog *locales.Catalog
	// Gazetteer finds typed towns and the region of a location.
	Gazetteer *storage.Gazetteer
	Config    Config
	Logger    *slog.Logger
	Now       func() time.Time
	// Observer, when set, is told of every handled update (*bot.Metrics).
	Observer Observer
	// Menus, when set, gives staff their own command menu when their roles
	// change (bot.ChatMenus).
	Menus Menus
}

// Menus sets the command menu of one user's chat for the roles they hold
// (none: everyone's menu).
type Menus interface {
	SetRoles(ctx context.Context, chatID int64, roles ...string) error
}

// HandlerFunc handles one routed update.
type HandlerFunc func(r *Request) error

// Handlers holds the dependencies of every flow and the routing table.
type Handlers struct {
	// answerInOrder: the sender is local (localSender).
	answerInOrder bool

	db     *storage.DB
	states storage.StateStore
	send   Sender
	cat    *locales.Catalog
	gaz    *storage.Gazetteer
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	// observer and logSalt: observe.go.
	observer Observer
	menus    Menus
	logSalt  []byte

	commands   map[string]HandlerFunc
	keepFlow   map[string]bool // commands that do not leave the flow
	words      map[string]HandlerFunc
	callbacks  map[string]HandlerFunc
	flows      map[string]*Flow
	onLocation HandlerFunc
	onContact  HandlerFunc
	onText     HandlerFunc

	// Background work (background.go): timer functions by kind, a signal
	// that the outbox has something to send, one pass at a time.
	timers map[string]TimerFunc
	wakeCh chan struct{}
	bgMu   sync.Mutex
	// retentionScheduled: the daily retention job is scheduled (privacy.go).
	retentionScheduled bool
	// dutyHooks run when a staff member goes on or off duty (staff.go).
	dutyHooks []DutyHook
	// mainMenus are the main menu keyboards by language (menu.go).
	mainMenus sync.Map
}

// New builds the handlers and registers every route.
func New(d Deps) *Handlers {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Config.OfferTimeout <= 0 {
		d.Config.OfferTimeout = 2 * time.Hour
	}
	if d.Config.EscalateAfter <= 0 {
		d.Config.EscalateAfter = 24 * time.Hour
	}
	h := &Handlers{
		db: d.DB, states: d.States, send: d.Sender, cat: d.Catalog, gaz: d.Gazetteer, cfg: d.Config,
		log: d.Logger, now: d.Now, observer: d.Observer, menus: d.Menus, logSalt: newLogSalt(),
		commands:  map[string]HandlerFunc{},
		keepFlow:  map[string]bool{},
		words:     map[string]HandlerFunc{},
		callbacks: map[string]HandlerFunc{},
		flows:     map[string]*Flow{},
		timers:    map[string]TimerFunc{},
		wakeCh:    make(chan struct{}, 1),
	}
	if l, ok := d.Sender.(localSender); ok && l.Local() {
		h.answerInOrder = true
	}
	h.routes()
	return h
}

// localSender is a sender whose calls cost no round trip (the console
// chat): a callback's answer is shown before the reply, in order, instead
// of travelling alongside it (Request.Answer).
type localSender interface{ Local() bool }

// isAdmin tells whether Telegram user id is an administrator.
func (h *Handlers) isAdmin(id int64) bool {
	for _, a := range h.cfg.AdminIDs {
		if a == id {
			return true
		}
	}
	return false
}
