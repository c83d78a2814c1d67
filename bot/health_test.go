package bot

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

func get(t *testing.T, srv *httptest.Server, path string) (int, string) {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func TestMetricsEndpointShowsWhatWasRecorded(t *testing.T) {
	m := NewMetrics()
	m.ObserveUpdate(KindMessage, OutcomeOK, 30*time.Millisecond)
	m.ObserveUpdate(KindCallback, OutcomePanic, time.Second)
	m.ObserveUpdate("sticker", "weird", time.Millisecond) // → other, error
	m.ObserveUpdate(KindMessage, OutcomeDuplicate, 0)
	m.MessageSent("sendMessage")
	m.MessageSent("sendMessage")
	m.SendError("sendVenue")
	m.TooManyRequests()
	m.SendRetry()
	m.SchedulerLag(90 * time.Second)
	m.RedisError()
	m.DatabaseErrors("postgres")() // the app on PostgreSQL: only its series
	m.SetOutbox(func() (int, time.Duration, error) { return 7, 6 * time.Minute, nil })
	m.SetConversations(func() (int, error) { return 3, nil })

	srv := httptest.NewServer(HealthHandler(m, nil))
	defer srv.Close()
	code, body := get(t, srv, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: status %d", code)
	}
	for _, want := range []string{
		`dostyq_updates_total{outcome="ok",type="message"} 1`,
		`dostyq_updates_total{outcome="panic",type="callback"} 1`,
		`dostyq_updates_total{outcome="error",type="other"} 1`,
		`dostyq_updates_total{outcome="duplicate",type="message"} 1`,
		`dostyq_updates_total{outcome="flooded",type="contact"} 0`,
		`dostyq_handler_duration_seconds_count{type="message"} 1`, // the duplicate took no time
		`dostyq_handler_duration_seconds_bucket{type="message",le="0.05"} 1`,
		`dostyq_handler_duration_seconds_bucket{type="message",le="0.025"} 0`,
		`dostyq_messages_sent_total{method="sendMessage"} 2`,
		`dostyq_send_errors_total{method="sendVenue"} 1`,
		`dostyq_telegram_429_total 1`,
		`dostyq_send_retries_total 1`,
		`dostyq_scheduler_lag_seconds_count 1`,
		`dostyq_redis_errors_total 1`,
		`dostyq_database_errors_total{db="postgres"} 1`,
		`dostyq_outbox_backlog 7`,
		`dostyq_outbox_oldest_age_seconds 360`,
		`dostyq_active_conversations 3`,
		`go_goroutines `,
		`process_start_time_seconds `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	for _, unwanted := range []string{`db="sqlite"`, `dostyq_sqlite_errors_total`} {
		if strings.Contains(body, unwanted) {
			t.Errorf("/metrics has %q on PostgreSQL", unwanted)
		}
	}
}

// A database label the metrics do not know counts as "other", and the
// series of the database in use is there before its first error, at 0,
// so increase() sees that first error.
func TestDatabaseErrorsSeriesStartAtZeroWithABoundedLabel(t *testing.T) {
	m := NewMetrics()
	m.DatabaseErrors("sqlite")
	m.DatabaseErrors("mysql")()
	srv := httptest.NewServer(HealthHandler(m, nil))
	defer srv.Close()
	_, body := get(t, srv, "/metrics")
	for _, want := range []string{`dostyq_database_errors_total{db="sqlite"} 0`, `dostyq_database_errors_total{db="other"} 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestMetricsLeaveOutGaugesWhoseSourceFails(t *testing.T) {
	m := NewMetrics()
	m.SetOutbox(func() (int, time.Duration, error) { return 0, 0, errors.New("database is locked") })
	srv := httptest.NewServer(HealthHandler(m, nil))
	defer srv.Close()
	code, body := get(t, srv, "/metrics")
	if code != http.StatusOK || strings.Contains(body, "dostyq_outbox_backlog ") || !strings.Contains(body, "dostyq_updates_total") {
		t.Fatalf("a failing outbox source must leave only the outbox gauges out; status %d:\n%s", code, body)
	}
}

func TestNilMetricsRecordNothingAndDoNotPanic(t *testing.T) {
	var m *Metrics
	m.ObserveUpdate(KindMessage, OutcomeOK, time.Millisecond)
	m.MessageSent("sendMessage")
	m.SendError("sendMessage")
	m.TooManyRequests()
	m.SendRetry()
	m.SchedulerLag(time.Second)
	m.RedisError()
	m.DatabaseErrors("sqlite")()
	m.SetOutbox(nil)
	m.SetConversations(nil)
	srv := httptest.NewServer(HealthHandler(m, nil))
	defer srv.Close()
	if code, _ := get(t, srv, "/metrics"); code != http.StatusNotFound {
		t.Fatalf("/metrics without metrics: status %d, want 404", code)
	}
	if code, _ := get(t, srv, "/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz without metrics: status %d, want 200", code)
	}
}

func TestUpdateKind(t *testing.T) {
	tests := []struct {
		u    tgbotapi.Update
		want string
	}{
		{tgbotapi.Update{Message: &tgbotapi.Message{Text: "hi"}}, KindMessage},
		{tgbotapi.Update{Message: &tgbotapi.Message{Location: &tgbotapi.Location{}}}, KindLocation},
		{tgbotapi.Update{Message: &tgbotapi.Message{Contact: &tgbotapi.Contact{}}}, KindContact},
		{tgbotapi.Update{CallbackQuery: &tgbotapi.CallbackQuery{}}, KindCallback},
		{tgbotapi.Update{EditedMessage: &tgbotapi.Message{}}, KindOther},
	}
	for _, tt := range tests {
		if got := UpdateKind(tt.u); got != tt.want {
			t.Errorf("UpdateKind(%+v) = %q, want %q", tt.u, got, tt.want)
		}
	}
}

func TestReadyzNamesFailingChecksWithoutTheirErrors(t *testing.T) {
	redisDown := true
	checks := []Check{
		{Name: "database", Check: func(context.Context) error { return nil }},
		{Name: "redis", Check: func(context.Context) error {
			if redisDown {
				return errors.New("dial redis://:hunter2@cache:6379: connection refused")
			}
			return nil
		}},
		{Name: "transport", Check: func(context.Context) error { panic("bug in a check") }},
	}
	srv := httptest.NewServer(HealthHandler(NewMetrics(), nil, checks...))
	defer srv.Close()

	if code, body := get(t, srv, "/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	code, body := get(t, srv, "/readyz")
	if code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with redis down: status %d, want 503", code)
	}
	if !strings.Contains(body, "redis") || !strings.Contains(body, "transport") || strings.Contains(body, "database") {
		t.Errorf("/readyz must name exactly the failing checks, got %q", body)
	}
	if strings.Contains(body, "hunter2") || strings.Contains(body, "refused") || strings.Contains(body, "bug") {
		t.Errorf("/readyz leaked error text: %q", body)
	}

	redisDown = false
	checks[2].Check = func(context.Context) error { return nil }
	srv2 := httptest.NewServer(HealthHandler(nil, nil, checks...))
	defer srv2.Close()
	if code, body := get(t, srv2, "/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz with every check passing: %d %s", code, body)
	}
}

func TestReadyzGivesUpOnAHangingCheck(t *testing.T) {
	hang := Check{Name: "database", Check: func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}}
	h := HealthHandler(nil, nil, hang)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the scraper gave up: the check's context is done at once
	req := httptest.NewRequest("GET", "/readyz", nil).WithContext(ctx)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "database") {
		t.Fatalf("a check that never answers must fail readiness: %d %q", rec.Code, rec.Body.String())
	}
}

func TestServeHealthServesUntilCancelled(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveHealth(ctx, ln, HealthHandler(NewMetrics(), nil), nil) }()

	resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("graceful shutdown: %v", err)
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		t.Fatal("still serving after shutdown")
	}
}

func TestServeHealthOffWithoutAddress(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := ServeHealth(ctx, "", nil, nil); err != nil {
		t.Fatal(err)
	}
}

func TestHeartbeatCheck(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	hb := NewHeartbeat(func() time.Time { return now })
	check := hb.Check("polling", 2*time.Minute)
	if check.Check(context.Background()) == nil {
		t.Fatal("no beat yet: the check must fail")
	}
	hb.Beat()
	now = now.Add(time.Minute)
	if err := check.Check(context.Background()); err != nil {
		t.Fatalf("a beat a minute ago: %v", err)
	}
	now = now.Add(2 * time.Minute)
	if check.Check(context.Background()) == nil {
		t.Fatal("a beat three minutes ago must fail a 2m check")
	}
	var nilHB *Heartbeat
	nilHB.Beat()
}

func TestMetricsAddrConfig(t *testing.T) {
	env := map[string]string{"METRICS_ADDR": "9090"}
	if _, err := LoadConfig(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "METRICS_ADDR") {
		t.Fatalf("METRICS_ADDR=9090 must be refused, got %v", err)
	}
	env["METRICS_ADDR"] = ":9090"
	c, err := LoadConfig(func(k string) string { return env[k] })
	if err != nil || c.MetricsAddr != ":9090" {
		t.Fatalf("METRICS_ADDR=:9090: %v %q", err, c.MetricsAddr)
	}
}
