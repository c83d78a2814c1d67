// Command dostyq is the Telegram bot of the Assembly of the People of
// Kazakhstan. main.go is wiring only: read config, open storage and state,
// build the bot, run.
package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/redis/go-redis/v9"

	"github.com/dostyq/dostyq/bot"
	"github.com/dostyq/dostyq/handlers"
	"github.com/dostyq/dostyq/locales"
	"github.com/dostyq/dostyq/storage"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

const usage = `Dostyq — the Telegram bot of the Assembly of the People of Kazakhstan.

Usage:
  dostyq [serve]          serve Telegram (needs TELEGRAM_BOT_TOKEN)
  dostyq chat [flags]     chat with the bot in this terminal, no Telegram needed
      --user ID           Telegram user id to speak as (default 1)
      --lang LANG         client language code of that user (default kk)
      --db PATH           SQLite file (default $DATABASE_PATH or dostyq.db)
  dostyq backup PATH      write a consistent copy of the database to PATH,
                          safe while the bot runs
  dostyq restore [--force] PATH
                          check the backup PATH and copy it to DATABASE_PATH
                          (stop the bot first)
  dostyq import [flags] FILE.csv
                          load directory places (docs/DIRECTORY.md); every row
                          is checked and nothing is written if one is invalid
      --skip-invalid      import the valid rows, report the others
      --dry-run           check and report, write nothing
      --replace           remove the places that are not in FILE (needs a
                          file without invalid rows)
      --sample            mark the rows as sample data
  dostyq healthcheck      exit 0 when the running bot's /healthz answers
                          (METRICS_ADDR; for Docker's HEALTHCHECK)
  dostyq help             this text

Configuration is read from environment variables; see README.md.
`

// run is the whole program; it returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	if cmd == "help" || cmd == "-h" || cmd == "--help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	cfg, err := bot.LoadConfig(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "dostyq: configuration:\n%v\n", err)
		return 2
	}
	switch cmd {
	case "serve":
		err = serve(ctx, cfg, stderr)
	case "chat":
		err = chat(ctx, cfg, args, stdin, stdout, stderr)
	case "backup":
		err = backup(ctx, cfg, args, stdout)
	case "restore":
		err = restore(ctx, cfg, args, stdout, stderr)
	case "import":
		err = importPlaces(ctx, cfg, args, stdout, stderr)
	case "healthcheck":
		err = healthcheck(ctx, cfg)
	default:
		fmt.Fprintf(stderr, "dostyq: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "dostyq: %v\n", err)
		}
		return 1
	}
	return 0
}

