package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/dostyq/dostyq/bot/bottest"
)

// The bot as its own process (-bin): the binary of the module root,
// `dostyq serve`, one process or several replicas behind the fake Bot API's
// webhook delivery. The load tool learns that an update was handled from
// the bot's own log (LOG_LEVEL=debug: its line "update" update_id=N), and
// takes the bot's CPU time and peak RSS from /proc/<pid>.

// buildBot builds the bot binary from the module at dir (as the
// Dockerfile does) into out.
func buildBot(ctx context.Context, dir, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
	cmd.Dir, cmd.Env = dir, append(os.Environ(), "CGO_ENABLED=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build in %s: %v\n%s", dir, err, b)
	}
	return nil
}

// resolveBin is the binary to run for -bin path: path itself when it is a
// file, else the module at path built into dir.
func resolveBin(ctx context.Context, path, dir string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("-bin: %w", err)
	}
	if !fi.IsDir() {
		return filepath.Abs(path)
	}
	out := filepath.Join(dir, "dostyq")
	if err := buildBot(ctx, path, out); err != nil {
		return "", err
	}
	return out, nil
}

// botProcess is one running bot process (a replica).
type botProcess struct {
	cmd     *exec.Cmd
	listen  string // webhook address
	health  string // METRICS_ADDR
	handled atomic.Int64
	read    chan struct{} // closed when its stderr is read to the end
	polling chan struct{} // closed when it logs that it polls for updates
	seen    bool

	mu   sync.Mutex
	tail []string // the last lines of its log, for a failure to start
	exit chan struct{}
	err  error
}

// fleet is the bot processes of one phase.
type fleet struct {
	procs []*botProcess
}

// startFleet starts n processes of bin with env (the bot's configuration),
// each with addresses of its own, tells w of every update they handle and
// logs of their errors, and waits until each is ready (/readyz). In
// webhook mode the fake Bot API delivers to them in turn.
func startFleet(ctx context.Context, bin string, n int, env map[string]string, srv *bottest.Server, w *waiter, logs *logCounter) (*fleet, error) {
	f := &fleet{}
	var bases []string
	for i := 0; i < n; i++ {
		listen, err := freeAddr()
		if err != nil {
			return nil, err
		}
		health, err := freeAddr()
		if err != nil {
			return nil, err
		}
		p := &botProcess{listen: listen, health: health, read: make(chan struct{}), polling: make(chan struct{}), exit: make(chan struct{})}
		f.procs = append(f.procs, p)
		bases = append(bases, "http://"+listen)
	}
	if env["WEBHOOK_URL"] != "" {
		srv.DeliverTo(bases...)
	}
	for _, p := range f.procs {
		e := map[string]string{}
		for k, v := range env {
			e[k] = v
		}
		e["LISTEN_ADDR"], e["METRICS_ADDR"] = p.listen, p.health
		e["LOG_LEVEL"], e["LOG_FORMAT"] = "debug", "text"
		if err := p.start(bin, e, w, logs); err != nil {
			f.stop()
			return nil, err
		}
	}
	for i, p := range f.procs {
		if err := p.waitReady(ctx, env["WEBHOOK_URL"] == "", 60*time.Second); err != nil {
			f.stop()
			return nil, fmt.Errorf("bot process %d: %w", i+1, err)
		}
	}
	return f, nil
}

func (p *botProcess) start(bin string, env map[string]string, w *waiter, logs *logCounter) error {
	cmd := exec.Command(bin, "serve")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	slices.Sort(cmd.Env)
	dieWithLoadTool(cmd)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", bin, err)
	}
	p.cmd = cmd
	go func() {
		defer close(p.read)
		p.readLog(stderr, w, logs)
	}()
	go func() {
		<-p.read // Wait closes the pipe: read it to the end first
		err := cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.exit)
	}()
	return nil
}

// handledLine starts the one log line of each update the bot handled, at
// debug (at error when handling failed), written once its replies were
// sent (handlers/observe.go): update_id=N chat=<hash> kind route outcome
// duration_ms; no text, no user.
const handledLine = ` msg=update update_id=`

