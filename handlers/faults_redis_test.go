package handlers

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/dostyq/dostyq/storage"
)

// When Redis stops answering, every message and button gets "temporarily
// unavailable" in the user's language, quickly, and nothing breaks; the
// database keeps what was committed; when Redis is back the bot carries on
// by itself, without a restart.
func TestRedisUnavailable(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), DialTimeout: time.Second,
		ReadTimeout: time.Second, WriteTimeout: time.Second, MaxRetries: 1})
	t.Cleanup(func() { rdb.Close() })
	c := newChatTest(t, "en", 100)
	c.deps.States = storage.NewRedisStateStore(rdb, time.Hour)
	c.states = c.deps.States
	c.restart()

	c.mediator(2, "Aigerim")
	c.expect(c.submit(10, "@contact "+citizenPhone), "Your case M-000001 was received.")
	// Citizen 11 is in the middle of a request when Redis goes.
	c.expect(c.say("@as 11 ru\n🤝 Медиация\n🙋 Обратиться к медиатору"), "соглас")

	mr.Close()
	for _, tc := range []struct{ user, lang, script, want string }{
		{"11", "ru", "@press 1", "Сервис временно недоступен"},
		{"10", "en", "/start", "The service is temporarily unavailable"},
		{"12", "kk", "Сәлем", "Қызмет уақытша қолжетімсіз"},
		{"2", "en", "/duty", "The service is temporarily unavailable"},
	} {
		start := time.Now()
		out := c.say("@as " + tc.user + " " + tc.lang + "\n" + tc.script)
		c.expect(out, tc.want)
		c.reject(out, "something went wrong", "что-то пошло не так")
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("user %s waited %v for the answer", tc.user, d)
		}
	}
	// Pressed buttons are answered (the toast says the same).
	c.expect(c.forge(11, "lang:ru"), "(notice) Сервис временно недоступен")
	// Committed data is still there.
	if got := c.caseOf(1); got.Status != storage.CaseWaiting {
		t.Fatalf("case after the outage: %+v", got)
	}

	if err := mr.Restart(); err != nil {
		t.Fatal(err)
	}
	// The bot recovers by itself: same handlers, same client.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for rdb.Ping(ctx).Err() != nil && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	out := c.say("@as 11 ru\n/start")
	c.reject(out, "недоступен")
	if !strings.Contains(out, "Главное меню") && !strings.Contains(out, "Добро пожаловать") {
		t.Errorf("after Redis came back /start got:\n%s", out)
	}
	c.expect(c.submit(13, "@contact "+citizenPhone), "Your case M-000002 was received.")
}
