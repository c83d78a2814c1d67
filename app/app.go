// Package app is the wiring every mode of dostyq shares: open the database
// and the state store, build the handlers, and serve Telegram. main.go calls
// it; so does the load tool (cmd/loadtest), which runs the same bot
// in-process.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/dostyq/dostyq/bot"
	"github.com/dostyq/dostyq/data"
	"github.com/dostyq/dostyq/handlers"
	"github.com/dostyq/dostyq/locales"
	"github.com/dostyq/dostyq/storage"
)

// NewLogger is the logger configured by LOG_LEVEL and LOG_FORMAT.
func NewLogger(cfg bot.Config, w io.Writer) *slog.Logger {
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
	opts, err := redisOptions(cfg)
	if err != nil {
		return nil, err
	}
	st := storage.NewRedisStateStore(redis.NewClient(opts), cfg.StateTTL)
	if cfg.RedisAutoPipeline {
		// The pipeliner's client of its own, from the same URL (the same
		// address, credentials and TLS), that never sends a command twice.
		popts, _ := redisOptions(cfg)
		popts.MaxRetries = -1
		if err := st.AutoPipeline(redis.NewClient(popts)); err != nil {
			st.Close()
			return nil, err
		}
	}
	if err := st.Ping(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("redis: %w", err)
	}
	return st, nil
}

// redisOptions are the options of the bot's Redis clients: REDIS_URL, a
// connection for every worker, bounded waits, small buffers.
func redisOptions(cfg bot.Config) (*redis.Options, error) {
	opts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	// Every worker may need a connection at once (a state update holds one
	// across its optimistic transaction); go-redis' default is 10 per CPU.
	if opts.PoolSize < cfg.Workers+16 && !strings.Contains(cfg.RedisURL, "pool_size=") {
		opts.PoolSize = cfg.Workers + 16
	}
	boundRedisWaits(opts)
	// Small buffers: the bot's commands and replies are a few hundred
	// bytes (a longer reply is read past the buffer), and go-redis' 32 KiB
	// each way per connection came to 15 MB of the bot's memory with a
	// connection per busy worker. Pipelines have their own pool and buffers.
	if opts.ReadBufferSize == 0 {
		opts.ReadBufferSize = 4 << 10
	}
	if opts.WriteBufferSize == 0 {
		opts.WriteBufferSize = 4 << 10
	}
	// Maintenance notifications are Redis Enterprise's and Redis Cloud's
	// (a node about to move tells its clients); go-redis asks every new
	// connection for them and keeps a hand-off queue sized by the pool, 1.1
	// MB of the bot's heap at 256 workers, for a Redis the bot runs beside.
	if opts.MaintNotificationsConfig == nil {
		opts.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	}
	return opts, nil
}

// LoadGazetteer loads the shipped regions, settlements and border.
func LoadGazetteer() (*storage.Gazetteer, error) {
	regions, err := data.FS.Open("regions.csv")
	if err != nil {
		return nil, err
	}
	defer regions.Close()
	settlements, err := data.FS.Open("gazetteer.csv")
	if err != nil {
		return nil, err
	}
	defer settlements.Close()
	g, err := storage.LoadGazetteer(regions, settlements)
	if err != nil {
		return nil, err
	}
	border, err := data.FS.Open("kazakhstan.csv")
	if errors.Is(err, fs.ErrNotExist) {
		return g, nil // the bounding box stands in for the border
	}
	if err != nil {
		return nil, err
	}
	defer border.Close()
	return g, g.LoadBorder(border)
}

// LoadSampleDirectory imports the shipped sample directory into an empty
// directory, so that a fresh bot has places to show.
func LoadSampleDirectory(ctx context.Context, db *storage.DB, gaz *storage.Gazetteer, log *slog.Logger) error {
	n, err := db.CountPlaces(ctx)
	if err != nil || n > 0 {
		return err
	}
	f, err := data.FS.Open("directory-sample.csv")
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
	if len(res.Warnings) > 0 {
		log.Warn("sample directory: rows far from their region", "warnings", len(res.Warnings), "first", res.Warnings[0].String())
	}
	log.Info("sample directory loaded", "places", res.Added)
	return nil
}

// App is what every mode shares: the database, the state store and the
// catalog.
type App struct {
	DB     *storage.DB
	States storage.StateStore
	Cat    *locales.Catalog
	Gaz    *storage.Gazetteer
	Log    *slog.Logger
}

// Open opens the database (loading the sample directory into an empty one)
// and the state store.
func Open(ctx context.Context, cfg bot.Config, log *slog.Logger) (*App, error) {
	cat, err := locales.Load()
	if err != nil {
		return nil, err
	}
	gaz, err := LoadGazetteer()
	if err != nil {
		return nil, err
	}
	db, err := storage.Open(ctx, cfg.Database())
	if err != nil {
		return nil, err
	}
	if err := LoadSampleDirectory(ctx, db, gaz, log); err != nil {
		db.Close()
		return nil, err
	}
	states, err := openState(ctx, cfg, log)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &App{DB: db, States: states, Cat: cat, Gaz: gaz, Log: log}, nil
}

// Close closes the state store and the database.
func (a *App) Close() error { return errors.Join(a.States.Close(), a.DB.Close()) }

// Handlers builds the handlers without metrics or staff menus.
func (a *App) Handlers(cfg bot.Config, sender handlers.Sender, username string) *handlers.Handlers {
	return a.HandlersWith(cfg, sender, username, nil, nil)
}

// HandlersWith builds the handlers with metrics and staff command menus
// (both optional).
func (a *App) HandlersWith(cfg bot.Config, sender handlers.Sender, username string, m *bot.Metrics, menus handlers.Menus) *handlers.Handlers {
	d := handlers.Deps{
		DB: a.DB, States: a.States, Sender: sender, Catalog: a.Cat, Gazetteer: a.Gaz, Logger: a.Log,
		Config: handlers.Config{AdminIDs: cfg.AdminIDs, BotUsername: username,
			FloodMessages: cfg.FloodMessages, FloodWindow: cfg.FloodWindow,
			OfferTimeout: cfg.MediationOfferTimeout, EscalateAfter: cfg.MediationEscalateAfter,
			Retention: cfg.Retention},
		Menus: menus,
	}
	if m != nil {
		d.Observer = m
	}
	return handlers.New(d)
}

// instrument feeds the metrics that come from storage: Redis and database
// errors, conversations in progress and the outbox backlog.
func (a *App) instrument(m *bot.Metrics) {
	if rs, ok := a.States.(*storage.RedisStateStore); ok {
		rs.AddHook(m.RedisHook())
	}
	if fc, ok := a.States.(interface {
		ActiveFlows(context.Context) (int, error)
	}); ok {
		m.SetConversations(func() (int, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return fc.ActiveFlows(ctx)
		})
	}
	a.DB.OnError(m.DatabaseErrors(string(a.DB.Dialect())))
	m.SetOutbox(func() (int, time.Duration, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return a.DB.OutboxBacklog(ctx)
	})
}
