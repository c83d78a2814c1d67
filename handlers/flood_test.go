package handlers

import (
	"context"
	"strings"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/bot"
	"github.com/dostyq/dostyq/storage"
)

func TestFloodControlSlowsOneUserOnly(t *testing.T) {
	c := newChatTest(t, "en")
	c.h.cfg.FloodMessages = 3
	c.h.cfg.FloodWindow = time.Hour

	out := c.say("/about\n/about\n/about")
	if n := strings.Count(out, "1995"); n != 3 {
		t.Fatalf("3 messages within the limit got %d answers:\n%s", n, out)
	}
	out = c.say("/about\n/about\n/about")
	if strings.Count(out, "too fast") != 1 || strings.Contains(out, "1995") {
		t.Fatalf("past the limit: want one slow-down reply and nothing else, got:\n%s", out)
	}
	out = c.say("@as 2 ru\n/about")
	c.expect(out, "1995")
}

// Each photo of an album is an update of its own: two albums a citizen
// sends their mediator (twenty photos) all arrive and leave the limit of
// what they type untouched; album items have a limit of their own, twice
// as large, past which they are slowed down too; a text that claims to be
// an album item (a forged media_group_id) counts as a text.
func TestAlbumsCountApartFromTheFloodLimit(t *testing.T) {
	// Through HandleUpdate (the console), and through HandleUpdateOnce as
	// the dispatcher calls it (dedupe, counter and state in one script).
	for _, once := range []bool{false, true} {
		t.Run(map[bool]string{false: "HandleUpdate", true: "HandleUpdateOnce"}[once], func(t *testing.T) {
			testAlbumsCountApart(t, once)
		})
	}
}

func testAlbumsCountApart(t *testing.T, once bool) {
	c := newChatTest(t, "en", 100)
	c.acceptedCase()
	c.expect(c.say("@as 10 en\n@press ✉️ Write to the mediator"), "photos, documents")
	c.h.cfg.FloodMessages = 10
	c.h.cfg.FloodWindow = time.Hour
	var handler bot.UpdateHandler = c.h
	if once {
		rs, ok := c.states.(*storage.RedisStateStore)
		if !ok {
			t.Fatalf("the test's state store is %T, want Redis", c.states)
		}
		handler = &onceConsole{h: c.h, store: rs}
		c.console.SetHandler(handler)
	}

	var album []string
	for i := range 20 {
		line := "@album " + itoa(int64(1+i/10))
		if i%10 == 0 {
			line += " The fence, side " + itoa(int64(1+i/10))
		}
		album = append(album, line)
	}
	out := c.say(strings.Join(album, "\n"))
	if n, sent := strings.Count(out, "[to 3]"), strings.Count(out, "✓ Sent to"); n != 20 || sent != 20 || strings.Contains(out, "too fast") {
		t.Fatalf("20 album photos: %d copies to the mediator, %d confirmed:\n%s", n, sent, out)
	}
	c.expect(out, "The fence, side 1", "The fence, side 2")

	// Ten texts, one of them with a forged media_group_id: the eleventh
	// is slowed down.
	u := tgbotapi.Update{UpdateID: int(time.Now().UnixNano() % 1e9), Message: &tgbotapi.Message{MessageID: 99000, MediaGroupID: "forged",
		From: &tgbotapi.User{ID: 10, LanguageCode: "en"}, Chat: &tgbotapi.Chat{ID: 10, Type: "private"}, Text: "Forged album text"}}
	handler.HandleUpdate(context.Background(), u)
	out = c.advance(0) + c.say("two\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten")
	if n := strings.Count(out, "[to 3]"); n != 10 || strings.Contains(out, "too fast") {
		t.Fatalf("10 texts after the albums: %d passed on:\n%s", n, out)
	}
	c.expect(c.say("eleven"), "too fast")

	// Album items 21 to 23 with a limit of 20: the 21st is slowed down,
	// the rest dropped.
	out = c.say("@album 3\n@album 3\n@album 3")
	if n := strings.Count(out, "[to 3]"); n != 0 || strings.Count(out, "too fast") != 1 {
		t.Errorf("album items past the limit: %d passed on:\n%s", n, out)
	}
}
