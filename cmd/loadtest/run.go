package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/redis/go-redis/v9"

	"github.com/dostyq/dostyq/app"
	"github.com/dostyq/dostyq/bot"
	"github.com/dostyq/dostyq/bot/bottest"
	"github.com/dostyq/dostyq/handlers"
	"github.com/dostyq/dostyq/storage"
)

// Options configure Run.
type Options struct {
	Users       int
	Think       time.Duration
	APIDelay    time.Duration
	Mode        string // poll or webhook
	Workers     int    // 0: the bot's default
	RedisURL    string
	BaselineFor time.Duration // 0: no baseline
	Broadcast   int           // volunteers reminded; 0: no broadcast
	Open        int           // open conversations for the memory figures; 0: none
	Timeout     time.Duration // per step
	Trace       io.Writer
	// Bin, when set, runs the bot as its own process of this binary (or
	// of the module at this directory, built first) in the main and the
	// open-conversations phases; CPU and RSS are then the bot's alone.
	// The baseline and the broadcast stay in-process.
	Bin string
	// Replicas, when above 0, runs that many bot processes in webhook
	// mode on one Redis and one PostgreSQL (DatabaseURL; a schema of
	// their own per phase, dropped at its end); the fake Bot API delivers
	// each chat's updates to them in turn, one at a time.
	Replicas    int
	DatabaseURL string
	// TLS serves the fake Bot API over HTTPS, as Telegram does, to the
	// bot process (-bin; the in-process runs stay on plain HTTP).
	TLS bool

	profile func(start bool)
}

// Phase is the figures of one run of citizens against a bot.
type Phase struct {
	Name          string   `json:"name"`
	Mode          string   `json:"mode"`
	Users         int      `json:"users"`
	ThinkMs       float64  `json:"think_ms"`
	APIDelayMs    float64  `json:"api_delay_ms"`
	Updates       int      `json:"updates"`
	Seconds       float64  `json:"seconds"`
	UpdatesPerSec float64  `json:"updates_per_s"`
	P50Ms         float64  `json:"p50_ms"`
	P95Ms         float64  `json:"p95_ms"`
	P99Ms         float64  `json:"p99_ms"`
	MaxMs         float64  `json:"max_ms"`
	Errors        int      `json:"errors"`
	FirstErrors   []string `json:"first_errors,omitempty"`
	// CPU time of the whole process (bot, simulated citizens and the fake
	// Bot API) per update; BotCPUShare is the bot's share of the samples
	// when a CPU profile is taken (else 0).
	CPUSeconds     float64 `json:"cpu_s"`
	CPUPerUpdateMs float64 `json:"cpu_per_update_ms"`
	PeakRSSMB      float64 `json:"peak_rss_mb"`
	// ToolCPUSeconds is the load tool's own CPU time (citizens, fake Bot
	// API, webhook deliveries) when the bot runs as its own process: how
	// the machine's cores were shared.
	ToolCPUSeconds     float64 `json:"tool_cpu_s,omitempty"`
	ToolCPUPerUpdateMs float64 `json:"tool_cpu_per_update_ms,omitempty"`
	// RedisCPUSeconds is the CPU time Redis spent during the run, from
	// INFO cpu: the whole server's, every client's work included; nil
	// when it could not be read. Only with the bot as its own process.
	RedisCPUSeconds *float64 `json:"redis_cpu_s,omitempty"`
	// Bot is how the bot ran: "in-process" (CPU and RSS are the whole
	// load tool's), or "process" / "N replicas" (the bot processes'
	// alone: CPU summed, RSS the largest; each in Replicas).
	Bot      string           `json:"bot"`
	Database string           `json:"database"`
	Replicas []ReplicaFigures `json:"replicas,omitempty"`
	// Steps is the latency of each step of the script, in its order:
	// where the tail comes from.
	Steps []StepFigures `json:"steps,omitempty"`
}

