package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// TestLoadToolRuns runs the load tool with a few citizens in both modes,
// a short baseline, a small broadcast and a few open conversations, and
// checks that it completes with no errors and counts that add up. No
// figure is asserted: timings belong to docs/BENCHMARKS.md, not to CI.
func TestLoadToolRuns(t *testing.T) {
	url, real := os.Getenv("REDIS_URL"), true
	if url == "" {
		// The tool talks to Redis by URL: an embedded server stands in
		// (without MEMORY USAGE: no memory figures then).
		url, real = "redis://"+miniredis.RunT(t).Addr()+"/0", false
	}
	for _, mode := range []string{"poll", "webhook"} {
		t.Run(mode, func(t *testing.T) {
			o := Options{Users: 3, Mode: mode, RedisURL: url, Broadcast: 3, Open: 5, BaselineFor: 200 * time.Millisecond}
			if mode == "webhook" {
				o.Broadcast, o.Open, o.BaselineFor = 0, 0, 0
			}
			if !real {
				o.Open = 0
			}
			rep, err := Run(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			main := rep.Phases[0]
			if main.Errors != 0 {
				t.Fatalf("%d errors: %v", main.Errors, main.FirstErrors)
			}
			// Every step but the optional presses is answered.
			if min := o.Users * (len(conversation) - 3); main.Updates < min || main.Updates > o.Users*len(conversation) {
				t.Errorf("%d updates handled, want %d to %d", main.Updates, min, o.Users*len(conversation))
			}
			if main.P50Ms <= 0 || main.MaxMs < main.P99Ms || main.UpdatesPerSec <= 0 {
				t.Errorf("figures do not add up: %+v", main)
			}
			if mode == "webhook" {
				return
			}
			if len(rep.Phases) != 2+min(o.Open, 1) || rep.Ratio <= 0 {
				t.Errorf("phases %+v, ratio %v: want the bot, the baseline and the open conversations", rep.Phases, rep.Ratio)
			}
			if b := rep.Broadcast; b == nil || b.Delivered != 3 || b.TooManyRequests != 0 {
				t.Errorf("broadcast %+v, want 3 delivered and no 429", b)
			}
			if r := rep.Redis; real && (r == nil || r.Conversations != 5 || r.StateBytes <= 0 || r.KeysWithoutTTL != 0) {
				t.Errorf("redis figures %+v, want 5 conversations, every key with a TTL", r)
			}
		})
	}
}

// TestLoadToolCommand runs the command line with -json.
func TestLoadToolCommand(t *testing.T) {
	url := os.Getenv("REDIS_URL")
	if url == "" {
		url = "redis://" + miniredis.RunT(t).Addr() + "/0"
	}
	path := filepath.Join(t.TempDir(), "out.json")
	var stdout, stderr bytes.Buffer
	heap := filepath.Join(t.TempDir(), "heap.prof")
	code := run(context.Background(), []string{"-users", "3", "-baseline", "0", "-broadcast", "0", "-open", "0", "-redis", url, "-json", path,
		"-steps", "-memprofile", heap, "-memprofile-at", "1ms"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "updates/s") {
		t.Errorf("no summary table:\n%s", stdout.String())
	}
	// -steps: a line for each step of the conversation, in order.
	for i, want := range []string{"1 /start", "2 press English", "19 press Confirm", "28 /menu"} {
		line := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(want) + `\s+3\s`)
		if !line.MatchString(stdout.String()) {
			t.Errorf("step %d: no line %q with 3 updates:\n%s", i, want, stdout.String())
		}
	}
	if fi, err := os.Stat(heap); err != nil || fi.Size() == 0 {
		t.Errorf("-memprofile wrote no heap profile: %v", err)
	}
	buf, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(buf, &rep); err != nil || len(rep.Phases) != 1 || rep.Phases[0].Users != 3 {
		t.Errorf("JSON %s (%v)", buf, err)
	}
}

// TestLoadToolRunsTheBinary builds the bot and runs it as its own process
// with a few citizens, by long polling and behind the webhook, and, when
// TEST_DATABASE_URL is set, as two replicas on PostgreSQL (a failure, not
// a skip, when that database cannot be reached). It checks that updates
// were handled with no error and that the bot's own CPU time and peak RSS,
// and the load tool's CPU apart, were measured; no figure is asserted.
func TestLoadToolRunsTheBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the bot binary")
	}
	url := os.Getenv("REDIS_URL")
	if url == "" {
		url = "redis://" + miniredis.RunT(t).Addr() + "/0"
	}
	bin := filepath.Join(t.TempDir(), "dostyq")
	if err := buildBot(context.Background(), "../..", bin); err != nil {
		t.Fatal(err)
	}
	cases := []Options{
		{Mode: "poll"},
		{Mode: "webhook"},
		{Mode: "poll", TLS: true},
	}
	if pg := os.Getenv("TEST_DATABASE_URL"); pg != "" {
		cases = append(cases, Options{Mode: "webhook", Replicas: 2, DatabaseURL: pg})
	}
	for _, o := range cases {
		t.Run(fmt.Sprintf("%s-replicas-%d-tls-%v", o.Mode, o.Replicas, o.TLS), func(t *testing.T) {
			o.Users, o.RedisURL, o.Bin = 3, url, bin
			rep, err := Run(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			p := rep.Phases[0]
			if p.Updates <= 0 || p.Errors != 0 {
				t.Fatalf("%d updates handled, %d errors %v", p.Updates, p.Errors, p.FirstErrors)
			}
			if p.CPUSeconds <= 0 || p.CPUPerUpdateMs <= 0 || p.PeakRSSMB <= 0 {
				t.Errorf("the bot's CPU and RSS not measured: %+v", p)
			}
			if real := os.Getenv("REDIS_URL") != ""; (p.RedisCPUSeconds != nil) != real {
				t.Errorf("Redis's CPU measured: %v, want %v (a real Redis tells it, miniredis does not)", p.RedisCPUSeconds != nil, real)
			}
			if p.ToolCPUSeconds <= 0 || p.ToolCPUSeconds == p.CPUSeconds {
				t.Errorf("the load tool's own CPU not measured apart from the bot's: tool %.3f s, bot %.3f s", p.ToolCPUSeconds, p.CPUSeconds)
			}
			if n := max(o.Replicas, 1); len(p.Replicas) != n {
				t.Fatalf("%d processes measured, want %d", len(p.Replicas), n)
			}
			var handled int64
			for i, r := range p.Replicas {
				if r.Updates <= 0 || r.PeakRSSMB <= 0 {
					t.Errorf("replica %d: %+v, want updates handled and its RSS", i+1, r)
				}
				handled += r.Updates
			}
			if handled != int64(p.Updates) {
				t.Errorf("the processes handled %d updates, the citizens saw %d answered", handled, p.Updates)
			}
			want := "sqlite"
			if o.Replicas > 0 {
				want = "postgres"
			}
			if p.Database != want {
				t.Errorf("database %q, want %q", p.Database, want)
			}
			if tls := strings.HasSuffix(p.Mode, " tls"); tls != o.TLS {
				t.Errorf("mode %q with -tls %v", p.Mode, o.TLS)
			}
		})
	}
}

