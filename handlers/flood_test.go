package handlers

import (
	"strings"
	"testing"
	"time"
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
