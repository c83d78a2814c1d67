package app

import (
	"context"
	"sync/atomic"
	"testing"
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