// StepFigures is the latency of one step of the script over all citizens.
type StepFigures struct {
	Step    string  `json:"step"`
	Updates int     `json:"updates"`
	P50Ms   float64 `json:"p50_ms"`
	P99Ms   float64 `json:"p99_ms"`
	MaxMs   float64 `json:"max_ms"`
}

// label names a step as the summary shows it.
func (s step) label() string {
	switch {
	case s.location:
		return "location"
	case s.press != "":
		return "press " + s.press
	}
	return s.text
}

// ReplicaFigures is what one bot process handled and used in a phase.
type ReplicaFigures struct {
	Updates        int64   `json:"updates_handled"`
	CPUSeconds     float64 `json:"cpu_s"`
	CPUPerUpdateMs float64 `json:"cpu_per_update_ms"`
	PeakRSSMB      float64 `json:"peak_rss_mb"`
	// EndRSSMB is its RSS when the citizens are done (VmRSS): what stays
	// once the burst is over.
	EndRSSMB float64 `json:"end_rss_mb"`
}

// Broadcast is the figures of the reminder to many volunteers.
type Broadcast struct {
	Volunteers      int     `json:"volunteers"`
	Delivered       int     `json:"delivered"`
	Seconds         float64 `json:"seconds_to_deliver_all"`
	RatePerSec      float64 `json:"rate_per_s"`
	TooManyRequests int     `json:"too_many_requests_429"`
	APIDelayMs      float64 `json:"api_delay_ms"`
}

// RedisFigures is the memory of conversation state in Redis.
type RedisFigures struct {
	Conversations      int     `json:"conversations_sampled"`
	StateBytes         float64 `json:"state_key_bytes"`
	BytesPerUser       float64 `json:"bytes_per_conversation"`
	KeysChecked        int     `json:"keys_checked"`
	KeysWithoutTTL     int     `json:"keys_without_ttl"`
	OpenConversationsN int     `json:"open_conversations"`
	OpenPeakRSSMB      float64 `json:"open_peak_rss_mb"`
}

// Report is everything one run measured.
type Report struct {
	Machine   string        `json:"machine"`
	CPUs      int           `json:"cpus"`
	GoVersion string        `json:"go"`
	Phases    []Phase       `json:"phases"`
	Ratio     float64       `json:"ratio_to_baseline,omitempty"`
	Broadcast *Broadcast    `json:"broadcast,omitempty"`
	Redis     *RedisFigures `json:"redis,omitempty"`
	// ShowSteps makes Print list each step's latency (-steps).
	ShowSteps bool `json:"-"`
}

