package bot

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/locales"
)

const testToken = "123456:TEST-token-never-logged"

// commandCall is one setMyCommands or deleteMyCommands request as the Bot
// API server received it.
type commandCall struct {
	Method   string
	Scope    tgbotapi.BotCommandScope
	Lang     string
	Commands []tgbotapi.BotCommand
}

// commandServer is a minimal Bot API server that records the command-menu
// requests the real tgbotapi client makes.
type commandServer struct {
	*httptest.Server
	mu    sync.Mutex
	calls []commandCall
	fail  bool
}

func newCommandServer(t *testing.T) (*commandServer, *tgbotapi.BotAPI) {
	t.Helper()
	s := &commandServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method, ok := strings.CutPrefix(r.URL.Path, "/bot"+testToken+"/")
		if !ok {
			http.NotFound(w, r)
			return
		}
		if err := r.ParseForm(); err != nil {
			t.Errorf("%s: bad form: %v", method, err)
		}
		w.Header().Set("Content-Type", "application/json")
		switch method {
		case "getMe":
			w.Write([]byte(`{"ok":true,"result":{"id":1,"is_bot":true,"first_name":"Dostyq","username":"dostyq_test_bot"}}`))
			return
		case "setMyCommands", "deleteMyCommands":
		default:
			t.Errorf("unexpected Bot API call %s", method)
		}
		c := commandCall{Method: method, Lang: r.PostForm.Get("language_code")}
		if err := json.Unmarshal([]byte(r.PostForm.Get("scope")), &c.Scope); err != nil {
			t.Errorf("%s: scope %q: %v", method, r.PostForm.Get("scope"), err)
		}
		if method == "setMyCommands" {
			if err := json.Unmarshal([]byte(r.PostForm.Get("commands")), &c.Commands); err != nil {
				t.Errorf("%s: commands: %v", method, err)
			}
		}
		s.mu.Lock()
		s.calls = append(s.calls, c)
		fail := s.fail
		s.mu.Unlock()
		if fail {
			w.Write([]byte(`{"ok":false,"error_code":400,"description":"Bad Request: BOT_COMMAND_INVALID"}`))
			return
		}
		w.Write([]byte(`{"ok":true,"result":true}`))
	}))
	t.Cleanup(s.Close)
	api, err := tgbotapi.NewBotAPIWithClient(testToken, s.URL+"/bot%s/%s", s.Client())
	if err != nil {
		t.Fatal(err)
	}
	return s, api
}

func (s *commandServer) take() []commandCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls
	s.calls = nil
	return c
}

