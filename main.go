// Command dostyq is the Telegram bot of the Assembly of the People of
// Kazakhstan. main.go is wiring only: read config, open storage and state,
// build the bot, run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/app"
	"github.com/dostyq/dostyq/bot"
	"github.com/dostyq/dostyq/handlers"
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
      --db PATH           SQLite file or postgres:// URL (default $DATABASE_URL,
                          else $DATABASE_PATH, else dostyq.db)
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
      --sample            mark the rows as sample data (without it, an import
                          removes the sample places)
      --db PATH           SQLite file or postgres:// URL (default $DATABASE_URL,
                          else $DATABASE_PATH, else dostyq.db); every report
                          names it (a URL without its password)
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
	// Packages that log without a logger of their own (storage's
	// checkpointer, a text missing from the catalog) log as configured too:
	// one JSON stream with LOG_FORMAT=json, not a text line in it.
	slog.SetDefault(app.NewLogger(cfg, stderr))
	switch cmd {
	case "serve":
		stop := app.TuneRuntime(getenv, cfg.HeapBudgetMB)
		defer stop()
		err = app.Serve(ctx, cfg, stderr, app.ServeOptions{})
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

// chat runs the console mode.
func chat(ctx context.Context, cfg bot.Config, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	user := fs.Int64("user", 1, "Telegram user id to speak as")
	lang := fs.String("lang", "kk", "client language code")
	// No default in the flag itself: the flag package prints defaults in
	// its usage, and DATABASE_URL may hold a password.
	dbPath := fs.String("db", "", "SQLite file or postgres:// URL (default $DATABASE_URL, else $DATABASE_PATH, else dostyq.db)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dbPath == "" {
		*dbPath = cfg.Database()
	}
	if *user <= 0 {
		return fmt.Errorf("chat: --user must be a positive Telegram user id")
	}
	cfg.DatabasePath, cfg.DatabaseURL = *dbPath, ""
	if storage.IsPostgresURL(*dbPath) {
		cfg.DatabaseURL = *dbPath
	}
	// A console is one person (or a script) at a terminal: no flood control.
	cfg.FloodMessages = 0
	if cfg.LogLevel < slog.LevelWarn {
		cfg.LogLevel = slog.LevelWarn
	}
	log := app.NewLogger(cfg, stderr)
	if cfg.RedisURL == "" {
		// The console is single-user by nature: no warning about memory state.
		log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	}
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	console := bot.NewConsole(stdout, *user, *lang)
	h := a.Handlers(cfg, console, "dostyq_bot")
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

// backup copies the live database to a new file.
func backup(ctx context.Context, cfg bot.Config, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return errors.New("usage: dostyq backup PATH")
	}
	if cfg.DatabaseURL != "" {
		return errors.New("backup: DATABASE_URL is PostgreSQL; back it up with pg_dump (docs/OPERATIONS.md)")
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
	if cfg.DatabaseURL != "" {
		return errors.New("restore: DATABASE_URL is PostgreSQL; restore it with pg_restore (docs/OPERATIONS.md)")
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
	// No default in the flag itself, as with chat: a usage message would
	// print DATABASE_URL's password.
	target := fl.String("db", "", "SQLite file or postgres:// URL (default $DATABASE_URL, else $DATABASE_PATH, else dostyq.db)")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *target == "" {
		*target = cfg.Database()
	}
	if fl.NArg() != 1 {
		return errors.New("usage: dostyq import [--db PATH_OR_URL] [--skip-invalid] [--dry-run] [--replace] [--sample] FILE.csv")
	}
	// A SQLite file that is not there is created: a dry run would create
	// it and check against an empty directory (a mistyped path, most
	// likely), so it is refused; an import says it made a new file.
	newFile := false
	if !storage.IsPostgresURL(*target) {
		if _, err := os.Stat(*target); errors.Is(err, os.ErrNotExist) {
			if opt.DryRun {
				return fmt.Errorf("import: no database at %s: check the path (--db, DATABASE_PATH); a dry run creates none", storage.DescribeTarget(*target))
			}
			newFile = true
		}
	}
	gaz, err := app.LoadGazetteer()
	if err != nil {
		return err
	}
	f, err := os.Open(fl.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	db, err := storage.Open(ctx, *target)
	if err != nil {
		return err
	}
	defer db.Close()
	// Every report names the database, never with its password: an
	// administrator with DATABASE_PATH set in one shell and not in another
	// sees which one a dry run checked against.
	where := storage.DescribeTarget(*target)
	res, err := db.ImportPlaces(ctx, f, gaz, opt)
	// Rejections and warnings in the order of the file's lines.
	type note struct {
		line int
		text string
	}
	var notes []note
	for _, p := range res.Problems {
		notes = append(notes, note{p.Line, p.String()})
	}
	for _, w := range res.Warnings {
		notes = append(notes, note{w.Line, "warning: " + w.String()})
	}
	sort.SliceStable(notes, func(i, j int) bool { return notes[i].line < notes[j].line })
	for _, n := range notes {
		fmt.Fprintf(stdout, "%s: %s\n", fl.Arg(0), n.text)
	}
	warned := ""
	if len(res.Warnings) > 0 {
		warned = fmt.Sprintf(", %d %s (imported as written: check %s)", len(res.Warnings),
			plural(len(res.Warnings), "warning", "warnings"), plural(len(res.Warnings), "it", "them"))
	}
	verb := "imported into " + where
	if newFile {
		verb += ", a new file"
	}
	// The sample places an import of the real directory removes: the bot
	// stops saying "sample data".
	sample := ""
	if n := res.SampleRemoved; n > 0 {
		sample = fmt.Sprintf("; removed %d sample %s", n, plural(n, "place", "places"))
		if opt.DryRun {
			sample = fmt.Sprintf("; would remove %d sample %s", n, plural(n, "place", "places"))
		}
	}
	if opt.DryRun {
		verb = "dry run, nothing written; checked against " + where
	}
	if err == nil {
		fmt.Fprintf(stdout, "%s (%s): %d %s, %d added, %d updated, %d unchanged, %d removed, %d rejected%s%s\n",
			fl.Arg(0), verb, res.Rows, plural(res.Rows, "row", "rows"), res.Added, res.Updated, res.Unchanged, res.Removed, res.Rejected, warned, sample)
		return nil
	}
	if errors.Is(err, storage.ErrInvalidFile) {
		valid := res.Rows - res.Rejected
		fmt.Fprintf(stdout, "%s: %d %s, %d invalid: nothing imported into %s. Fix %s, or run with --skip-invalid to import the %d valid %s.\n",
			fl.Arg(0), res.Rows, plural(res.Rows, "row", "rows"), res.Rejected, where, plural(res.Rejected, "it", "them"),
			valid, plural(valid, "row", "rows"))
		return err
	}
	return fmt.Errorf("%w (%s unchanged)", err, where)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
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
