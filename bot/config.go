package bot

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultAPIEndpoint is Telegram's Bot API address (tgbotapi format: token, method).
const DefaultAPIEndpoint = "https://api.telegram.org/bot%s/%s"

// Config is the bot's configuration, read from environment variables.
type Config struct {
	Token        string // TELEGRAM_BOT_TOKEN
	APIEndpoint  string // TELEGRAM_API_ENDPOINT
	DatabasePath string // DATABASE_PATH
	DatabaseURL  string // DATABASE_URL: postgres://…; when set, PostgreSQL instead of SQLite
	RedisURL     string // REDIS_URL
	// RedisAutoPipeline batches the Redis commands that workers issue at
	// the same moment into one pipeline (REDIS_AUTOPIPELINE, default true;
	// false sends each on its own; storage.RedisStateStore.AutoPipeline).
	RedisAutoPipeline bool
	AdminIDs          []int64       // ADMIN_IDS, comma-separated Telegram user ids
	WebhookURL        string        // WEBHOOK_URL
	WebhookSecret     string        // WEBHOOK_SECRET
	ListenAddr        string        // LISTEN_ADDR
	LogLevel          slog.Level    // LOG_LEVEL: debug, info, warn, error
	LogFormat         string        // LOG_FORMAT: text or json
	StateTTL          time.Duration // STATE_TTL
	Workers           int           // WORKERS
	FloodMessages     int           // FLOOD_MESSAGES: updates a user may send per window (0: off)
	FloodWindow       time.Duration // FLOOD_WINDOW
	// MetricsAddr is where /metrics, /healthz and /readyz are served, such
	// as ":9090" (METRICS_ADDR; empty: not served).
	MetricsAddr string

	// Mediation (docs/MEDIATION.md).
	MediationOfferTimeout  time.Duration // MEDIATION_OFFER_TIMEOUT: a mediator's time to accept an offer
	MediationEscalateAfter time.Duration // MEDIATION_ESCALATE_AFTER: waiting time before administrators are alerted

	// Retention is how long closed cases and requests and past events'
	// registrations keep personal data before they are anonymised
	// (RETENTION_DAYS, 1-3650, default 365).
	Retention time.Duration

	// Sending (bot/telegram.go, bot/limit.go).
	SendRate     float64 // SEND_RATE: messages a second in all (default 30; 0 turns the limiter off)
	SendChatRate float64 // SEND_CHAT_RATE: messages a second to one chat (default 1)
	SendRetries  int     // SEND_RETRIES: tries after a failed request (default 5)
	// WebhookMaxConnections is setWebhook's max_connections
	// (WEBHOOK_MAX_CONNECTIONS, 1-100, default 40).
	WebhookMaxConnections int
	// BotAPIConnections is the most connections the bot keeps open to the
	// Bot API for its requests at once (TELEGRAM_CONNECTIONS, 1-4096,
	// default DefaultBotAPIConnections); more requests wait for one. Long
	// polling has one of its own besides.
	BotAPIConnections int
	// HeapBudgetMB is the heap, in MiB, that the Go collector lets a
	// serving bot grow to between collections (GC_HEAP_BUDGET_MB, 0-4096,
	// default DefaultHeapBudgetMB; 0 keeps a fixed GOGC=50; GOGC set in
	// the environment overrides it): app.TuneRuntime.
	HeapBudgetMB int
}

// DefaultHeapBudgetMB is GC_HEAP_BUDGET_MB by default: with 1,000 citizens
// in flight the bot keeps 3-6 MB live by long polling and 7-9 MB behind a
// webhook, and 12 MiB of heap keeps either within the 50 MB of issue 7
// (docs/BENCHMARKS.md, fourteenth round).
const DefaultHeapBudgetMB = 12

// DefaultBotAPIConnections is TELEGRAM_CONNECTIONS by default: enough for
// every worker's reply with a button's answer or an edit beside it
// (bot.NewTelegram).
const DefaultBotAPIConnections = 512

// DefaultWorkers is WORKERS by default with long polling, and
// DefaultWebhookWorkers with a webhook. A worker holds an update until
// every Bot API request of its answer is answered (about two round trips
// to Telegram, tens of milliseconds each), so WORKERS divided by that time
// is the most updates a second the bot handles. Long polling stops short
// of it anyway (about 100 updates a getUpdates round trip: 1,800-1,900/s
// with 50 ms to Telegram); a webhook does not, and at 50 ms 256 workers
// held it at 3,200-3,300 updates/s, 512 at 4,100-4,400 (docs/BENCHMARKS.md,
// seventh round), for about 10 MB more at full load.
const (
	DefaultWorkers        = 256
	DefaultWebhookWorkers = 512
)

