package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dostyq/dostyq/bot/bottest"
)

// inviteAndRedeem has administrator admin invite a mediator and mediator
// open the link, and returns after the mediator got their first answer.
// The administrator's notice that the invite was used goes through the
// outbox.
func inviteAndRedeem(t *testing.T, s *served, admin, mediator bottest.User) {
	t.Helper()
	s.srv.SendText(admin, "/invite mediator")
	var code []string
	for code == nil {
		e := s.next(admin.ID)
		code = regexp.MustCompile(`start=(inv\w+)`).FindStringSubmatch(e.Text)
	}
	s.srv.SendText(mediator, "/start "+code[1])
	s.next(mediator.ID)
}

// noticesTo counts the messages to chat that Telegram accepted and that
// contain text.
func noticesTo(srv *bottest.Server, chat int64, text string) int {
	n := 0
	for _, c := range srv.Calls("sendMessage") {
		if c.Status == 200 && c.Params.Get("chat_id") == itoa64(chat) && strings.Contains(c.Params.Get("text"), text) {
			n++
		}
	}
	return n
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// Telegram down and slow: getUpdates fails with 500, 502 and 429 and
// every answer takes 150 ms; sendMessage fails with 500 and 429 in the
// middle of notifications. Polling backs off and resumes by itself, the
// outbox keeps the notifications until Telegram takes them, and each is
// delivered once.
func TestServeRidesOutTelegramFaults(t *testing.T) {
	srv := newFake(t, bottest.Options{Delay: 150 * time.Millisecond})
	for _, f := range []struct {
		code  int
		desc  string
		after int
	}{{500, "Internal Server Error", 0}, {502, "Bad Gateway", 0}, {429, "Too Many Requests: retry after 1", 1}, {500, "Internal Server Error", 0}} {
		srv.Fail("getUpdates", f.code, f.desc, f.after)
	}
	s := startServe(t, srv, map[string]string{"ADMIN_IDS": "6001", "SEND_RETRIES": "1"})
	admin := bottest.User{ID: 6001, LanguageCode: "en"}
	start := time.Now()
	srv.SendText(admin, "/start")
	s.next(admin.ID)
	t.Logf("first answer after getUpdates failed 4 times: %v", time.Since(start).Round(time.Millisecond))
	failed := 0
	for _, c := range srv.Calls("getUpdates") {
		if c.Status != 200 {
			failed++
		}
	}
	if failed != 4 {
		t.Errorf("getUpdates failed %d times, want 4", failed)
	}

	// Notifications while sendMessage fails: 3 mediators join, each
	// join is a notice to the administrator.
	for i := int64(1); i <= 3; i++ {
		srv.Fail("sendMessage", 500, "Internal Server Error", 0)
		srv.Fail("sendMessage", 429, "Too Many Requests: retry after 1", 1)
		srv.Fail("sendMessage", 500, "Internal Server Error", 0)
		inviteAndRedeem(t, s, admin, bottest.User{ID: 6100 + i, LanguageCode: "ru"})
	}
	deadline := time.Now().Add(40 * time.Second)
	for {
		got := 0
		for i := int64(1); i <= 3; i++ {
			if noticesTo(srv, admin.ID, itoa64(6100+i)) > 0 {
				got++
			}
		}
		if got == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 3 notices delivered; stderr:\n%s", got, s.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for i := int64(1); i <= 3; i++ {
		if n := noticesTo(srv, admin.ID, itoa64(6100+i)); n != 1 {
			t.Errorf("the notice about %d was delivered %d times", 6100+i, n)
		}
	}
	if strings.Contains(s.stderr.String(), srv.Token()) {
		t.Error("the log shows the token")
	}
}

// SIGTERM (the context of serve cancelled) while updates are in flight:
// the bot takes no new update, finishes those it took, sends the outbox
// and exits within 10 s.
func TestServeStopsGracefully(t *testing.T) {
	srv := newFake(t, bottest.Options{Delay: 100 * time.Millisecond})
	s := startServe(t, srv, map[string]string{"ADMIN_IDS": "7001"})
	admin := bottest.User{ID: 7001, LanguageCode: "en"}
	srv.SendText(admin, "/start")
	s.next(admin.ID)
	// Ten citizens write at once; the bot is stopped as soon as the first
	// answer arrives, with the others in flight.
	for i := int64(1); i <= 10; i++ {
		srv.SendText(bottest.User{ID: 7100 + i, LanguageCode: "kk"}, "/start")
	}
	s.next(7101)
	// And a mediator joins: a notice to the administrator in the outbox.
	srv.SendText(admin, "/invite mediator")
	var code []string
	for code == nil {
		code = regexp.MustCompile(`start=(inv\w+)`).FindStringSubmatch(s.next(admin.ID).Text)
	}
	srv.SendText(bottest.User{ID: 7200, LanguageCode: "en"}, "/start "+code[1])
	s.next(7200)
	stopped := time.Now()
	if code := s.stop(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	took := time.Since(stopped)
	t.Logf("stopped in %v", took.Round(time.Millisecond))
	if took > 10*time.Second {
		t.Errorf("stopping took %v, over 10 s", took)
	}
	for i := int64(1); i <= 10; i++ {
		if len(srv.Calls("sendMessage")) == 0 || noticesTo(srv, 7100+i, "") == 0 {
			t.Errorf("citizen %d got no answer", 7100+i)
		}
	}
	if noticesTo(srv, admin.ID, "7200") != 1 {
		t.Errorf("the notice of the new mediator was not sent before exit")
	}
	// Updates sent after the stop stay with Telegram for the next start.
	before := len(srv.Calls("getUpdates"))
	srv.SendText(admin, "/help")
	time.Sleep(300 * time.Millisecond)
	if after := len(srv.Calls("getUpdates")); after != before {
		t.Errorf("getUpdates called %d times after the bot stopped", after-before)
	}
}