func newLogger(cfg bot.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openState connects to Redis at cfg.RedisURL, or returns an in-memory store.
func openState(ctx context.Context, cfg bot.Config, log *slog.Logger) (storage.StateStore, error) {
	if cfg.RedisURL == "" {
		log.Warn("REDIS_URL is not set: conversation state is kept in memory and will not survive a restart")
		return storage.NewMemoryStateStore(cfg.StateTTL, nil), nil
	}
	opts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	boundRedisWaits(opts)
	st := storage.NewRedisStateStore(redis.NewClient(opts), cfg.StateTTL)
	if err := st.Ping(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("redis: %w", err)
	}
	return st, nil
}

// dataFS holds the shipped data: regions, the settlement gazetteer and the
// sample directory.
//
//go:embed data/*.csv
var dataFS embed.FS

func loadGazetteer() (*storage.Gazetteer, error) {
	regions, err := dataFS.Open("data/regions.csv")
	if err != nil {
		return nil, err
	}
	defer regions.Close()
	settlements, err := dataFS.Open("data/gazetteer.csv")
	if err != nil {
		return nil, err
	}
	defer settlements.Close()
	g, err := storage.LoadGazetteer(regions, settlements)
	if err != nil {
		return nil, err
	}
	border, err := dataFS.Open("data/kazakhstan.csv")
	if errors.Is(err, fs.ErrNotExist) {
		return g, nil // the bounding box stands in for the border
	}
	if err != nil {
		return nil, err
	}
	defer border.Close()
	return g, g.LoadBorder(border)
}

// loadSampleDirectory imports the shipped sample directory into an empty
// directory, so that a fresh bot has places to show.
func loadSampleDirectory(ctx context.Context, db *storage.DB, gaz *storage.Gazetteer, log *slog.Logger) error {
	n, err := db.CountPlaces(ctx)
	if err != nil || n > 0 {
		return err
	}
	f, err := dataFS.Open("data/directory-sample.csv")
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	res, err := db.ImportPlaces(ctx, f, gaz, storage.ImportOptions{Sample: true, SkipInvalid: true})
	if err != nil {
		return fmt.Errorf("sample directory: %w", err)
	}
	if res.Rejected > 0 {
		log.Warn("sample directory: invalid rows skipped", "rejected", res.Rejected, "first", res.Problems[0].String())
	}
	log.Info("sample directory loaded", "places", res.Added)
	return nil
}

// app is what every mode shares: the database, the state store and the catalog.
type app struct {
	db     *storage.DB
	states storage.StateStore
	cat    *locales.Catalog
	gaz    *storage.Gazetteer
	log    *slog.Logger
}

func openApp(ctx context.Context, cfg bot.Config, log *slog.Logger) (*app, error) {
	cat, err := locales.Load()
	if err != nil {
		return nil, err
	}
	gaz, err := loadGazetteer()
	if err != nil {
		return nil, err
	}
	db, err := storage.Open(ctx, cfg.DatabasePath)
	if err != nil {
		return nil, err
	}
	if err := loadSampleDirectory(ctx, db, gaz, log); err != nil {
		db.Close()
		return nil, err
	}
	states, err := openState(ctx, cfg, log)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &app{db: db, states: states, cat: cat, gaz: gaz, log: log}, nil
}

func (a *app) Close() error { return errors.Join(a.states.Close(), a.db.Close()) }

func (a *app) handlers(cfg bot.Config, sender handlers.Sender, username string) *handlers.Handlers {
	return a.handlersWith(cfg, sender, username, nil, nil)
}

// handlersWith builds the handlers with metrics and staff command menus
// (both optional).
func (a *app) handlersWith(cfg bot.Config, sender handlers.Sender, username string, m *bot.Metrics, menus handlers.Menus) *handlers.Handlers {
	d := handlers.Deps{
		DB: a.db, States: a.states, Sender: sender, Catalog: a.cat, Gazetteer: a.gaz, Logger: a.log,
		Config: handlers.Config{AdminIDs: cfg.AdminIDs, BotUsername: username,
			FloodMessages: cfg.FloodMessages, FloodWindow: cfg.FloodWindow,
			OfferTimeout: cfg.MediationOfferTimeout, EscalateAfter: cfg.MediationEscalateAfter},
		Menus: menus,
	}
	if m != nil {
		d.Observer = m
	}
	return handlers.New(d)
}

// chat runs the console mode.
func chat(ctx context.Context, cfg bot.Config, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	user := fs.Int64("user", 1, "Telegram user id to speak as")
	lang := fs.String("lang", "kk", "client language code")
	dbPath := fs.String("db", cfg.DatabasePath, "SQLite file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *user <= 0 {
		return fmt.Errorf("chat: --user must be a positive Telegram user id")
	}
	cfg.DatabasePath = *dbPath
	// A console is one person (or a script) at a terminal: no flood control.
	cfg.FloodMessages = 0
	if cfg.LogLevel < slog.LevelWarn {
		cfg.LogLevel = slog.LevelWarn
	}
	log := newLogger(cfg, stderr)
	if cfg.RedisURL == "" {
		// The console is single-user by nature: no warning about memory state.
		log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	}
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	console := bot.NewConsole(stdout, *user, *lang)
	h := a.handlers(cfg, console, "dostyq_bot")
	// After each line, send at once what it caused to other users, so a
	// script that switches users (@as) sees them in order.
	console.SetHandler(drainAfter{h})
	// Notifications to other users (shown as "[to ID]") and timers run in
	// the background, as they do when serving Telegram.
	bgCtx, stopBackground := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); h.RunBackground(bgCtx) }()
	err = console.Run(ctx, stdin)
	stopBackground()
	<-done
	// At the end of a script, deliver what its last lines caused.
	if runErr := h.RunDue(context.WithoutCancel(ctx)); runErr != nil {
		log.Error("background", "err", runErr)
	}
	return err
}

