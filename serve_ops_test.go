package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dostyq/dostyq/bot/bottest"
)

// httpGet waits for url to answer (the endpoints start with the bot) and
// returns the status and body.
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode, string(body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// What the people who run the bot rely on, through `dostyq serve`: the
// command menus in three languages, /healthz, /readyz and /metrics, staff
// menus when an invite is used, and notifications sent by the background
// worker.
func TestServeRegistersMenusServesHealthAndSendsNotifications(t *testing.T) {
	srv := newFake(t, bottest.Options{})
	addr := freeAddr(t)
	const admin = 5001
	s := startServe(t, srv, map[string]string{"METRICS_ADDR": addr, "ADMIN_IDS": "5001"})
	citizen := bottest.User{ID: 5002, LanguageCode: "ru"}

	// The first update handled means the start-up (menus) is done.
	srv.SendText(citizen, "/start")
	s.next(citizen.ID)
	for _, lang := range []string{"", "kk", "ru", "en"} {
		cmds := srv.Commands(0, lang)
		if len(cmds) < 5 || cmds[0].Command != "start" {
			t.Errorf("command menu for language %q: %+v", lang, cmds)
		}
		for _, c := range cmds {
			if c.Command == "invite" || c.Command == "audit" {
				t.Errorf("everyone's menu (%q) lists the staff command /%s", lang, c.Command)
			}
		}
	}
	if ru := srv.Commands(0, "ru"); len(ru) > 0 && ru[0].Description != s.cat.T("ru", "cmd.start", nil) {
		t.Errorf("Russian menu says %q", ru[0].Description)
	}
	hasInvite := false
	for _, c := range srv.Commands(admin, "en") {
		hasInvite = hasInvite || c.Command == "invite"
	}
	if !hasInvite {
		t.Errorf("the administrator's own menu lacks /invite: %+v", srv.Commands(admin, "en"))
	}

	if code, _ := httpGet(t, "http://"+addr+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d", code)
	}
	var ready int
	for i := 0; i < 100; i++ {
		if ready, _ = httpGet(t, "http://"+addr+"/readyz"); ready == http.StatusOK {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if ready != http.StatusOK {
		t.Errorf("/readyz: %d while polling works", ready)
	}

	// An administrator invites a mediator; the mediator opens the link;
	// the administrator is told (a notification through the outbox).
	adminUser := bottest.User{ID: admin, LanguageCode: "en"}
	srv.SendText(adminUser, "/start")
	for e := s.next(admin); !strings.Contains(e.Text, s.cat.T("en", "language.choose", nil)); e = s.next(admin) {
	}
	srv.SendText(adminUser, "/invite mediator")
	invite := s.next(admin)
	code := regexp.MustCompile(`start=(inv\w+)`).FindStringSubmatch(invite.Text)
	if code == nil {
		t.Fatalf("no invite link in %q", invite.Text)
	}
	mediator := bottest.User{ID: 5003, LanguageCode: "en"}
	srv.SendText(mediator, "/start "+code[1])
	s.next(mediator.ID)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		e, err := srv.Next(ctx, admin)
		if err != nil {
			t.Fatalf("the administrator was not told the invite was used: %v", err)
		}
		if strings.Contains(e.Text, "5003") {
			break
		}
	}
	hasDuty := false
	for i := 0; i < 100 && !hasDuty; i++ {
		for _, c := range srv.Commands(mediator.ID, "en") {
			hasDuty = hasDuty || c.Command == "duty"
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !hasDuty {
		t.Errorf("the new mediator's menu lacks /duty: %+v", srv.Commands(mediator.ID, "en"))
	}

	_, metrics := httpGet(t, "http://"+addr+"/metrics")
	for _, want := range []string{"dostyq_updates_total", "dostyq_messages_sent_total", "dostyq_outbox_backlog",
		`dostyq_database_errors_total{db="sqlite"} 0`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(metrics, srv.Token()) {
		t.Error("/metrics shows the token")
	}
}

// `dostyq healthcheck` (Docker's HEALTHCHECK) succeeds while the bot
// serves /healthz and fails clearly when nothing answers.
func TestHealthcheckCommand(t *testing.T) {
	srv := newFake(t, bottest.Options{})
	addr := freeAddr(t)
	env := map[string]string{"METRICS_ADDR": addr}
	getenv := serveEnv(t, srv, env)
	stderr := &lockedBuffer{}
	if code := run(context.Background(), []string{"healthcheck"}, strings.NewReader(""), io.Discard, stderr, getenv); code == 0 {
		t.Fatal("healthcheck succeeded with no bot running")
	}
	s := startServe(t, srv, env)
	httpGet(t, "http://"+addr+"/healthz")
	stderr = &lockedBuffer{}
	if code := run(context.Background(), []string{"healthcheck"}, strings.NewReader(""), io.Discard, stderr, getenv); code != 0 {
		t.Fatalf("healthcheck of a running bot: exit %d: %s", code, stderr.String())
	}
	s.stop()
	noAddr := serveEnv(t, srv, nil)
	stderr = &lockedBuffer{}
	if code := run(context.Background(), []string{"healthcheck"}, strings.NewReader(""), io.Discard, stderr, noAddr); code == 0 || !strings.Contains(stderr.String(), "METRICS_ADDR") {
		t.Errorf("healthcheck without METRICS_ADDR: exit %d, %q", code, stderr.String())
	}
}