func catalog(t *testing.T) *locales.Catalog {
	t.Helper()
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func names(cmds []tgbotapi.BotCommand) string {
	var n []string
	for _, c := range cmds {
		n = append(n, c.Command)
	}
	return strings.Join(n, " ")
}

func description(cmds []tgbotapi.BotCommand, name string) string {
	for _, c := range cmds {
		if c.Command == name {
			return c.Description
		}
	}
	return ""
}

func TestSetCommandsRegistersEveryLanguageAndADefault(t *testing.T) {
	srv, api := newCommandServer(t)
	if err := SetCommands(context.Background(), api, catalog(t), DefaultCommandMenu()); err != nil {
		t.Fatal(err)
	}
	calls := srv.take()
	want := map[string]string{"": "Тілді ауыстыру", "kk": "Тілді ауыстыру", "ru": "Сменить язык", "en": "Change the language"}
	if len(calls) != len(want) {
		t.Fatalf("want %d setMyCommands calls (default, kk, ru, en), got %+v", len(want), calls)
	}
	for _, c := range calls {
		if c.Method != "setMyCommands" || c.Scope.Type != "default" {
			t.Errorf("call %+v: want setMyCommands with the default scope", c)
		}
		if got := description(c.Commands, "language"); got != want[c.Lang] {
			t.Errorf("language_code %q: /language is described %q, want %q", c.Lang, got, want[c.Lang])
		}
		if got := names(c.Commands); got != "start help about language cancel cases requests myevents mydata forget" {
			t.Errorf("language_code %q: everyone's menu is %q", c.Lang, got)
		}
		delete(want, c.Lang)
	}
	if len(want) > 0 {
		t.Errorf("no menu registered for language codes %v", want)
	}
}

func TestStaffGetTheirCommandsInTheirOwnChatOnly(t *testing.T) {
	srv, api := newCommandServer(t)
	ctx := context.Background()
	if err := SetChatCommands(ctx, api, catalog(t), DefaultCommandMenu(), 777, RoleMediator, RoleAdmin); err != nil {
		t.Fatal(err)
	}
	calls := srv.take()
	if len(calls) != 4 {
		t.Fatalf("want 4 setMyCommands calls (no language, kk, ru, en), got %+v", calls)
	}
	for _, c := range calls {
		if c.Method != "setMyCommands" || c.Scope != (tgbotapi.BotCommandScope{Type: "chat", ChatID: 777}) {
			t.Errorf("call %+v: want setMyCommands for chat 777 only", c)
		}
		got := names(c.Commands)
		if got != "start help about language cancel cases requests myevents mydata forget profile duty invite mediators coordinators case stats audit" {
			t.Errorf("language_code %q: a mediator and admin's menu is %q", c.Lang, got)
		}
	}

	// The last role removed: the chat's own menu is deleted in every language.
	menus := ChatMenus{API: api, Translator: catalog(t), Menu: DefaultCommandMenu()}
	if err := menus.SetRoles(ctx, 777); err != nil {
		t.Fatal(err)
	}
	calls = srv.take()
	langs := map[string]bool{}
	for _, c := range calls {
		if c.Method != "deleteMyCommands" || c.Scope != (tgbotapi.BotCommandScope{Type: "chat", ChatID: 777}) {
			t.Errorf("call %+v: want deleteMyCommands for chat 777", c)
		}
		langs[c.Lang] = true
	}
	if len(calls) != 4 || !langs[""] || !langs["kk"] || !langs["ru"] || !langs["en"] {
		t.Errorf("want deleteMyCommands with no language, kk, ru and en; got %+v", calls)
	}
}

func TestCommandMenuOnlyListsKnownCommands(t *testing.T) {
	known := map[string]bool{"start": true, "help": true, "duty": true}
	m := DefaultCommandMenu().Only(func(n string) bool { return known[n] })
	if got := names(m.commands(catalog(t), "en", []string{RoleMediator, RoleCoordinator})); got != "start help duty" {
		t.Fatalf("menu of known commands: %q", got)
	}
}

func TestEveryMenuCommandIsDescribedInEveryLanguage(t *testing.T) {
	cat := catalog(t)
	valid := regexp.MustCompile(`^[a-z0-9_]{1,32}$`)
	m := DefaultCommandMenu()
	all := append([]string{}, m.Everyone...)
	for _, cmds := range m.Roles {
		all = append(all, cmds...)
	}
	for _, name := range all {
		if !valid.MatchString(name) {
			t.Errorf("command %q is not a valid Telegram command", name)
		}
		for _, lang := range locales.Supported {
			d := cat.T(lang, "cmd."+name, nil)
			if d == "cmd."+name || d == "" || utf8.RuneCountInString(d) > 256 {
				t.Errorf("/%s in %s: description %q missing or longer than 256 characters", name, lang, d)
			}
		}
	}
}

func TestCommandErrorsDoNotCarryTheToken(t *testing.T) {
	srv, api := newCommandServer(t)
	srv.mu.Lock()
	srv.fail = true
	srv.mu.Unlock()
	err := SetCommands(context.Background(), api, catalog(t), DefaultCommandMenu())
	if err == nil || !strings.Contains(err.Error(), "BOT_COMMAND_INVALID") {
		t.Fatalf("a refused setMyCommands must be reported, got %v", err)
	}
	srv.Close() // now every request fails on the network
	err = DeleteChatCommands(context.Background(), api, 777)
	if err == nil {
		t.Fatal("a network failure must be reported")
	}
	if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), "TEST-token") {
		t.Fatalf("error carries the bot token: %v", err)
	}
}
