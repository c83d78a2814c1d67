package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A Check is one readiness condition: the database answers, Redis answers,
// the transport is receiving updates. Name is what /readyz reports when it
// fails; the error itself is logged, never served, as it may name hosts or
// carry other details an outsider should not see.
type Check struct {
	Name  string
	Check func(ctx context.Context) error
}

// checkTimeout bounds each readiness check.
const checkTimeout = 3 * time.Second

// debugHandlers adds Go's profiles to the health endpoint in a bot built
// with -tags pprof (health_pprof.go); nil otherwise.
var debugHandlers func(mux *http.ServeMux)

// ServesProfiles tells whether this bot was built with -tags pprof.
func ServesProfiles() bool { return debugHandlers != nil }

// HealthHandler serves /metrics (m's registry; 404 when m is nil), /healthz
// (200 while the process is alive) and /readyz (200 only when every check
// passes, else 503 with the names of the failing checks).
func HealthHandler(m *Metrics, log *slog.Logger, checks ...Check) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	mux := http.NewServeMux()
	if debugHandlers != nil {
		debugHandlers(mux)
	}
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		failed := runChecks(r.Context(), log, checks)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if len(failed) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "not ready: %s\n", strings.Join(failed, ", "))
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return mux
}

// runChecks runs the checks in parallel and returns the names of those that
// failed, in the order given.
func runChecks(ctx context.Context, log *slog.Logger, checks []Check) []string {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() {
			defer func() {
				if p := recover(); p != nil {
					errs[i] = fmt.Errorf("panic: %v", p)
				}
			}()
			errs[i] = c.Check(ctx)
		})
	}
	wg.Wait()
	var failed []string
	for i, err := range errs {
		if err != nil {
			failed = append(failed, checks[i].Name)
			log.Warn("readyz: check failed", "check", checks[i].Name, "err", err)
		}
	}
	return failed
}

// ServeHealth serves h (see HealthHandler) on addr until ctx is done, then
// shuts down gracefully. An empty addr serves nothing and returns when ctx
// is done, so the caller need not check whether METRICS_ADDR is set.
func ServeHealth(ctx context.Context, addr string, h http.Handler, log *slog.Logger) error {
	if addr == "" {
		<-ctx.Done()
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics: listen on METRICS_ADDR %s: %w", addr, err)
	}
	return serveHealth(ctx, ln, h, log)
}

func serveHealth(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	log.Info("metrics and health endpoints listening", "addr", ln.Addr().String())
	select {
	case err := <-done:
		return fmt.Errorf("metrics: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if serveErr := <-done; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	if err != nil {
		return fmt.Errorf("metrics: shutdown: %w", err)
	}
	return nil
}

// A Heartbeat tells whether something that should happen regularly still
// does: the polling loop beats after every getUpdates answer (long polling
// answers at least every poll timeout), and Check fails when the last beat
// is older than maxAge. A nil *Heartbeat ignores beats.
type Heartbeat struct {
	now  func() time.Time
	last atomic.Int64 // unix nanoseconds; 0: never
}

// NewHeartbeat returns a heartbeat reading the clock through now (nil: time.Now).
func NewHeartbeat(now func() time.Time) *Heartbeat {
	if now == nil {
		now = time.Now
	}
	return &Heartbeat{now: now}
}

// Beat records that the watched thing happened now.
func (hb *Heartbeat) Beat() {
	if hb != nil {
		hb.last.Store(hb.now().UnixNano())
	}
}

// Check is a readiness check named name that fails until the first beat
// and when the last beat is older than maxAge.
func (hb *Heartbeat) Check(name string, maxAge time.Duration) Check {
	return Check{Name: name, Check: func(context.Context) error {
		if hb == nil {
			return errors.New("no heartbeat")
		}
		last := hb.last.Load()
		if last == 0 {
			return errors.New("no heartbeat yet")
		}
		if age := hb.now().Sub(time.Unix(0, last)); age > maxAge {
			return fmt.Errorf("last heartbeat %s ago, more than %s", age.Round(time.Second), maxAge)
		}
		return nil
	}}
}
