package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// runMain runs the program with args, stdin and environment env.
func runMain(t *testing.T, env map[string]string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errOut, func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

func TestHelpPrintsUsage(t *testing.T) {
	for _, arg := range []string{"help", "--help", "-h"} {
		// Help works even when the configuration is broken.
		code, out, _ := runMain(t, map[string]string{"WORKERS": "many"}, "", arg)
		if code != 0 {
			t.Errorf("%s: exit %d", arg, code)
		}
		for _, want := range []string{"dostyq [serve]", "dostyq chat", "--user ID", "dostyq backup PATH", "dostyq restore"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: usage lacks %q:\n%s", arg, want, out)
			}
		}
	}
}

func TestUnknownCommandExits2(t *testing.T) {
	code, out, errOut := runMain(t, nil, "", "frobnicate")
	if code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	if out != "" || !strings.Contains(errOut, `unknown command "frobnicate"`) || !strings.Contains(errOut, "dostyq chat") {
		t.Errorf("stdout %q, stderr:\n%s", out, errOut)
	}
}

func TestBadConfigurationExits2(t *testing.T) {
	code, _, errOut := runMain(t, map[string]string{"FLOOD_WINDOW": "soon"}, "", "chat")
	if code != 2 || !strings.Contains(errOut, "FLOOD_WINDOW") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
}

func TestServeWithoutTokenNamesTheVariable(t *testing.T) {
	for _, args := range [][]string{nil, {"serve"}} {
		code, _, errOut := runMain(t, map[string]string{"DATABASE_PATH": filepath.Join(t.TempDir(), "d.db")}, "", args...)
		if code == 0 {
			t.Errorf("%v: exit 0 without a token", args)
		}
		if !strings.Contains(errOut, "TELEGRAM_BOT_TOKEN") || !strings.Contains(errOut, "dostyq chat") {
			t.Errorf("%v: stderr does not name the variable and point at dostyq chat:\n%s", args, errOut)
		}
	}
}

// The console chat on a fresh database: the greeting and menu in the client
// language (kk), then a language chosen with a button and the menu again in
// it, then /about in that language. A second run on the same database
// remembers the language.
func TestChatScript(t *testing.T) {
	db := filepath.Join(t.TempDir(), "chat.db")
	env := map[string]string{"DATABASE_PATH": db}
	code, out, errOut := runMain(t, env, "/start\n/language\n@press Русский\n/about\n", "chat")
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	if errOut != "" {
		t.Errorf("stderr: %s", errOut)
	}
	steps := []string{
		"[🏠 Достық үйлері]",                               // /start: menu in kk
		"(1) Қазақша  (2) Русский  (3) English",           // first greeting offers the languages
		"(1) Қазақша  (2) Русский  (3) English",           // /language
		"Теперь язык — русский.",                          // the press
		"[🏠 Дома дружбы]",                                 // menu in ru
		"Ассамблея народа Казахстана создана в 1995 году", // /about in ru
	}
	rest := out
	for _, s := range steps {
		i := strings.Index(rest, s)
		if i < 0 {
			t.Fatalf("output lacks %q after the earlier steps; output:\n%s", s, out)
		}
		rest = rest[i+len(s):]
	}

	code, out, _ = runMain(t, env, "/about\n", "chat", "--lang", "en")
	if code != 0 || !strings.Contains(out, "Ассамблея народа Казахстана") {
		t.Errorf("second run on the same database forgot the language (exit %d):\n%s", code, out)
	}
	code, out, _ = runMain(t, env, "/start\n", "chat", "--db", filepath.Join(t.TempDir(), "other.db"), "--user", "5", "--lang", "en")
	if code != 0 || !strings.Contains(out, "[🏠 Houses of Friendship]") {
		t.Errorf("--db, --user, --lang: exit %d, output:\n%s", code, out)
	}
}

// Answers pressed in a flow mark their question in the console too, in
// order: the consent, then the kind of conflict (EditAside).
func TestChatMarksThePressedAnswers(t *testing.T) {
	env := map[string]string{"DATABASE_PATH": filepath.Join(t.TempDir(), "chat.db")}
	code, out, errOut := runMain(t, env, "/start\n🤝 Mediation\n🙋 Ask for a mediator\n@press 1\n@press Family\n", "chat", "--lang", "en")
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s\noutput:\n%s", code, errOut, out)
	}
	rest := out
	for _, s := range []string{"(edited)", "What kind of conflict is it?", "(edited) What kind of conflict is it?\nFamily"} {
		i := strings.Index(rest, s)
		if i < 0 {
			t.Fatalf("output lacks %q after the earlier steps; output:\n%s", s, out)
		}
		rest = rest[i+len(s):]
	}
}

func TestChatRejectsBadFlags(t *testing.T) {
	env := map[string]string{"DATABASE_PATH": filepath.Join(t.TempDir(), "d.db")}
	if code, _, errOut := runMain(t, env, "", "chat", "--user", "0"); code == 0 || !strings.Contains(errOut, "--user") {
		t.Errorf("--user 0: exit %d, stderr %q", code, errOut)
	}
	if code, _, _ := runMain(t, env, "", "chat", "--nope"); code == 0 {
		t.Error("unknown flag accepted")
	}
}
