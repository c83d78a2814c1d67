package app

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/dostyq/dostyq/bot"
)

// In webhook mode the bot is ready only while its webhook is registered
// and served.
func TestWebhookReadiness(t *testing.T) {
	var serving atomic.Bool
	check := transportCheck(nil, &serving)
	if err := check(context.Background()); err == nil {
		t.Error("ready before the webhook was set")
	}
	serving.Store(true)
	if err := check(context.Background()); err != nil {
		t.Errorf("not ready while serving: %v", err)
	}
	serving.Store(false)
	if err := check(context.Background()); err == nil {
		t.Error("ready after serving stopped")
	}
}

// Only a webhook with a shared Redis and a shared database (PostgreSQL)
// runs as a replica (chat locks in Redis, the webhook answered once the
// update is handled); long polling, or a webhook on an SQLite file, is one
// process that answers on receipt and keeps users rows in memory.
func TestReplicatedOnlyWithWebhookRedisAndPostgres(t *testing.T) {
	for _, tc := range []struct {
		webhook, redis, db string
		want               bool
	}{
		{"https://bot.example/hook", "redis://r:6379/0", "postgres://pg/dostyq", true},
		{"https://bot.example/hook", "redis://r:6379/0", "", false},
		{"https://bot.example/hook", "", "postgres://pg/dostyq", false},
		{"", "redis://r:6379/0", "postgres://pg/dostyq", false},
	} {
		cfg := bot.Config{WebhookURL: tc.webhook, RedisURL: tc.redis, DatabaseURL: tc.db}
		if got := replicated(cfg); got != tc.want {
			t.Errorf("webhook %q, redis %q, database %q: replicated = %v, want %v", tc.webhook, tc.redis, tc.db, got, tc.want)
		}
	}
}