// Run runs the phases the options ask for.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Users <= 0 {
		o.Users = 1000
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Mode == "" {
		o.Mode = "poll"
	}
	rep := &Report{Machine: cpuModel(), CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	dir, err := os.MkdirTemp("", "dostyq-loadtest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if o.Replicas > 0 && o.Bin == "" {
		return nil, errors.New("replicas run the bot binary: set Bin (-bin)")
	}
	if o.Replicas > 0 && o.Mode != "webhook" {
		return nil, errors.New("replicas take updates by webhook: set Mode webhook (-mode webhook)")
	}
	if o.Replicas > 0 && o.DatabaseURL == "" {
		return nil, errors.New("replicas share a PostgreSQL database: set DatabaseURL (-database-url, default $TEST_DATABASE_URL)")
	}
	if o.Bin != "" {
		if o.Bin, err = resolveBin(ctx, o.Bin, dir); err != nil {
			return nil, err
		}
	}
	// Fresh user ids each run, so that a shared Redis holds no state of
	// them from an earlier run.
	base := int64(1e9 + rand.Int64N(1e9))
	ids := func(n int) []int64 {
		out := make([]int64, n)
		for i := range out {
			out[i] = base + int64(i)
		}
		base += int64(n)
		return out
	}
	defer cleanRedis(o.RedisURL)

	main, err := runPhase(ctx, o, dir, "bot", o.Mode, false, ids(o.Users), conversation, o.Think, 0, o.profile)
	if err != nil {
		return nil, err
	}
	rep.Phases = append(rep.Phases, main)
	if o.BaselineFor > 0 {
		bl, err := runPhase(ctx, o, dir, "sequential baseline", "poll", true, ids(o.Users), conversation, o.Think, o.BaselineFor, nil)
		if err != nil {
			return nil, err
		}
		rep.Phases = append(rep.Phases, bl)
		if bl.UpdatesPerSec > 0 {
			rep.Ratio = main.UpdatesPerSec / bl.UpdatesPerSec
		}
	}
	if o.Broadcast > 0 {
		b, err := runBroadcast(ctx, o, dir, ids(o.Broadcast))
		if err != nil {
			return nil, err
		}
		rep.Broadcast = b
	}
	if o.Open > 0 {
		users := ids(o.Open)
		po := o
		po.Trace = nil
		ph, err := runPhase(ctx, po, dir, "open conversations", o.Mode, false, users, openConversation, 0, 0, nil)
		if err != nil {
			return nil, err
		}
		rep.Phases = append(rep.Phases, ph)
		rf, err := measureRedis(ctx, o.RedisURL, users)
		if err != nil {
			return nil, err
		}
		rf.OpenConversationsN, rf.OpenPeakRSSMB = len(users), ph.PeakRSSMB
		rep.Redis = rf
	}
	return rep, nil
}

// ---- the bot ----

// logCounter is the bot's log output: it counts the lines at ERROR and keeps
// the first few (they hold no message text or phone: the bot never logs
// them).
type logCounter struct {
	mu     sync.Mutex
	errors int
	first  []string
}

func (l *logCounter) Write(p []byte) (int, error) {
	sc := bufio.NewScanner(bytes.NewReader(p))
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "level=ERROR") {
			l.mu.Lock()
			l.errors++
			if len(l.first) < 5 {
				l.first = append(l.first, line)
			}
			l.mu.Unlock()
		}
	}
	return len(p), nil
}

type handlerFunc func(context.Context, tgbotapi.Update)

func (f handlerFunc) HandleUpdate(ctx context.Context, u tgbotapi.Update) { f(ctx, u) }

// onceHandler wraps a bot.OnceHandler as handlerFunc wraps a handler:
// done is told of every update handled, not of the repeats skipped.
type onceHandler struct {
	handlerFunc
	h    bot.OnceHandler
	done func(tgbotapi.Update)
}

func (o onceHandler) HandleUpdateOnce(ctx context.Context, u *tgbotapi.Update, dedupe bot.Deduper, key string, ttl time.Duration) bool {
	repeated := o.h.HandleUpdateOnce(ctx, u, dedupe, key, ttl)
	if !repeated {
		o.done(*u)
	}
	return repeated
}

// botEnv is the bot's configuration against srv, as environment
// variables. Sending limits are off (the fake Bot API does not enforce them
// either) except in the broadcast; flood control stays on with a limit a
// fast script does not reach. db is a SQLite path or a postgres:// URL.
func botEnv(o Options, srv *bottest.Server, db, mode string, extra map[string]string) (map[string]string, error) {
	env := map[string]string{
		"TELEGRAM_BOT_TOKEN":    srv.Token(),
		"TELEGRAM_API_ENDPOINT": srv.Endpoint(),
		"DATABASE_PATH":         db,
		"REDIS_URL":             o.RedisURL,
		"SEND_RATE":             "0",
		"FLOOD_MESSAGES":        "1000",
		"LOG_LEVEL":             "warn",
	}
	if strings.HasPrefix(db, "postgres") {
		env["DATABASE_PATH"], env["DATABASE_URL"] = "", db
	}
	if o.Workers > 0 {
		env["WORKERS"] = strconv.Itoa(o.Workers)
	}
	if mode == "webhook" {
		env["WEBHOOK_URL"] = "https://loadtest.invalid/telegram"
		env["WEBHOOK_SECRET"] = "loadtest-secret-" + strconv.Itoa(rand.IntN(1e9))
		env["WEBHOOK_MAX_CONNECTIONS"] = "100"
	}
	for k, v := range extra {
		env[k] = v
	}
	_, err := bot.LoadConfig(func(k string) string { return env[k] })
	return env, err
}

