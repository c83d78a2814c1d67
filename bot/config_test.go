package bot

import (
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigDefaults(t *testing.T) {
	c, err := LoadConfig(env(nil))
	if err != nil {
		t.Fatalf("empty environment: %v", err)
	}
	want := Config{
		APIEndpoint:       DefaultAPIEndpoint,
		DatabasePath:      "dostyq.db",
		ListenAddr:        ":8080",
		LogLevel:          slog.LevelInfo,
		LogFormat:         "text",
		StateTTL:          24 * time.Hour,
		RedisAutoPipeline: true,
		Workers:           256,
		FloodMessages:     20,
		FloodWindow:       time.Minute,

		MediationOfferTimeout:  2 * time.Hour,
		MediationEscalateAfter: 24 * time.Hour,
		Retention:              365 * 24 * time.Hour,

		SendRate:              30,
		SendChatRate:          1,
		SendRetries:           5,
		WebhookMaxConnections: 40,
		BotAPIConnections:     512,
		HeapBudgetMB:          12,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", c, want)
	}
}

// A webhook is served by more workers unless WORKERS says otherwise: with
// 256, a webhook at 50 ms from Telegram was held at 3,300 updates a second.
func TestConfigWorkersByMode(t *testing.T) {
	hook := map[string]string{"WEBHOOK_URL": "https://bot.example.org/telegram", "WEBHOOK_SECRET": "s3cret_token-of-24-chars"}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		workers int
	}{
		{"polling", nil, 256},
		{"webhook", hook, 512},
		{"webhook, WORKERS set", map[string]string{"WEBHOOK_URL": hook["WEBHOOK_URL"], "WEBHOOK_SECRET": hook["WEBHOOK_SECRET"], "WORKERS": "100"}, 100},
		{"polling, WORKERS set", map[string]string{"WORKERS": "600"}, 600},
	} {
		c, err := LoadConfig(env(tc.env))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if c.Workers != tc.workers {
			t.Errorf("%s: %d workers, want %d", tc.name, c.Workers, tc.workers)
		}
	}
}

