package bot

import (
	"net/http"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Update kinds, the "type" label of dostyq_updates_total.
const (
	KindMessage  = "message"
	KindCallback = "callback"
	KindLocation = "location"
	KindContact  = "contact"
	KindOther    = "other"
)

// Update outcomes, the "outcome" label of dostyq_updates_total.
const (
	OutcomeOK        = "ok"        // handled (a refused input with a clear reply included)
	OutcomeError     = "error"     // an internal fault: the user was told something went wrong
	OutcomePanic     = "panic"     // a handler panicked and was recovered
	OutcomeFlooded   = "flooded"   // dropped by flood control
	OutcomeDuplicate = "duplicate" // a repeated update_id, not handled again
	OutcomeIgnored   = "ignored"   // not for the bot: channel posts, groups, edits, other bots
)

var (
	updateKinds    = []string{KindMessage, KindCallback, KindLocation, KindContact, KindOther}
	updateOutcomes = []string{OutcomeOK, OutcomeError, OutcomePanic, OutcomeFlooded, OutcomeDuplicate, OutcomeIgnored}
)

// UpdateKind tells what an update is, for metrics and logs.
func UpdateKind(u tgbotapi.Update) string {
	switch {
	case u.CallbackQuery != nil:
		return KindCallback
	case u.Message != nil && u.Message.Location != nil:
		return KindLocation
	case u.Message != nil && u.Message.Contact != nil:
		return KindContact
	case u.Message != nil:
		return KindMessage
	}
	return KindOther
}

// Metrics are the bot's Prometheus metrics, in a registry of their own.
// Every method is safe on a nil *Metrics, which records nothing, so code
// paths run without metrics (the console, tests) need no checks.
type Metrics struct {
	reg *prometheus.Registry

	updates      *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	sent         *prometheus.CounterVec
	sendErrors   *prometheus.CounterVec
	tooMany      prometheus.Counter
	retries      prometheus.Counter
	schedulerLag prometheus.Histogram
	redisErrors  prometheus.Counter
	dbErrors     *prometheus.CounterVec

	mu            sync.Mutex
	outbox        func() (backlog int, oldest time.Duration, err error)
	conversations func() (int, error)
}

// NewMetrics builds the metrics and their registry, with the Go runtime and
// process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		updates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dostyq_updates_total",
			Help: "Telegram updates by type (message, callback, location, contact, other) and outcome (ok, error, panic, flooded, duplicate, ignored).",
		}, []string{"type", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "dostyq_handler_duration_seconds",
			Help:    "Time to handle one update, replies included, by update type.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"type"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dostyq_messages_sent_total",
			Help: "Bot API calls that succeeded, by method (sendMessage, editMessageText, sendVenue, ...).",
		}, []string{"method"}),
		sendErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dostyq_send_errors_total",
			Help: "Bot API calls that failed for good (after retries), by method.",
		}, []string{"method"}),
		tooMany: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dostyq_telegram_429_total",
			Help: "Bot API answers 429 Too Many Requests (each is waited out and retried).",
		}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dostyq_send_retries_total",
			Help: "Bot API calls retried after a 429, a 5xx or a network error.",
		}),
		schedulerLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "dostyq_scheduler_lag_seconds",
			Help:    "How late a timer (reminder, reassignment, retention job) ran after its due time.",
			Buckets: []float64{.1, .5, 1, 5, 15, 30, 60, 300, 900, 3600},
		}),
		redisErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dostyq_redis_errors_total",
			Help: "Failed Redis operations (conversation state, dedupe, flood counters).",
		}),
		dbErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dostyq_database_errors_total",
			Help: "Failed database queries, by database (sqlite, postgres); not those the caller gave up on (cancelled, past the deadline).",
		}, []string{"db"}),
	}
	for _, k := range updateKinds {
		m.latency.WithLabelValues(k)
		for _, o := range updateOutcomes {
			m.updates.WithLabelValues(k, o) // every series exists from the start, at 0
		}
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.updates, m.latency, m.sent, m.sendErrors, m.tooMany, m.retries,
		m.schedulerLag, m.redisErrors, m.dbErrors,
		&callbackCollector{m: m},
	)
	return m
}