// configOf is the configuration env describes (checked by botEnv).
func configOf(env map[string]string) bot.Config {
	cfg, _ := bot.LoadConfig(func(k string) string { return env[k] })
	return cfg
}

// startBot runs `dostyq serve`'s wiring in-process against srv, in
// goroutines labelled side=bot for the profile. done is told of every
// update handled. It returns the function that stops it.
func startBot(ctx context.Context, cfg bot.Config, srv *bottest.Server, done func(tgbotapi.Update), logs io.Writer, started func(*handlers.Handlers)) (func() error, error) {
	ctx, cancel := context.WithCancel(ctx)
	opts := app.ServeOptions{
		Wrap: func(h bot.UpdateHandler) bot.UpdateHandler {
			f := handlerFunc(func(ctx context.Context, u tgbotapi.Update) {
				h.HandleUpdate(ctx, u)
				done(u)
			})
			if oh, ok := h.(bot.OnceHandler); ok {
				// Keep the handlers' own dedupe (one Redis round trip).
				return onceHandler{handlerFunc: f, h: oh, done: done}
			}
			return f
		},
	}
	if cfg.WebhookURL != "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			cancel()
			return nil, err
		}
		opts.Listener = ln
		srv.DeliverTo("http://" + ln.Addr().String())
	}
	ready := make(chan struct{})
	opts.Started = func(h *handlers.Handlers) {
		if started != nil {
			started(h)
		}
		close(ready)
	}
	served := make(chan error, 1)
	go pprof.Do(ctx, pprof.Labels("side", "bot"), func(ctx context.Context) {
		served <- app.Serve(ctx, cfg, logs, opts)
	})
	select {
	case <-ready:
	case err := <-served:
		cancel()
		return nil, fmt.Errorf("bot: %w", err)
	}
	if cfg.WebhookURL != "" {
		// Wait until the webhook is registered, as Telegram would.
		for i := 0; i < 500; i++ {
			if u, _ := srv.Webhook(); u != "" {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return func() error {
		cancel()
		return <-served
	}, nil
}

// startBaseline runs the same handlers behind the loop of the
// go-telegram-bot-api README: one update at a time, from GetUpdatesChan.
func startBaseline(ctx context.Context, cfg bot.Config, srv *bottest.Server, done func(tgbotapi.Update), logs io.Writer) (func() error, error) {
	log := app.NewLogger(cfg, logs)
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	tg, err := bot.NewTelegram(ctx, bot.TelegramOptions{Token: cfg.Token, Endpoint: cfg.APIEndpoint, Retries: cfg.SendRetries,
		Logger: log, Limiter: bot.NewLimiter(bot.LimiterOptions{Global: -1})})
	if err != nil {
		a.Close()
		return nil, err
	}
	h := a.Handlers(cfg, tg, tg.Self().UserName)
	api, err := tgbotapi.NewBotAPIWithAPIEndpoint(cfg.Token, cfg.APIEndpoint)
	if err != nil {
		a.Close()
		return nil, err
	}
	bg, stopBg := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); h.RunBackground(bg) }()
	uc := tgbotapi.NewUpdate(0)
	uc.Timeout = 30
	updates := api.GetUpdatesChan(uc)
	go func() {
		defer wg.Done()
		for u := range updates {
			h.HandleUpdate(ctx, u)
			done(u)
		}
	}()
	return func() error {
		api.StopReceivingUpdates()
		stopBg()
		// The library's loop ends at its next long poll's answer.
		srv.SendText(bottest.User{ID: 1}, "/help")
		wg.Wait()
		return a.Close()
	}, nil
}

