package app

import (
	"context"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/bot"
	"github.com/dostyq/dostyq/handlers"
	"github.com/dostyq/dostyq/storage"
)

// ServeOptions are for callers that run the bot in-process (the load tool,
// tests); `dostyq serve` uses the zero value.
type ServeOptions struct {
	// Wrap, when set, wraps the handler the dispatcher calls (to observe
	// when an update has been handled).
	Wrap func(bot.UpdateHandler) bot.UpdateHandler
	// Listener, when set, serves the webhook instead of listening on
	// LISTEN_ADDR.
	Listener net.Listener
	// Started, when set, is called once the handlers are built and the
	// background worker runs.
	Started func(*handlers.Handlers)
}

// Serve runs the bot against Telegram: long polling, or a webhook when
// WEBHOOK_URL is set. It stops on ctx (SIGINT, SIGTERM), finishing the
// updates in flight.
func Serve(ctx context.Context, cfg bot.Config, stderr io.Writer, o ServeOptions) error {
	if cfg.Token == "" {
		return errors.New("TELEGRAM_BOT_TOKEN is not set. Get a token from @BotFather and set it, or try the bot without Telegram: dostyq chat (go run . chat)")
	}
	log := NewLogger(cfg, stderr)
	a, err := Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()

	metrics := bot.NewMetrics()
	a.instrument(metrics)

	rate := cfg.SendRate
	if rate == 0 {
		rate = -1 // off
	}
	limits := bot.LimiterOptions{Global: rate, Chat: cfg.SendChatRate}
	if rs, ok := a.States.(*storage.RedisStateStore); ok {
		// Replicas on one Redis share the global limit.
		limits.Redis, limits.RedisKey = rs.Client(), rs.Prefix+"send:global"
	}
	tg, err := bot.NewTelegram(ctx, bot.TelegramOptions{
		Token: cfg.Token, Endpoint: cfg.APIEndpoint, Retries: cfg.SendRetries, Logger: log,
		Limiter: bot.NewLimiter(limits),
		Metrics: metrics, MaxConnections: cfg.BotAPIConnections,
	})
	if err != nil {
		return err
	}
	log.Info("connected to Telegram", "bot", tg.Self().UserName)
	api := commandAPI{ctx: context.WithoutCancel(ctx), tg: tg}
	menus := &bot.ChatMenus{API: api, Translator: a.Cat}
	h := a.HandlersWith(cfg, tg, tg.Self().UserName, metrics, menus)
	// The menus list only the commands this bot answers.
	menus.Menu = bot.DefaultCommandMenu().Only(h.HasCommand)
	if err := bot.SetCommands(ctx, api, a.Cat, menus.Menu); err != nil {
		log.Warn("command menu", "err", err)
	}
	if err := h.SyncMenus(ctx); err != nil {
		log.Warn("staff command menus", "err", err)
	}

	// Notifications (outbox) and timers; stopped after the updates in
	// flight, so that what they commit is still sent.
	bgCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	bgDone := make(chan struct{})
	if n, err := a.DB.ReleaseStaleClaims(ctx); err != nil {
		log.Warn("outbox: release the claims of the last run", "err", err)
	} else if n > 0 {
		log.Info("outbox: claims of the last run released", "count", n)
	}
	go func() { defer close(bgDone); h.RunBackground(bgCtx) }()
	defer func() {
		// The updates in flight are done (this runs after d.Stop): send
		// what they committed before exiting, for at most 5 s. What is
		// left stays in the outbox for the next start.
		flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.RunDue(flushCtx); err != nil && flushCtx.Err() == nil {
			log.Warn("stop: flush outbox", "err", err)
		}
		stopBackground()
		<-bgDone
	}()
	if o.Started != nil {
		o.Started(h)
	}
	// Telegram keeps an update for 24 h, and Redis outlives a restart. The
	// memory store does not: it only needs to catch a webhook's redelivery.
	dedupeTTL := 24 * time.Hour
	if cfg.RedisURL == "" {
		dedupeTTL = 10 * time.Minute
	}
	var uh bot.UpdateHandler = h
	if o.Wrap != nil {
		uh = o.Wrap(uh)
	}
	dopts := bot.DispatcherOptions{Workers: cfg.Workers, Dedupe: a.States, DedupeTTL: dedupeTTL,
		BotID: tg.Self().ID, Logger: log, Metrics: metrics}
	if rs, ok := a.States.(*storage.RedisStateStore); ok && replicated(cfg) {
		// Replicas behind one webhook: one chat handled by one of them at a
		// time, and an update whose replica died while handling it handled
		// by the one it is delivered to next.
		dopts.Locker = rs
	} else {
		// One process handles the updates (Telegram gives long polling to
		// one client; a webhook on SQLite or without Redis is one
		// instance): keep the users rows in it. With replicas the next update of a chat may be
		// handled by another one right after a language switch or /forget
		// here, which its cache would not know (docs/BENCHMARKS.md, "Third
		// round"). Roles are never cached.
		a.DB.CacheUsers(storage.LastSeenEvery)
	}
	d := bot.NewDispatcher(uh, dopts)

	// The updates taken and not yet handled are kept in Redis, so that a
	// process killed meanwhile does not lose them (replicas need not:
	// their webhook answers once an update is handled).
	var taken bot.TakenLog
	if rs, ok := a.States.(*storage.RedisStateStore); ok && dopts.Locker == nil {
		taken = rs
	}
	var poller *bot.Poller
	var webhookTaken *bot.WebhookTaken
	if cfg.WebhookURL != "" && taken != nil {
		webhookTaken = bot.NewWebhookTaken(taken, tg.Self().ID, d, log)
	}
	if cfg.WebhookURL == "" {
		poller = bot.NewPoller(tg, d, log)
		poller.Taken = taken
	}
	var webhookServing atomic.Bool // the webhook's readiness
	healthDone := make(chan struct{})
	go func() {
		defer close(healthDone)
		checks := []bot.Check{
			{Name: "database", Check: a.DB.Ping},
			{Name: "redis", Check: a.States.Ping},
			{Name: "transport", Check: transportCheck(poller, &webhookServing)},
		}
		if err := bot.ServeHealth(ctx, cfg.MetricsAddr, bot.HealthHandler(metrics, log, checks...), log); err != nil {
			log.Error("metrics and health endpoints", "err", err)
		}
	}()
	defer func() { <-healthDone }()

	if cfg.WebhookURL != "" {
		err = bot.ServeWebhook(ctx, tg, d, bot.WebhookOptions{
			URL: cfg.WebhookURL, Secret: cfg.WebhookSecret, Listen: cfg.ListenAddr,
			MaxConnections: cfg.WebhookMaxConnections, Listener: o.Listener,
			Serving: webhookServing.Store,
			// Replicas (a shared Redis): answer Telegram once handled, so
			// that the next update of the chat, on whichever replica, comes
			// after it, and one lost with its replica is delivered again.
			WaitHandled: dopts.Locker != nil,
			Taken:       webhookTaken,
		}, log)
	} else {
		err = poller.Run(ctx)
	}

	log.Info("stopping: finishing updates in flight")
	stopCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	stopErr := d.Stop(stopCtx)
	if stopErr != nil {
		log.Warn("stop", "err", stopErr)
	} else if poller != nil {
		// Every update taken was handled: confirm them, so that the next
		// start does not receive them again (and empty the TakenLog).
		if err := poller.Confirm(stopCtx); err != nil {
			log.Warn("stop: confirm updates", "err", err)
		}
	} else if webhookTaken != nil {
		// Every update taken was handled: drop them from the log.
		if err := webhookTaken.Flush(stopCtx); err != nil {
			log.Warn("stop: drop the updates handled from the log", "err", err)
		}
	}
	return err
}