func TestConfigReadsEveryVariable(t *testing.T) {
	c, err := LoadConfig(env(map[string]string{
		"TELEGRAM_BOT_TOKEN":       " 123:abc \n",
		"TELEGRAM_API_ENDPOINT":    "http://127.0.0.1:8081/bot%s/%s",
		"DATABASE_PATH":            "/data/dostyq.db",
		"REDIS_URL":                "redis://redis:6379/1",
		"ADMIN_IDS":                "42, 7000000001,9",
		"WEBHOOK_URL":              "https://bot.example.org/telegram",
		"WEBHOOK_SECRET":           "s3cret_token-of-24-chars",
		"LISTEN_ADDR":              "0.0.0.0:9000",
		"LOG_LEVEL":                "debug",
		"LOG_FORMAT":               "json",
		"STATE_TTL":                "2h",
		"WORKERS":                  "4",
		"REDIS_AUTOPIPELINE":       "false",
		"FLOOD_MESSAGES":           "0",
		"FLOOD_WINDOW":             "30s",
		"MEDIATION_OFFER_TIMEOUT":  "30m",
		"MEDIATION_ESCALATE_AFTER": "12h",
		"RETENTION_DAYS":           "90",
		"TELEGRAM_CONNECTIONS":     "16",
		"GC_HEAP_BUDGET_MB":        "0",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Token:         "123:abc",
		APIEndpoint:   "http://127.0.0.1:8081/bot%s/%s",
		DatabasePath:  "/data/dostyq.db",
		RedisURL:      "redis://redis:6379/1",
		AdminIDs:      []int64{42, 7000000001, 9},
		WebhookURL:    "https://bot.example.org/telegram",
		WebhookSecret: "s3cret_token-of-24-chars",
		ListenAddr:    "0.0.0.0:9000",
		LogLevel:      slog.LevelDebug,
		LogFormat:     "json",
		StateTTL:      2 * time.Hour,
		Workers:       4,
		FloodMessages: 0,
		FloodWindow:   30 * time.Second,

		MediationOfferTimeout:  30 * time.Minute,
		MediationEscalateAfter: 12 * time.Hour,
		Retention:              90 * 24 * time.Hour,

		SendRate:              30,
		SendChatRate:          1,
		SendRetries:           5,
		WebhookMaxConnections: 40,
		BotAPIConnections:     16,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("\n got %+v\nwant %+v", c, want)
	}
}

func TestConfigRejectsInvalidValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string // the error names the variable and says what is expected
	}{
		{"flood window not a duration", map[string]string{"FLOOD_WINDOW": "60"}, `FLOOD_WINDOW: "60" is not a positive duration`},
		{"flood window negative", map[string]string{"FLOOD_WINDOW": "-1m"}, `FLOOD_WINDOW: "-1m"`},
		{"offer timeout too short", map[string]string{"MEDIATION_OFFER_TIMEOUT": "10s"}, `MEDIATION_OFFER_TIMEOUT: "10s" is not a duration of at least a minute`},
		{"retention zero", map[string]string{"RETENTION_DAYS": "0"}, `RETENTION_DAYS: "0" is not a number of days from 1 to 3650`},
		{"retention not a number", map[string]string{"RETENTION_DAYS": "1y"}, `RETENTION_DAYS: "1y"`},
		{"flood messages", map[string]string{"FLOOD_MESSAGES": "many"}, `FLOOD_MESSAGES: "many" is not a whole number`},
		{"admin id not a number", map[string]string{"ADMIN_IDS": "42,@admin"}, `ADMIN_IDS: "@admin" is not a Telegram user id`},
		{"admin id negative", map[string]string{"ADMIN_IDS": "-5"}, `ADMIN_IDS: "-5" is not a Telegram user id`},
		{"log level", map[string]string{"LOG_LEVEL": "verbose"}, `LOG_LEVEL: "verbose" is not one of debug, info, warn, error`},
		{"log format", map[string]string{"LOG_FORMAT": "xml"}, `LOG_FORMAT: "xml" is neither text nor json`},
		{"state ttl", map[string]string{"STATE_TTL": "1 day"}, `STATE_TTL: "1 day" is not a positive duration`},
		{"workers zero", map[string]string{"WORKERS": "0"}, `WORKERS: "0" is not a number from 1 to 1024`},
		{"bot api connections zero", map[string]string{"TELEGRAM_CONNECTIONS": "0"}, `TELEGRAM_CONNECTIONS: "0" is not a number from 1 to 4096`},
		{"bot api connections not a number", map[string]string{"TELEGRAM_CONNECTIONS": "many"}, `TELEGRAM_CONNECTIONS: "many"`},
		{"send retries", map[string]string{"SEND_RETRIES": "101"}, `SEND_RETRIES: "101" is not a number from 0 to 100`},
		{"webhook connections", map[string]string{"WEBHOOK_MAX_CONNECTIONS": "101"}, `WEBHOOK_MAX_CONNECTIONS: "101" is not a number from 1 to 100`},
		{"heap budget negative", map[string]string{"GC_HEAP_BUDGET_MB": "-1"}, `GC_HEAP_BUDGET_MB: "-1" is not a number from 0 to 4096`},
		{"heap budget with a unit", map[string]string{"GC_HEAP_BUDGET_MB": "12MiB"}, `GC_HEAP_BUDGET_MB: "12MiB" is not a number from 0 to 4096`},
		{"auto-pipeline", map[string]string{"REDIS_AUTOPIPELINE": "maybe"}, `REDIS_AUTOPIPELINE: "maybe" is neither true nor false`},
		{"api endpoint without %s", map[string]string{"TELEGRAM_API_ENDPOINT": "https://api.telegram.org"}, "TELEGRAM_API_ENDPOINT:"},
		{"api endpoint with one %s", map[string]string{"TELEGRAM_API_ENDPOINT": "https://api.telegram.org/bot%s"}, "TELEGRAM_API_ENDPOINT:"},
		{"redis url", map[string]string{"REDIS_URL": "localhost:6379"}, "REDIS_URL: not a Redis address"},
		{"database url not postgres", map[string]string{"DATABASE_URL": "mysql://u:secret@db/dostyq"}, "DATABASE_URL: not a PostgreSQL URL"},
		{"database url without host", map[string]string{"DATABASE_URL": "postgres://"}, "DATABASE_URL: not a PostgreSQL URL"},
		{"listen addr", map[string]string{"LISTEN_ADDR": "8080"}, `LISTEN_ADDR: "8080" is not HOST:PORT`},
		{"webhook over http", map[string]string{"WEBHOOK_URL": "http://bot.example.org/hook", "WEBHOOK_SECRET": "0123456789abcdefXYZ"}, "WEBHOOK_URL: must be an https:// address"},
		{"webhook without host", map[string]string{"WEBHOOK_URL": "https://", "WEBHOOK_SECRET": "0123456789abcdefXYZ"}, "WEBHOOK_URL: must be an https:// address"},
		{"webhook without secret", map[string]string{"WEBHOOK_URL": "https://bot.example.org/hook"}, "WEBHOOK_SECRET: set a secret"},
		{"secret too short", map[string]string{"WEBHOOK_URL": "https://bot.example.org/hook", "WEBHOOK_SECRET": "short"}, "WEBHOOK_SECRET: must be 16 to 256 characters"},
		{"secret with bad characters", map[string]string{"WEBHOOK_URL": "https://bot.example.org/hook", "WEBHOOK_SECRET": "0123456789abcdef!?"}, "WEBHOOK_SECRET: must be 16 to 256 characters of A-Z"},
		{"secret too long", map[string]string{"WEBHOOK_SECRET": strings.Repeat("a", 257)}, "WEBHOOK_SECRET: must be 16 to 256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadConfig(env(tc.env))
			if err == nil {
				t.Fatalf("%v accepted", tc.env)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

// Every mistake is reported at once, not one per start.
func TestConfigReportsAllErrors(t *testing.T) {
	_, err := LoadConfig(env(map[string]string{"WORKERS": "x", "LOG_FORMAT": "xml", "ADMIN_IDS": "a"}))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, v := range []string{"WORKERS", "LOG_FORMAT", "ADMIN_IDS"} {
		if !strings.Contains(err.Error(), v) {
			t.Errorf("error does not mention %s: %v", v, err)
		}
	}
}