// prepareDB creates the database with the sample directory and the
// charity event the citizens register for.
func prepareDB(ctx context.Context, path string) (*storage.DB, int64, error) {
	db, err := storage.Open(ctx, path)
	if err != nil {
		return nil, 0, err
	}
	gaz, err := app.LoadGazetteer()
	if err != nil {
		db.Close()
		return nil, 0, err
	}
	if err := app.LoadSampleDirectory(ctx, db, gaz, discardLog()); err != nil {
		db.Close()
		return nil, 0, err
	}
	var id int64
	err = db.Tx(ctx, func(tx *storage.Tx) error {
		e, err := tx.CreateEvent(storage.Event{CoordinatorID: 1, Title: "Load test event", Description: "Sorting food parcels.",
			StartsAt: tx.Now().Add(72 * time.Hour), Region: "almaty-city", Place: "Almaty", Address: "Sample address",
			Lat: 43.24, Lon: 76.89, Capacity: 10000})
		id = e.ID
		return err
	})
	if err != nil {
		db.Close()
		return nil, 0, err
	}
	return db, id, nil
}

// ---- a phase of citizens ----

func runPhase(ctx context.Context, o Options, dir, name, mode string, baseline bool, users []int64, script []step,
	think, limit time.Duration, profile func(bool)) (Phase, error) {
	ph := Phase{Name: name, Mode: mode, Users: len(users), ThinkMs: ms(think), APIDelayMs: ms(o.APIDelay)}
	if baseline {
		ph.Mode = "sequential loop"
	}
	process := o.Bin != "" && !baseline
	srv := bottest.New(bottest.Options{Delay: o.APIDelay, NoRecord: true, TLS: o.TLS && process})
	defer srv.Close()
	if o.TLS && process {
		ph.Mode += " tls"
	}
	files := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")) // the phase's files, by extension
	dbRef := files + ".db"
	ph.Database = "sqlite"
	if process && o.Replicas > 0 {
		url, drop, err := postgresSchema(ctx, o.DatabaseURL)
		if err != nil {
			return ph, err
		}
		defer drop()
		dbRef, ph.Database = url, "postgres"
	}
	db, _, err := prepareDB(ctx, dbRef)
	if err != nil {
		return ph, err
	}
	db.Close()
	var extra map[string]string
	if pem := srv.CertificatePEM(); pem != nil {
		// The bot process trusts the fake Bot API's certificate, and only
		// it, as Go reads roots on Linux (SSL_CERT_FILE).
		ca := files + "-ca.pem"
		if err := os.WriteFile(ca, pem, 0o600); err != nil {
			return ph, err
		}
		extra = map[string]string{"SSL_CERT_FILE": ca}
	}
	env, err := botEnv(o, srv, dbRef, mode, extra)
	if err != nil {
		return ph, err
	}
	w := newWaiter()
	logs := &logCounter{}
	var (
		stop func() error
		fl   *fleet
	)
	switch {
	case baseline:
		ph.Bot = "in-process"
		stop, err = startBaseline(ctx, configOf(env), srv, w.done, logs)
	case process:
		ph.Bot = "process"
		n := max(o.Replicas, 1)
		if o.Replicas > 0 {
			ph.Bot = fmt.Sprintf("%d replicas", n)
			if n == 1 {
				ph.Bot = "1 replica"
			}
		}
		if fl, err = startFleet(ctx, o.Bin, n, env, srv, w, logs); err == nil {
			stop = fl.stop
		}
	default:
		ph.Bot = "in-process"
		stop, err = startBot(ctx, configOf(env), srv, w.done, logs, nil)
	}
	if err != nil {
		return ph, err
	}
	var until time.Time // the citizens stop after limit, when set
	if limit > 0 {
		until = time.Now().Add(limit)
	}

	resetPeakRSS()
	var redis0 time.Duration
	redisRead := false // Redis's CPU, read before the run (with the bot as its own process)
	if process {
		var err error
		redis0, err = redisCPU(ctx, o.RedisURL)
		redisRead = err == nil
		// The bot's memory is measured, not the load tool's: with the bot
		// in its own process the tool's collector would only take CPU
		// from the cores the bot shares with it. The baseline and the
		// broadcast, in-process, keep the collector as it was.
		if os.Getenv("GOGC") == "" {
			defer debug.SetGCPercent(debug.SetGCPercent(400))
		}
	}
	cpu0 := cpuTime()
	var use0 []usage
	if fl != nil {
		fl.resetPeakRSS()
		use0 = fl.usage()
	}
	if profile != nil {
		profile(true)
	}
	start := time.Now()
	var (
		mu        sync.Mutex
		latencies []time.Duration
		perStep   = make([][]time.Duration, len(script))
		errs      []string
		nerr      atomic.Int64
		wg        sync.WaitGroup
	)
	for i, id := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &citizen{user: bottest.User{ID: id, FirstName: "Citizen", LanguageCode: "ru"}, srv: srv,
				w: w, done: make(chan time.Time, 4), rng: rand.New(rand.NewPCG(uint64(id), 7))}
			defer srv.Forget(id)
			if i == 0 && o.Trace != nil {
				c.trace = func(s string) { fmt.Fprintln(o.Trace, s) }
			}
			if think > 0 {
				// Spread the first steps over one think time.
				sleep(ctx, time.Duration(c.rng.Int64N(int64(think))))
			}
			var mine []time.Duration
			var steps []int
			for si, s := range script {
				if !until.IsZero() && time.Now().After(until) {
					break
				}
				if c.trace != nil {
					c.trace(fmt.Sprintf("> %+v", s))
				}
				d, ok, err := c.do(ctx, s, o.Timeout)
				if err != nil {
					nerr.Add(1)
					mu.Lock()
					if len(errs) < 5 {
						errs = append(errs, fmt.Sprintf("user %d: %v", id-users[0], err))
					}
					mu.Unlock()
					if !errors.Is(err, errNoButton) {
						break
					}
					continue
				}
				if ok {
					mine = append(mine, d)
					steps = append(steps, si)
				}
				if think > 0 {
					sleep(ctx, think/2+time.Duration(c.rng.Int64N(int64(think))))
				}
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			for k, si := range steps {
				perStep[si] = append(perStep[si], mine[k])
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if profile != nil {
		profile(false)
	}
	cpu := cpuTime() - cpu0
	if redisRead {
		if redis1, err := redisCPU(ctx, o.RedisURL); err == nil {
			sec := (redis1 - redis0).Seconds()
			ph.RedisCPUSeconds = &sec
		}
	}
	ph.PeakRSSMB = peakRSSMB()
	if fl != nil {
		ph.ToolCPUSeconds = cpu.Seconds()
		cpu = 0
		ph.PeakRSSMB = 0
		peak, now := fl.rssMB()
		for i, u := range fl.usage() {
			r := ReplicaFigures{Updates: u.handled - use0[i].handled, CPUSeconds: (u.cpu - use0[i].cpu).Seconds(),
				PeakRSSMB: peak[i], EndRSSMB: now[i]}
			if r.Updates > 0 {
				r.CPUPerUpdateMs = r.CPUSeconds * 1000 / float64(r.Updates)
			}
			ph.Replicas = append(ph.Replicas, r)
			cpu += u.cpu - use0[i].cpu
			ph.PeakRSSMB = max(ph.PeakRSSMB, r.PeakRSSMB)
		}
	}
	stopErr := stop()
	if stopErr != nil && !errors.Is(stopErr, context.Canceled) && fl == nil {
		return ph, fmt.Errorf("%s: stop: %w", name, stopErr)
	}

	ph.Updates = len(latencies)
	ph.Seconds = elapsed.Seconds()
	ph.UpdatesPerSec = float64(ph.Updates) / elapsed.Seconds()
	slices.Sort(latencies)
	ph.P50Ms, ph.P95Ms, ph.P99Ms = ms(pct(latencies, 0.50)), ms(pct(latencies, 0.95)), ms(pct(latencies, 0.99))
	if len(latencies) > 0 {
		ph.MaxMs = ms(latencies[len(latencies)-1])
	}
	for si, l := range perStep {
		if len(l) == 0 {
			continue
		}
		slices.Sort(l)
		ph.Steps = append(ph.Steps, StepFigures{Step: fmt.Sprintf("%d %s", si+1, script[si].label()), Updates: len(l),
			P50Ms: ms(pct(l, 0.50)), P99Ms: ms(pct(l, 0.99)), MaxMs: ms(l[len(l)-1])})
	}
	ph.Errors = int(nerr.Load()) + logs.errors
	ph.FirstErrors = append(errs, logs.first...)
	if fl != nil && stopErr != nil {
		// A bot process that does not stop (updates still in flight after
		// the citizens gave up on them) is an error of the phase; its
		// figures are still worth reading.
		ph.Errors++
		first, _, _ := strings.Cut(stopErr.Error(), "\n")
		ph.FirstErrors = append(ph.FirstErrors, "stop: "+first)
	}
	ph.CPUSeconds = cpu.Seconds()
	if ph.Updates > 0 {
		ph.CPUPerUpdateMs = ms(cpu) / float64(ph.Updates)
		ph.ToolCPUPerUpdateMs = ph.ToolCPUSeconds * 1000 / float64(ph.Updates)
	}
	return ph, nil
}

// ---- broadcast ----

// runBroadcast registers n volunteers for an event, makes its reminder due
// and starts the bot with Telegram's sending limits against a server that
// enforces them; it measures how the reminders go out.
func runBroadcast(ctx context.Context, o Options, dir string, volunteers []int64) (*Broadcast, error) {
	b := &Broadcast{Volunteers: len(volunteers), APIDelayMs: ms(o.APIDelay)}
	want := map[int64]bool{}
	for _, id := range volunteers {
		want[id] = true
	}
	var (
		mu          sync.Mutex
		first, last time.Time
		delivered   int
		all         = make(chan struct{})
	)
	srv := bottest.New(bottest.Options{Delay: o.APIDelay, NoRecord: true, RateLimit: true, Observe: func(s bottest.Sent) {
		if s.Method != "sendMessage" || !want[s.ChatID] {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		if first.IsZero() {
			first = now
		}
		last = now
		delivered++
		if delivered == len(volunteers) {
			close(all)
		}
	}})
	defer srv.Close()
	dbPath := filepath.Join(dir, "broadcast.db")
	db, event, err := prepareDB(ctx, dbPath)
	if err != nil {
		return nil, err
	}
	err = db.Tx(ctx, func(tx *storage.Tx) error {
		for _, id := range volunteers {
			if err := tx.SaveVolunteer(storage.Volunteer{UserID: id, Name: "Volunteer", Phone: "+7 700 000 00 00"}); err != nil {
				return err
			}
			if _, err := tx.Register(event, id, false); err != nil {
				return err
			}
		}
		return tx.ScheduleTimer("event.remind_day", strconv.FormatInt(event, 10), tx.Now())
	})
	db.Close()
	if err != nil {
		return nil, err
	}
	env, err := botEnv(o, srv, dbPath, o.Mode, map[string]string{"SEND_RATE": "30", "SEND_CHAT_RATE": "1"})
	if err != nil {
		return nil, err
	}
	cfg := configOf(env)
	start := time.Now()
	stop, err := startBot(ctx, cfg, srv, func(tgbotapi.Update) {}, &logCounter{}, nil)
	if err != nil {
		return nil, err
	}
	timeout := time.NewTimer(time.Duration(len(volunteers))*time.Second/10 + 2*time.Minute)
	defer timeout.Stop()
	select {
	case <-all:
	case <-timeout.C:
	case <-ctx.Done():
	}
	stop()
	mu.Lock()
	defer mu.Unlock()
	b.Delivered = delivered
	b.TooManyRequests = srv.TooManyRequests()
	if delivered > 0 {
		b.Seconds = last.Sub(start).Seconds()
		if d := last.Sub(first).Seconds(); d > 0 {
			b.RatePerSec = float64(delivered-1) / d
		}
	}
	return b, nil
}

// ---- Redis ----

// redisCPU is the CPU time Redis at url has spent since it started (system
// and user, from INFO cpu).
func redisCPU(ctx context.Context, url string) (time.Duration, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return 0, err
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	info, err := rdb.Info(ctx, "cpu").Result()
	if err != nil {
		return 0, err
	}
	var total float64
	found := 0
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, fmt.Errorf("redis: INFO cpu: %s: %w", k, err)
			}
			total += f
			found++
		}
	}
	if found != 2 {
		return 0, errors.New("redis: INFO cpu has no used_cpu_sys and used_cpu_user")
	}
	return time.Duration(total * float64(time.Second)), nil
}

