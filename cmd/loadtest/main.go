// Command loadtest plays thousands of citizens against the bot, in-process
// or as its own process (-bin; several replicas with -replicas), through a loopback Bot API server that speaks the real protocol to the real
// go-telegram-bot-api client, with real Redis (REDIS_URL) and real SQLite in
// a temporary directory. It measures updates per second end to end, latency,
// errors, CPU time and peak RSS; the same handlers behind a plain sequential
// loop as the baseline; a broadcast against Telegram's limits; and Redis
// memory per open conversation. See docs/BENCHMARKS.md.
//
//	go run ./cmd/loadtest -users 1000 -api-delay 50ms -mode poll
//	go run ./cmd/loadtest -bin . -users 1000 -api-delay 50ms -mode poll
//	go run ./cmd/loadtest -bin . -replicas 2 -users 1000 -api-delay 50ms -database-url postgres://...
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o Options
	fs.IntVar(&o.Users, "users", 1000, "simulated citizens, each running the whole conversation once")
	fs.DurationVar(&o.Think, "think", 0, "think time between a reply and the next step (0: saturation)")
	fs.DurationVar(&o.APIDelay, "api-delay", 0, "hold every Bot API answer this long")
	fs.StringVar(&o.Mode, "mode", "poll", "poll or webhook")
	fs.IntVar(&o.Workers, "workers", 0, "WORKERS of the bot (0: the bot's default)")
	fs.StringVar(&o.RedisURL, "redis", os.Getenv("REDIS_URL"), "Redis URL (default $REDIS_URL)")
	fs.DurationVar(&o.BaselineFor, "baseline", 10*time.Second, "run the sequential baseline this long (0: skip)")
	fs.IntVar(&o.Broadcast, "broadcast", 1000, "volunteers the broadcast reminds (0: skip)")
	fs.IntVar(&o.Open, "open", 10000, "users left with an open conversation for the memory figures (0: skip)")
	fs.DurationVar(&o.Timeout, "step-timeout", 30*time.Second, "longest wait for the bot's answer to one step")
	fs.StringVar(&o.Bin, "bin", "", "run the bot as its own process: this binary, or the module at this directory built first (-bin .); CPU and RSS are then the bot's alone")
	fs.IntVar(&o.Replicas, "replicas", 0, "run this many bot processes behind the webhook on one Redis and one PostgreSQL (needs -bin, webhook mode, -database-url)")
	fs.BoolVar(&o.TLS, "tls", false, "the fake Bot API speaks HTTPS, as Telegram does; the bot process trusts its certificate through SSL_CERT_FILE (needs -bin)")
	fs.StringVar(&o.DatabaseURL, "database-url", os.Getenv("TEST_DATABASE_URL"), "PostgreSQL for -replicas: a schema of its own per phase, dropped at the end (default $TEST_DATABASE_URL)")
	jsonPath := fs.String("json", "", "also write the summary as JSON to this file")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the main run to this file (bot goroutines are labelled side=bot)")
	memProfile := fs.String("memprofile", "", "write a heap profile of the in-process run to this file, taken -memprofile-at into the main run (the load tool's own heap: with -bin it does not show the bot)")
	memAt := fs.Duration("memprofile-at", 3*time.Second, "when the heap profile is taken")
	steps := fs.Bool("steps", false, "also print the latency of each step of the conversation")
	trace := fs.Bool("trace", false, "print what one citizen sees at each step (to stderr)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	modeSet := false
	fs.Visit(func(f *flag.Flag) { modeSet = modeSet || f.Name == "mode" })
	if o.Replicas > 0 && !modeSet {
		o.Mode = "webhook" // replicas sit behind a webhook
	}
	if o.Mode != "poll" && o.Mode != "webhook" {
		fmt.Fprintln(stderr, "loadtest: -mode is poll or webhook")
		return 2
	}
	if o.Replicas > 0 && (o.Bin == "" || o.Mode != "webhook" || o.DatabaseURL == "") {
		fmt.Fprintln(stderr, "loadtest: -replicas runs the bot binary (-bin) in webhook mode on PostgreSQL (-database-url or $TEST_DATABASE_URL)")
		return 2
	}
	if o.TLS && o.Bin == "" {
		fmt.Fprintln(stderr, "loadtest: -tls runs the bot binary (-bin): an in-process bot would not trust the fake Bot API's certificate")
		return 2
	}
	if o.RedisURL == "" {
		fmt.Fprintln(stderr, "loadtest: set REDIS_URL (or -redis): the load test runs against a real Redis")
		return 2
	}
	if *trace {
		o.Trace = stderr
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "loadtest:", err)
			return 1
		}
		defer f.Close()
		o.profile = func(start bool) {
			if start {
				pprof.StartCPUProfile(f)
			} else {
				pprof.StopCPUProfile()
			}
		}
	}
	var heapDone chan struct{} // closed once the heap profile is written
	if *memProfile != "" {
		cpu := o.profile
		o.profile = func(start bool) {
			if cpu != nil {
				cpu(start)
			}
			if !start {
				return
			}
			heapDone = make(chan struct{})
			time.AfterFunc(*memAt, func() {
				defer close(heapDone)
				f, err := os.Create(*memProfile)
				if err != nil {
					fmt.Fprintln(stderr, "loadtest:", err)
					return
				}
				defer f.Close()
				runtime.GC() // the heap profile shows the heap as of the last collection
				pprof.Lookup("heap").WriteTo(f, 0)
			})
		}
	}
	rep, err := Run(ctx, o)
	if heapDone != nil {
		select {
		case <-heapDone:
		case <-ctx.Done(): // interrupted: do not wait for it
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return 1
	}
	rep.ShowSteps = *steps
	rep.Print(stdout)
	if *jsonPath != "" {
		buf, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(*jsonPath, append(buf, '\n'), 0o644); err != nil {
			fmt.Fprintln(stderr, "loadtest:", err)
			return 1
		}
	}
	return 0
}