// drainAfter handles an update, then runs the background work it made due.
type drainAfter struct{ h *handlers.Handlers }

func (d drainAfter) HandleUpdate(ctx context.Context, u tgbotapi.Update) {
	d.h.HandleUpdate(ctx, u)
	if err := d.h.RunDue(ctx); err != nil && ctx.Err() == nil {
		slog.Warn("background", "err", err)
	}
}

// serve runs the bot against Telegram: long polling, or a webhook when
// WEBHOOK_URL is set. It stops on ctx (SIGINT, SIGTERM), finishing the
// updates in flight.
func serve(ctx context.Context, cfg bot.Config, stderr io.Writer) error {
	if cfg.Token == "" {
		return errors.New("TELEGRAM_BOT_TOKEN is not set. Get a token from @BotFather and set it, or try the bot without Telegram: dostyq chat (go run . chat)")
	}
	log := newLogger(cfg, stderr)
	a, err := openApp(ctx, cfg, log)
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
	tg, err := bot.NewTelegram(ctx, bot.TelegramOptions{
		Token: cfg.Token, Endpoint: cfg.APIEndpoint, Retries: cfg.SendRetries, Logger: log,
		Limiter: bot.NewLimiter(bot.LimiterOptions{Global: rate, Chat: cfg.SendChatRate}),
		Metrics: metrics,
	})
	if err != nil {
		return err
	}
	log.Info("connected to Telegram", "bot", tg.Self().UserName)
	api := commandAPI{ctx: context.WithoutCancel(ctx), tg: tg}
	menus := &bot.ChatMenus{API: api, Translator: a.cat}
	h := a.handlersWith(cfg, tg, tg.Self().UserName, metrics, menus)
	// The menus list only the commands this bot answers.
	menus.Menu = bot.DefaultCommandMenu().Only(h.HasCommand)
	if err := bot.SetCommands(ctx, api, a.cat, menus.Menu); err != nil {
		log.Warn("command menu", "err", err)
	}
	if err := h.SyncMenus(ctx); err != nil {
		log.Warn("staff command menus", "err", err)
	}

	// Notifications (outbox) and timers; stopped after the updates in
	// flight, so that what they commit is still sent.
	bgCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	bgDone := make(chan struct{})
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
	// Telegram keeps an update for 24 h, and Redis outlives a restart. The
	// memory store does not: it only needs to catch a webhook's redelivery.
	dedupeTTL := 24 * time.Hour
	if cfg.RedisURL == "" {
		dedupeTTL = 10 * time.Minute
	}
	d := bot.NewDispatcher(h, bot.DispatcherOptions{Workers: cfg.Workers, Dedupe: a.states, DedupeTTL: dedupeTTL,
		BotID: tg.Self().ID, Logger: log, Metrics: metrics})

	var poller *bot.Poller
	if cfg.WebhookURL == "" {
		poller = bot.NewPoller(tg, d, log)
	}
	healthDone := make(chan struct{})
	go func() {
		defer close(healthDone)
		checks := []bot.Check{
			{Name: "database", Check: a.db.Ping},
			{Name: "redis", Check: a.states.Ping},
			{Name: "transport", Check: transportCheck(poller)},
		}
		if err := bot.ServeHealth(ctx, cfg.MetricsAddr, bot.HealthHandler(metrics, log, checks...), log); err != nil {
			log.Error("metrics and health endpoints", "err", err)
		}
	}()
	defer func() { <-healthDone }()

	if cfg.WebhookURL != "" {
		err = bot.ServeWebhook(ctx, tg, d, bot.WebhookOptions{
			URL: cfg.WebhookURL, Secret: cfg.WebhookSecret, Listen: cfg.ListenAddr,
			MaxConnections: cfg.WebhookMaxConnections,
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
		// start does not receive them again.
		if err := poller.Confirm(stopCtx); err != nil {
			log.Warn("stop: confirm updates", "err", err)
		}
	}
	return err
}

// backup copies the live database to a new file.
func backup(ctx context.Context, cfg bot.Config, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return errors.New("usage: dostyq backup PATH")
	}
	db, err := storage.Open(ctx, cfg.DatabasePath)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Backup(ctx, args[0]); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup of %s written to %s\n", cfg.DatabasePath, args[0])
	return nil
}

// restore replaces the database with a checked backup.
func restore(ctx context.Context, cfg bot.Config, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	force := fs.Bool("force", false, "replace an existing database")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: dostyq restore [--force] PATH")
	}
	if err := storage.Restore(ctx, fs.Arg(0), cfg.DatabasePath, *force); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s restored to %s\n", fs.Arg(0), cfg.DatabasePath)
	return nil
}