// measureRedis takes MEMORY USAGE of the keys of the users' conversations
// (state and flood counter) and checks that every key of the bot in Redis
// has a TTL.
func measureRedis(ctx context.Context, url string, users []int64) (*RedisFigures, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	f := &RedisFigures{}
	sample := users
	if len(sample) > 1000 {
		sample = sample[:1000]
	}
	var state, total int64
	for _, id := range sample {
		uid := strconv.FormatInt(id, 10)
		n, err := rdb.MemoryUsage(ctx, "dostyq:state:"+uid).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("redis: memory usage: %w", err)
		}
		state += n
		total += n
		if n, err := rdb.MemoryUsage(ctx, "dostyq:count:flood:"+uid).Result(); err == nil {
			total += n
		}
		f.Conversations++
	}
	if f.Conversations > 0 {
		f.StateBytes = float64(state) / float64(f.Conversations)
		f.BytesPerUser = float64(total) / float64(f.Conversations)
	}
	iter := rdb.Scan(ctx, 0, "dostyq:*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return nil, err
	}
	for chunk := range slices.Chunk(keys, 500) {
		cmds, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range chunk {
				p.TTL(ctx, k)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		for _, c := range cmds {
			f.KeysChecked++
			if d := c.(*redis.DurationCmd).Val(); d < 0 && d != -2 {
				f.KeysWithoutTTL++
			}
		}
	}
	return f, nil
}

// cleanRedis removes the state and counters of this run's users (the
// dedupe keys expire by themselves).
func cleanRedis(url string) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	ctx := context.Background()
	for _, pat := range []string{"dostyq:state:1*", "dostyq:state:2*", "dostyq:count:flood:1*", "dostyq:count:flood:2*"} {
		iter := rdb.Scan(ctx, 0, pat, 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			if len(strings.TrimPrefix(strings.TrimPrefix(iter.Val(), "dostyq:state:"), "dostyq:count:flood:")) == 10 {
				keys = append(keys, iter.Val())
			}
		}
		for chunk := range slices.Chunk(keys, 500) {
			rdb.Del(ctx, chunk...)
		}
	}
}

// ---- measuring ----

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// resetPeakRSS returns freed memory to the system and resets the peak
// resident set size the kernel reports (Linux), so that a phase's peak is
// its own.
func resetPeakRSS() {
	runtime.GC()
	debug.FreeOSMemory()
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakRSSMB is VmHWM of /proc/self/status, else getrusage's maxrss.
func peakRSSMB() float64 {
	if buf, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(buf), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
				return kb / 1024
			}
		}
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Maxrss) / 1024
}

func cpuModel() string {
	buf, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(buf), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
