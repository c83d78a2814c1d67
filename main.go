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
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

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
  dostyq help             this text

Configuration is read from environment variables; see README.md.
`

// run is the whole program; it returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
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
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
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
	return storage.LoadGazetteer(regions, settlements)
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
	states, err := openState(ctx, cfg, log)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &app{db: db, states: states, cat: cat, gaz: gaz, log: log}, nil
}

func (a *app) Close() error { return errors.Join(a.states.Close(), a.db.Close()) }

func (a *app) handlers(cfg bot.Config, sender handlers.Sender, username string) *handlers.Handlers {
	return handlers.New(handlers.Deps{
		DB: a.db, States: a.states, Sender: sender, Catalog: a.cat, Gazetteer: a.gaz, Logger: a.log,
		Config: handlers.Config{AdminIDs: cfg.AdminIDs, BotUsername: username,
			FloodMessages: cfg.FloodMessages, FloodWindow: cfg.FloodWindow},
	})
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
	console.SetHandler(h)
	return console.Run(ctx, stdin)
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

	rate := cfg.SendRate
	if rate == 0 {
		rate = -1 // off
	}
	tg, err := bot.NewTelegram(ctx, bot.TelegramOptions{
		Token: cfg.Token, Endpoint: cfg.APIEndpoint, Retries: cfg.SendRetries, Logger: log,
		Limiter: bot.NewLimiter(bot.LimiterOptions{Global: rate, Chat: cfg.SendChatRate}),
	})
	if err != nil {
		return err
	}
	log.Info("connected to Telegram", "bot", tg.Self().UserName)
	h := a.handlers(cfg, tg, tg.Self().UserName)
	// Telegram keeps an update for 24 h, and Redis outlives a restart. The
	// memory store does not: it only needs to catch a webhook's redelivery.
	dedupeTTL := 24 * time.Hour
	if cfg.RedisURL == "" {
		dedupeTTL = 10 * time.Minute
	}
	d := bot.NewDispatcher(h, bot.DispatcherOptions{Workers: cfg.Workers, Dedupe: a.states, DedupeTTL: dedupeTTL,
		BotID: tg.Self().ID, Logger: log})

	var poller *bot.Poller
	if cfg.WebhookURL != "" {
		err = bot.ServeWebhook(ctx, tg, d, bot.WebhookOptions{
			URL: cfg.WebhookURL, Secret: cfg.WebhookSecret, Listen: cfg.ListenAddr,
			MaxConnections: cfg.WebhookMaxConnections,
		}, log)
	} else {
		poller = bot.NewPoller(tg, d, log)
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