// transportCheck is the readiness of the transport: with long polling, a
// getUpdates answered within two poll timeouts; a webhook is ready once
// Telegram accepted setWebhook and while it is served.
func transportCheck(p *bot.Poller, webhookServing *atomic.Bool) func(context.Context) error {
	return func(context.Context) error {
		if p == nil {
			if !webhookServing.Load() {
				return errors.New("webhook not registered or not served")
			}
			return nil
		}
		last := p.LastPoll()
		if last.IsZero() || time.Since(last) > 2*time.Duration(p.Timeout)*time.Second+30*time.Second {
			return errors.New("no getUpdates answer lately")
		}
		return nil
	}
}

// commandAPI lets the command-menu code make its Bot API calls through the
// sender, with its retries and without the token in errors.
type commandAPI struct {
	ctx context.Context
	tg  *bot.Telegram
}

func (c commandAPI) Request(ch tgbotapi.Chattable) (*tgbotapi.APIResponse, error) {
	if err := c.tg.Request(c.ctx, ch); err != nil {
		return nil, err
	}
	return &tgbotapi.APIResponse{Ok: true}, nil
}

// replicated tells whether this process may be one of several replicas of
// the bot: a webhook (long polling has one client), a shared Redis and a
// shared database, PostgreSQL (an SQLite file belongs to one process).
// Replicas take the chat's lock in Redis around each update and answer the
// webhook once the update is handled; one process keeps each chat's order
// in its dispatcher and answers as soon as the update is queued, as long
// polling confirms it.
func replicated(cfg bot.Config) bool {
	return cfg.WebhookURL != "" && cfg.RedisURL != "" && cfg.DatabaseURL != ""
}