// LoadConfig reads the configuration through getenv and validates it.
func LoadConfig(getenv func(string) string) (Config, error) {
	c := Config{
		Token:             strings.TrimSpace(getenv("TELEGRAM_BOT_TOKEN")),
		APIEndpoint:       or(getenv("TELEGRAM_API_ENDPOINT"), DefaultAPIEndpoint),
		DatabasePath:      or(getenv("DATABASE_PATH"), "dostyq.db"),
		DatabaseURL:       strings.TrimSpace(getenv("DATABASE_URL")),
		RedisURL:          strings.TrimSpace(getenv("REDIS_URL")),
		WebhookURL:        strings.TrimSpace(getenv("WEBHOOK_URL")),
		WebhookSecret:     getenv("WEBHOOK_SECRET"),
		ListenAddr:        or(getenv("LISTEN_ADDR"), ":8080"),
		LogFormat:         or(getenv("LOG_FORMAT"), "text"),
		StateTTL:          24 * time.Hour,
		RedisAutoPipeline: true,
		Workers:           DefaultWorkers,
		FloodMessages:     20,
		FloodWindow:       time.Minute,
		MetricsAddr:       strings.TrimSpace(getenv("METRICS_ADDR")),

		MediationOfferTimeout:  2 * time.Hour,
		MediationEscalateAfter: 24 * time.Hour,
		Retention:              365 * 24 * time.Hour,

		SendRate:              30,
		SendChatRate:          1,
		SendRetries:           5,
		WebhookMaxConnections: 40,
		BotAPIConnections:     DefaultBotAPIConnections,
		HeapBudgetMB:          DefaultHeapBudgetMB,
	}
	var errs []error
	for _, f := range strings.FieldsFunc(getenv("ADMIN_IDS"), func(r rune) bool { return r == ',' || r == ' ' }) {
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil || id <= 0 {
			errs = append(errs, fmt.Errorf("ADMIN_IDS: %q is not a Telegram user id", f))
			continue
		}
		c.AdminIDs = append(c.AdminIDs, id)
	}
	if v := or(getenv("LOG_LEVEL"), "info"); c.LogLevel.UnmarshalText([]byte(v)) != nil {
		errs = append(errs, fmt.Errorf("LOG_LEVEL: %q is not one of debug, info, warn, error", v))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("LOG_FORMAT: %q is neither text nor json", c.LogFormat))
	}
	if v := getenv("STATE_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("STATE_TTL: %q is not a positive duration such as 24h", v))
		} else {
			c.StateTTL = d
		}
	}
	if v := getenv("REDIS_AUTOPIPELINE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("REDIS_AUTOPIPELINE: %q is neither true nor false", v))
		} else {
			c.RedisAutoPipeline = b
		}
	}
	if c.WebhookURL != "" {
		c.Workers = DefaultWebhookWorkers
	}
	intIn(getenv, "WORKERS", 1, 1024, &c.Workers, &errs)
	if v := getenv("FLOOD_MESSAGES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("FLOOD_MESSAGES: %q is not a whole number (0 turns flood control off)", v))
		} else {
			c.FloodMessages = n
		}
	}
	if v := getenv("FLOOD_WINDOW"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("FLOOD_WINDOW: %q is not a positive duration such as 1m", v))
		} else {
			c.FloodWindow = d
		}
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{
		{"MEDIATION_OFFER_TIMEOUT", &c.MediationOfferTimeout},
		{"MEDIATION_ESCALATE_AFTER", &c.MediationEscalateAfter},
	} {
		if v := getenv(d.name); v != "" {
			t, err := time.ParseDuration(v)
			if err != nil || t < time.Minute {
				errs = append(errs, fmt.Errorf("%s: %q is not a duration of at least a minute, such as 2h", d.name, v))
			} else {
				*d.dst = t
			}
		}
	}
	if v := getenv("RETENTION_DAYS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 3650 {
			errs = append(errs, fmt.Errorf("RETENTION_DAYS: %q is not a number of days from 1 to 3650", v))
		} else {
			c.Retention = time.Duration(n) * 24 * time.Hour
		}
	}
	if v := getenv("SEND_RATE"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1e6 {
			errs = append(errs, fmt.Errorf("SEND_RATE: %q is not a number of messages a second (0 turns the limit off)", v))
		} else {
			c.SendRate = f
		}
	}
	if v := getenv("SEND_CHAT_RATE"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 || f > 1e6 {
			errs = append(errs, fmt.Errorf("SEND_CHAT_RATE: %q is not a positive number of messages a second", v))
		} else {
			c.SendChatRate = f
		}
	}
	intIn(getenv, "SEND_RETRIES", 0, 100, &c.SendRetries, &errs)
	intIn(getenv, "TELEGRAM_CONNECTIONS", 1, 4096, &c.BotAPIConnections, &errs)
	intIn(getenv, "WEBHOOK_MAX_CONNECTIONS", 1, 100, &c.WebhookMaxConnections, &errs)
	intIn(getenv, "GC_HEAP_BUDGET_MB", 0, 4096, &c.HeapBudgetMB, &errs)
	if strings.Count(c.APIEndpoint, "%s") != 2 || strings.Count(c.APIEndpoint, "%") != 2 ||
		!(strings.HasPrefix(c.APIEndpoint, "https://") || strings.HasPrefix(c.APIEndpoint, "http://")) {
		errs = append(errs, fmt.Errorf("TELEGRAM_API_ENDPOINT: %q must be an http(s) address with two %%s (token, method), like %s", c.APIEndpoint, DefaultAPIEndpoint))
	}
	if c.DatabaseURL != "" {
		// Never repeat the URL: it may carry a password.
		if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
			errs = append(errs, errors.New("DATABASE_URL: not a PostgreSQL URL such as postgres://dostyq:secret@db:5432/dostyq"))
		}
	}
	if c.RedisURL != "" {
		if _, err := redis.ParseURL(c.RedisURL); err != nil {
			errs = append(errs, errors.New("REDIS_URL: not a Redis address such as redis://localhost:6379/0"))
		}
	}
	if _, _, err := net.SplitHostPort(c.ListenAddr); err != nil {
		errs = append(errs, fmt.Errorf("LISTEN_ADDR: %q is not HOST:PORT or :PORT, such as :8080", c.ListenAddr))
	}
	if c.WebhookURL != "" {
		if u, err := url.Parse(c.WebhookURL); err != nil || u.Scheme != "https" || u.Host == "" {
			errs = append(errs, errors.New("WEBHOOK_URL: must be an https:// address, such as https://bot.example.org/telegram"))
		}
		if c.WebhookSecret == "" {
			errs = append(errs, errors.New("WEBHOOK_SECRET: set a secret of 16 to 256 characters (A-Z, a-z, 0-9, _ and -) when WEBHOOK_URL is set"))
		}
	}
	if c.WebhookSecret != "" && !validSecret(c.WebhookSecret) {
		errs = append(errs, errors.New("WEBHOOK_SECRET: must be 16 to 256 characters of A-Z, a-z, 0-9, _ and -"))
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			errs = append(errs, fmt.Errorf("METRICS_ADDR: %q is not host:port such as :9090 or 127.0.0.1:9090", c.MetricsAddr))
		}
	}
	return c, errors.Join(errs...)
}

// intIn sets *dst to the whole number in the environment variable name,
// when it is set, from lo to hi; anything else adds an error saying so.
func intIn(getenv func(string) string, name string, lo, hi int, dst *int, errs *[]error) {
	v := getenv(name)
	if v == "" {
		return
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		*errs = append(*errs, fmt.Errorf("%s: %q is not a number from %d to %d", name, v, lo, hi))
		return
	}
	*dst = n
}

// Database is what storage.Open opens: DATABASE_URL when set, else the
// SQLite file DATABASE_PATH.
func (c Config) Database() string {
	if c.DatabaseURL != "" {
		return c.DatabaseURL
	}
	return c.DatabasePath
}

// validSecret tells whether s is a secret_token Telegram accepts (1-256
// characters of A-Z, a-z, 0-9, _ and -), at least 16 long to resist guessing.
func validSecret(s string) bool {
	if len(s) < 16 || len(s) > 256 {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func or(v, def string) string {
	if v = strings.TrimSpace(v); v != "" {
		return v
	}
	return def
}
