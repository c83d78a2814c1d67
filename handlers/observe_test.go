package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/bot"
	"github.com/dostyq/dostyq/storage"
)

type observation struct{ kind, outcome string }

type fakeObserver struct {
	mu  sync.Mutex
	got []observation
}

func (f *fakeObserver) ObserveUpdate(kind, outcome string, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, observation{kind, outcome})
}

func (f *fakeObserver) take() []observation {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := f.got
	f.got = nil
	return g
}

// logTest is a console chat whose handlers log, at debug, as JSON into a
// buffer, and report to a fake observer.
func newLogTest(t *testing.T) (*chatTest, *syncBuffer, *fakeObserver) {
	t.Helper()
	c := newChatTest(t, "en")
	logs := &syncBuffer{}
	c.h.log = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	obs := &fakeObserver{}
	c.h.observer = obs
	return c, logs, obs
}

// updateLines returns the "update" log lines of logs, decoded.
func updateLines(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if m["msg"] == "update" {
			out = append(out, m)
		}
	}
	return out
}

func TestEveryUpdateLogsOneLineWithoutTextOrPhone(t *testing.T) {
	c, logs, obs := newLogTest(t)
	const secret = "my neighbour Serik Abenov shouts at night"
	const phone = "+77015550123"
	c.say("/about\n" + secret + "\n@contact " + phone + "\n@location 43.2389 76.8897\n/nosuchcommand\n/language\n@press 2")
	out := logs.take()

	for _, leak := range []string{secret, "Serik", phone, "7015550123", "nosuchcommand"} {
		if strings.Contains(out, leak) {
			t.Errorf("the log holds %q:\n%s", leak, out)
		}
	}
	lines := updateLines(t, out)
	wantRoutes := []string{"command:about", "text", "contact", "location", "command:unknown", "command:language", "callback:lang"}
	wantKinds := []string{"message", "message", "contact", "location", "message", "message", "callback"}
	if len(lines) != len(wantRoutes) {
		t.Fatalf("want one update line per update (%d), got %d:\n%s", len(wantRoutes), len(lines), out)
	}
	hash := c.h.chatHash(&tgbotapi.Update{Message: &tgbotapi.Message{Chat: &tgbotapi.Chat{ID: 1}}})
	if !regexp.MustCompile(`^[0-9a-f]{8}$`).MatchString(hash) {
		t.Fatalf("chat hash %q is not 8 hex digits", hash)
	}
	for i, l := range lines {
		if l["level"] != "DEBUG" || l["route"] != wantRoutes[i] || l["kind"] != wantKinds[i] || l["outcome"] != "ok" {
			t.Errorf("update %d: level %v kind %v route %v outcome %v; want DEBUG %s %s ok",
				i+1, l["level"], l["kind"], l["route"], l["outcome"], wantKinds[i], wantRoutes[i])
		}
		if l["chat"] != hash {
			t.Errorf("update %d: chat %v, want the hash %s of chat 1", i+1, l["chat"], hash)
		}
		if id, ok := l["update_id"].(float64); !ok || id <= 0 {
			t.Errorf("update %d: update_id %v", i+1, l["update_id"])
		}
		if _, ok := l["duration_ms"].(float64); !ok {
			t.Errorf("update %d: no duration_ms", i+1)
		}
	}
	if strings.Contains(out, `"chat":1`) || strings.Contains(out, `"chat_id"`) {
		t.Errorf("the raw chat id is in the log")
	}
	if got := obs.take(); len(got) != len(wantRoutes) || got[2] != (observation{"contact", "ok"}) || got[6] != (observation{"callback", "ok"}) {
		t.Errorf("observer got %+v", got)
	}
}

func TestFailedUpdatesLogAtErrorWithContext(t *testing.T) {
	c, logs, obs := newLogTest(t)
	c.h.command("fail", func(r *Request) error { return errors.New("disk I/O error") })
	c.h.command("boom", func(r *Request) error { panic("nil map") })
	c.h.command("refuse", func(r *Request) error { return invalid("menu.main", nil) })
	c.h.cfg.FloodMessages, c.h.cfg.FloodWindow = 3, time.Hour

	out := c.say("/fail\n/boom\n/refuse\n/about")
	// The user is answered, a fault of ours and a panic alike.
	if n := strings.Count(out, "Sorry, something went wrong on our side."); n != 2 {
		t.Errorf("the failed update and the panic got %d apologies, want 2:\n%s", n, out)
	}
	lines := updateLines(t, logs.take())
	want := []struct{ level, route, outcome string }{
		{"ERROR", "command:fail", "error"},
		{"ERROR", "command:boom", "panic"},
		{"DEBUG", "command:refuse", "ok"},
		{"DEBUG", "message", "flooded"},
	}
	if len(lines) != len(want) {
		t.Fatalf("want %d update lines, got %d: %+v", len(want), len(lines), lines)
	}
	for i, w := range want {
		l := lines[i]
		if l["level"] != w.level || l["route"] != w.route || l["outcome"] != w.outcome {
			t.Errorf("update %d: %v %v %v, want %s %s %s", i+1, l["level"], l["route"], l["outcome"], w.level, w.route, w.outcome)
		}
	}
	if e, _ := lines[0]["err"].(string); !strings.Contains(e, "disk I/O error") {
		t.Errorf("a failed update must log its error, got %v", lines[0]["err"])
	}
	if s, _ := lines[1]["stack"].(string); !strings.Contains(lines[1]["err"].(string), "nil map") || !strings.Contains(s, "goroutine") {
		t.Errorf("a panic must log its value and stack, got err %v", lines[1]["err"])
	}
	if lines[2]["refused"] != "menu.main" {
		t.Errorf("a refused input must log the reply's message id, got %v", lines[2]["refused"])
	}
	got := obs.take()
	wantObs := []observation{{"message", "error"}, {"message", "panic"}, {"message", "ok"}, {"message", "flooded"}}
	if len(got) != len(wantObs) {
		t.Fatalf("observer got %+v, want %+v", got, wantObs)
	}
	for i := range wantObs {
		if got[i] != wantObs[i] {
			t.Errorf("observation %d: %+v, want %+v", i+1, got[i], wantObs[i])
		}
	}
}

// A store that does not answer (Redis down) is a fault of ours: the user
// hears it is temporary, and the update is logged and counted as an error,
// so an outage shows in the logs and the metrics.
func TestUnavailableStoreIsLoggedAsAnError(t *testing.T) {
	c, logs, obs := newLogTest(t)
	c.h.command("down", func(r *Request) error {
		return fmt.Errorf("redis: get state: %w", storage.ErrUnavailable)
	})
	c.expect(c.say("/down"), "The service is temporarily unavailable")
	lines := updateLines(t, logs.take())
	if len(lines) != 1 || lines[0]["level"] != "ERROR" || lines[0]["outcome"] != "error" {
		t.Fatalf("update lines %+v, want one at ERROR with outcome error", lines)
	}
	if got := obs.take(); len(got) != 1 || got[0].outcome != bot.OutcomeError {
		t.Errorf("observed %+v, want one update with outcome error", got)
	}
}