// redisCPU reads how much CPU Redis has spent: more after work than
// before on a real Redis; on one that refuses INFO cpu (miniredis) an
// error, so that the report says "not measured" rather than 0 s.
func TestRedisCPU(t *testing.T) {
	ctx := context.Background()
	url := os.Getenv("REDIS_URL")
	if url == "" {
		url = "redis://" + miniredis.RunT(t).Addr() + "/0"
		if _, err := redisCPU(ctx, url); err == nil {
			t.Fatal("miniredis's INFO has no cpu section, yet redisCPU read one")
		}
		return
	}
	before, err := redisCPU(ctx, url)
	if err != nil || before <= 0 {
		t.Fatalf("redisCPU = %v, %v; want the CPU time of a running Redis", before, err)
	}
	opts, _ := redis.ParseURL(url)
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	key := fmt.Sprintf("dostyq:test:redis-cpu:%d", os.Getpid())
	defer rdb.Del(ctx, key)
	for i := 0; i < 20; i++ {
		pipe := rdb.Pipeline()
		for j := 0; j < 1000; j++ {
			pipe.Set(ctx, key, strings.Repeat("x", 100), time.Minute)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	after, err := redisCPU(ctx, url)
	if err != nil || after <= before {
		t.Errorf("redisCPU after 20,000 SETs = %v (before %v), %v; want more", after, before, err)
	}
}

// With the bot as its own process the report says how the machine's cores
// were shared: the bot's CPU, the load tool's, Redis's where it could be
// read, and PostgreSQL's absence from the sum where a phase used it.
func TestReportSaysHowTheCoresWereShared(t *testing.T) {
	redis := 1.13
	ph := Phase{Name: "D", Bot: "process", Database: "sqlite", Mode: "webhook", Updates: 28000, Seconds: 13.09,
		CPUSeconds: 13.35, ToolCPUSeconds: 10.11, ToolCPUPerUpdateMs: 0.361, RedisCPUSeconds: &redis,
		Replicas: []ReplicaFigures{{Updates: 28000, CPUSeconds: 13.35, CPUPerUpdateMs: 0.477, PeakRSSMB: 47.1}}}
	pg := ph
	pg.Name, pg.Database = "R1", "postgres"
	unread := ph
	unread.Name, unread.RedisCPUSeconds = "U", nil
	inProcess := Phase{Name: "I", Bot: "in-process", Updates: 100, Seconds: 1, CPUSeconds: 0.5}
	var out bytes.Buffer
	(&Report{CPUs: 2, Phases: []Phase{ph, pg, unread, inProcess}}).Print(&out)
	for _, want := range []string{
		"D, bot process 1: 28000 updates handled, CPU 13.35 s (0.477 ms/update), peak RSS 47.1 MB",
		"D, load tool: CPU 10.11 s (0.361 ms/update); Redis (the whole server): CPU 1.13 s; bot + load tool + Redis: 24.59 s of CPU in 13.09 s on 2 cores\n",
		"R1, load tool: CPU 10.11 s (0.361 ms/update); Redis (the whole server): CPU 1.13 s; bot + load tool + Redis: 24.59 s of CPU in 13.09 s on 2 cores (PostgreSQL not counted)\n",
		"U, load tool: CPU 10.11 s (0.361 ms/update); Redis: CPU not measured\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "I, load tool") {
		t.Errorf("an in-process phase, whose CPU is the tool's already, got a load tool line:\n%s", out.String())
	}
}