// importPlaces loads a directory CSV file into the database.
func importPlaces(ctx context.Context, cfg bot.Config, args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("import", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var opt storage.ImportOptions
	fl.BoolVar(&opt.SkipInvalid, "skip-invalid", false, "import the valid rows, report the others")
	fl.BoolVar(&opt.DryRun, "dry-run", false, "check and report, write nothing")
	fl.BoolVar(&opt.Replace, "replace", false, "remove the places that are not in the file")
	fl.BoolVar(&opt.Sample, "sample", false, "mark the rows as sample data")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() != 1 {
		return errors.New("usage: dostyq import [--skip-invalid] [--dry-run] [--replace] [--sample] FILE.csv")
	}
	gaz, err := loadGazetteer()
	if err != nil {
		return err
	}
	f, err := os.Open(fl.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	db, err := storage.Open(ctx, cfg.DatabasePath)
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := db.ImportPlaces(ctx, f, gaz, opt)
	for _, p := range res.Problems {
		fmt.Fprintf(stdout, "%s: %s\n", fl.Arg(0), p)
	}
	verb := "imported"
	if opt.DryRun {
		verb = "dry run, nothing written"
	}
	if err == nil {
		fmt.Fprintf(stdout, "%s (%s): %d rows, %d added, %d updated, %d unchanged, %d removed, %d rejected\n",
			fl.Arg(0), verb, res.Rows, res.Added, res.Updated, res.Unchanged, res.Removed, res.Rejected)
		return nil
	}
	if errors.Is(err, storage.ErrInvalidFile) {
		fmt.Fprintf(stdout, "%s: %d rows, %d invalid: nothing imported. Fix them, or run with --skip-invalid to import the %d valid rows.\n",
			fl.Arg(0), res.Rows, res.Rejected, res.Rows-res.Rejected)
	}
	return err
}

// instrument feeds the metrics that come from storage: Redis errors,
// conversations in progress and the outbox backlog.
func (a *app) instrument(m *bot.Metrics) {
	if rs, ok := a.states.(*storage.RedisStateStore); ok {
		rs.Client().AddHook(m.RedisHook())
	}
	if fc, ok := a.states.(interface {
		ActiveFlows(context.Context) (int, error)
	}); ok {
		m.SetConversations(func() (int, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return fc.ActiveFlows(ctx)
		})
	}
	m.SetOutbox(func() (int, time.Duration, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return a.db.OutboxBacklog(ctx)
	})
}

// transportCheck is the readiness of the transport: with long polling, a
// getUpdates answered within two poll timeouts; a webhook is ready while
// it serves.
func transportCheck(p *bot.Poller) func(context.Context) error {
	return func(context.Context) error {
		if p == nil {
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

// healthcheck asks the running bot's /healthz on METRICS_ADDR.
func healthcheck(ctx context.Context, cfg bot.Config) error {
	if cfg.MetricsAddr == "" {
		return errors.New("healthcheck: METRICS_ADDR is not set, so the bot serves no /healthz")
	}
	host, port, err := net.SplitHostPort(cfg.MetricsAddr)
	if err != nil {
		return fmt.Errorf("healthcheck: METRICS_ADDR: %w", err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: /healthz answered %s", resp.Status)
	}
	return nil
}