// Registry is the registry holding every metric of m.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text format. A nil m serves 404.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// ObserveUpdate records one update of kind with its outcome and the time it
// took. Unknown kinds count as "other", unknown outcomes as "error", so a
// label never grows without bound. Duplicates are counted without a
// duration: they were not handled.
func (m *Metrics) ObserveUpdate(kind, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	kind = oneOf(kind, updateKinds, KindOther)
	outcome = oneOf(outcome, updateOutcomes, OutcomeError)
	m.updates.WithLabelValues(kind, outcome).Inc()
	if outcome != OutcomeDuplicate {
		m.latency.WithLabelValues(kind).Observe(d.Seconds())
	}
}

// MessageSent records a successful Bot API call of method.
func (m *Metrics) MessageSent(method string) {
	if m != nil {
		m.sent.WithLabelValues(method).Inc()
	}
}

// SendError records a Bot API call of method that failed for good.
func (m *Metrics) SendError(method string) {
	if m != nil {
		m.sendErrors.WithLabelValues(method).Inc()
	}
}

// TooManyRequests records a 429 answer from the Bot API.
func (m *Metrics) TooManyRequests() {
	if m != nil {
		m.tooMany.Inc()
	}
}

// SendRetry records a retried Bot API call.
func (m *Metrics) SendRetry() {
	if m != nil {
		m.retries.Inc()
	}
}

// SchedulerLag records how late a timer ran after its due time.
func (m *Metrics) SchedulerLag(d time.Duration) {
	if m != nil {
		m.schedulerLag.Observe(max(d, 0).Seconds())
	}
}

// RedisError records a failed Redis operation.
func (m *Metrics) RedisError() {
	if m != nil {
		m.redisErrors.Inc()
	}
}

// Databases, the "db" label of dostyq_database_errors_total.
var databases = []string{"sqlite", "postgres"}

// DatabaseErrors returns the function that records a failed query of db
// ("sqlite" or "postgres"; anything else counts as "other"), for
// storage.DB.OnError. The series exists from then on, at 0.
func (m *Metrics) DatabaseErrors(db string) func() {
	if m == nil {
		return func() {}
	}
	c := m.dbErrors.WithLabelValues(oneOf(db, databases, "other"))
	return c.Inc
}

// SetOutbox sets the function read at every scrape for the outbox gauges:
// how many messages wait to be sent and how long the oldest has waited.
// When it fails, the gauges are left out of that scrape (alert on absent()).
func (m *Metrics) SetOutbox(f func() (backlog int, oldest time.Duration, err error)) {
	if m != nil {
		m.mu.Lock()
		m.outbox = f
		m.mu.Unlock()
	}
}

// SetConversations sets the function read at every scrape for the number of
// users in the middle of a conversation flow.
func (m *Metrics) SetConversations(f func() (int, error)) {
	if m != nil {
		m.mu.Lock()
		m.conversations = f
		m.mu.Unlock()
	}
}

func oneOf(v string, allowed []string, fallback string) string {
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	return fallback
}

// callbackCollector reports the gauges whose values are read at scrape time
// from the functions given to SetOutbox and SetConversations, each function
// called once per scrape.
type callbackCollector struct{ m *Metrics }

var (
	outboxBacklogDesc = prometheus.NewDesc("dostyq_outbox_backlog",
		"Messages waiting in the outbox to be sent.", nil, nil)
	outboxOldestDesc = prometheus.NewDesc("dostyq_outbox_oldest_age_seconds",
		"Age of the oldest message waiting in the outbox (0 when empty).", nil, nil)
	conversationsDesc = prometheus.NewDesc("dostyq_active_conversations",
		"Users in the middle of a conversation flow.", nil, nil)
)

func (c *callbackCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxBacklogDesc
	ch <- outboxOldestDesc
	ch <- conversationsDesc
}

func (c *callbackCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	outbox, conversations := c.m.outbox, c.m.conversations
	c.m.mu.Unlock()
	if outbox != nil {
		if n, age, err := outbox(); err == nil {
			ch <- prometheus.MustNewConstMetric(outboxBacklogDesc, prometheus.GaugeValue, float64(n))
			ch <- prometheus.MustNewConstMetric(outboxOldestDesc, prometheus.GaugeValue, max(age, 0).Seconds())
		}
	}
	if conversations != nil {
		if n, err := conversations(); err == nil {
			ch <- prometheus.MustNewConstMetric(conversationsDesc, prometheus.GaugeValue, float64(n))
		}
	}
}