// readLog reads the bot's log: an "update handled" line tells w; an error
// line is counted; the last lines are kept.
func (p *botProcess) readLog(r io.Reader, w *waiter, logs *logCounter) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, handledLine); i >= 0 {
			at := time.Now()
			id, _, _ := strings.Cut(line[i+len(handledLine):], " ")
			if n, err := strconv.Atoi(id); err == nil {
				p.handled.Add(1)
				w.doneID(n, at)
			}
			if !strings.Contains(line, "level=ERROR") {
				continue
			}
		}
		if !p.seen && strings.Contains(line, `msg="polling for updates"`) {
			p.seen = true
			close(p.polling)
		}
		logs.Write([]byte(line + "\n"))
		p.mu.Lock()
		if p.tail = append(p.tail, line); len(p.tail) > 20 {
			p.tail = p.tail[1:]
		}
		p.mu.Unlock()
	}
}

func (p *botProcess) lastLines() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.tail, "\n")
}

// waitReady waits until the process is ready: polling for updates (its
// log says so: /readyz waits for a first getUpdates answer, up to a long
// poll's 50 s when no update is waiting), or with its webhook set and
// served (/readyz answers 200).
func (p *botProcess) waitReady(ctx context.Context, poll bool, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-p.exit:
			return fmt.Errorf("exited at start (%v):\n%s", p.err, p.lastLines())
		case <-ctx.Done():
			return ctx.Err()
		case <-p.polling:
			return nil
		default:
		}
		if !poll {
			resp, err := http.Get("http://" + p.health + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return nil
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("not ready after %s:\n%s", limit, p.lastLines())
}

// stop ends every process with SIGTERM (the bot finishes the updates in
// flight) and waits; one still running after 30 s is killed.
func (f *fleet) stop() error {
	var errs []error
	for _, p := range f.procs {
		if p.cmd != nil && p.cmd.Process != nil {
			p.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for i, p := range f.procs {
		if p.cmd == nil {
			continue
		}
		select {
		case <-p.exit:
		case <-time.After(30 * time.Second):
			p.cmd.Process.Kill()
			<-p.exit
			errs = append(errs, fmt.Errorf("bot process %d did not stop within 30 s of SIGTERM", i+1))
			continue
		}
		p.mu.Lock()
		err := p.err
		p.mu.Unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("bot process %d: %v\n%s", i+1, err, p.lastLines()))
		}
	}
	return errors.Join(errs...)
}

// usage is what one process used in a phase.
type usage struct {
	cpu     time.Duration
	handled int64
}

func (f *fleet) usage() []usage {
	out := make([]usage, len(f.procs))
	for i, p := range f.procs {
		out[i] = usage{cpu: procCPU(p.cmd.Process.Pid), handled: p.handled.Load()}
	}
	return out
}

func (f *fleet) resetPeakRSS() {
	for _, p := range f.procs {
		os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", p.cmd.Process.Pid), []byte("5"), 0)
	}
}

// rssMB is each process's peak RSS (VmHWM) and its RSS now (VmRSS), in MB.
func (f *fleet) rssMB() (peak, now []float64) {
	for _, p := range f.procs {
		path := fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid)
		peak, now = append(peak, procStatusMB(path, "VmHWM:")), append(now, procStatusMB(path, "VmRSS:"))
	}
	return peak, now
}

// clockTick is USER_HZ, the unit of the times in /proc/<pid>/stat: 100 on
// every Linux the bot runs on.
const clockTick = 10 * time.Millisecond

// procCPU is the user and system CPU time of process pid (Linux; else 0).
func procCPU(pid int) time.Duration {
	buf, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses: state
	// is the 3rd field of the line, utime the 14th, stime the 15th.
	s := string(buf)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(ut+st) * clockTick
}

// procStatusMB is the line key (such as "VmHWM:") of a /proc status file,
// in MB (0 when absent).
func procStatusMB(path, key string) float64 {
	buf, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(buf), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// ---- PostgreSQL for replicas ----

// postgresSchema creates a schema of its own at base (as storage/storagetest
// does) and returns the URL that selects it, and the function that drops
// it with everything in it.
func postgresSchema(ctx context.Context, base string) (string, func() error, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", nil, fmt.Errorf("-database-url: %q is not a postgres:// URL", redactURL(base))
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, err
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "loadtest_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("postgres %s: create schema: %w", redactURL(base), err)
	}
	drop := func() error {
		defer admin.Close()
		_, err := admin.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`)
		return err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// redactURL is u without its password, for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
