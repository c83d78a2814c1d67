package handlers

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/bot"
	"github.com/dostyq/dostyq/locales"
	"github.com/dostyq/dostyq/storage"
	"github.com/dostyq/dostyq/storage/storagetest"
)

// fuzzBot is one bot for a whole fuzz run: administrator 100, mediator 2
// (Astana, Russian, family), coordinator 3 (Astana), citizen 10 with a
// mediation case and a help request, on a real SQLite database and the
// in-memory state store. It records which callback queries were answered
// and whether any update panicked.
type fuzzBot struct {
	h       *Handlers
	console *bot.Console

	mu       sync.Mutex
	answered map[string]bool
	outcomes map[string]int
}

func (b *fuzzBot) AnswerCallback(_ context.Context, id, _ string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.answered[id] = true
	return nil
}

func (b *fuzzBot) Send(context.Context, bot.Message) (int, error) { return 1, nil }

func (b *fuzzBot) ObserveUpdate(_, outcome string, _ time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.outcomes[outcome]++
}

func newFuzzBot(f *testing.F) *fuzzBot {
	f.Helper()
	cat, err := locales.Load()
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	clock := &testClock{now: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)}
	db := storagetest.DBAt(f, filepath.Join(f.TempDir(), "dostyq.db"), clock.Now)
	b := &fuzzBot{answered: map[string]bool{}, outcomes: map[string]int{}}
	// The console drives the setup; the fuzzed updates go straight to
	// HandleUpdate with b as the sender.
	b.console = bot.NewConsole(io.Discard, 10, "en")
	b.h = New(Deps{DB: db, States: storage.NewMemoryStateStore(time.Hour, clock.Now), Sender: b, Catalog: cat,
		Gazetteer: testGazetteer(f), Now: clock.Now, Observer: b,
		Config: Config{AdminIDs: []int64{100}, BotUsername: "dostyq_test_bot", OfferTimeout: 2 * time.Hour, EscalateAfter: 24 * time.Hour},
		Logger: slog.New(slog.DiscardHandler)})
	b.console.SetHandler(b.h)
	err = db.Tx(ctx, func(tx *storage.Tx) error {
		for _, s := range []struct {
			id   int64
			role string
		}{{2, storage.RoleMediator}, {3, storage.RoleCoordinator}} {
			if err := tx.GrantRole(s.id, s.role, 100); err != nil {
				return err
			}
			if err := tx.SaveStaffProfile(storage.StaffProfile{UserID: s.id, DisplayName: "Staff", MaxOpen: 3, OnDuty: true,
				Regions: []string{"astana"}, Languages: []string{"ru"}, Kinds: []string{"family", "food"}}); err != nil {
				return err
			}
			if _, err := tx.SetOnDuty(s.id, true); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		f.Fatal(err)
	}
	script := "@as 10 en\n🤝 Mediation\n🙋 Ask for a mediator\n@press 1\n@press Family\nA quarrel about a fence.\nAstana\n@press Русский\n@press 1\n@press ✅ Confirm\n"
	if err := b.console.Run(ctx, strings.NewReader(script)); err != nil {
		f.Fatal(err)
	}
	if err := b.h.RunDue(ctx); err != nil {
		f.Fatal(err)
	}
	return b
}

// fuzzUsers are the senders a fuzzed update comes from: administrator,
// mediator, coordinator, a citizen with a case, a stranger.
var fuzzUsers = []int64{100, 2, 3, 10, 11}

// update builds the update of kind 0 text, 1 callback, 2 location,
// 3 contact, 4 an empty message, from user (an index into fuzzUsers).
func fuzzUpdate(id int, kind, user uint8, lang, text string, lat, lon float64) tgbotapi.Update {
	from := &tgbotapi.User{ID: fuzzUsers[int(user)%len(fuzzUsers)], FirstName: "F", LanguageCode: lang}
	chat := &tgbotapi.Chat{ID: from.ID, Type: "private"}
	msg := &tgbotapi.Message{MessageID: id, From: from, Chat: chat, Date: 1}
	u := tgbotapi.Update{UpdateID: id}
	switch kind % 5 {
	case 0:
		msg.Text = text
		if strings.HasPrefix(text, "/") {
			cmd, _, _ := strings.Cut(text, " ")
			msg.Entities = []tgbotapi.MessageEntity{{Type: "bot_command", Offset: 0, Length: len([]rune(cmd))}}
		}
		u.Message = msg
	case 1:
		u.CallbackQuery = &tgbotapi.CallbackQuery{ID: "cb" + itoa(int64(id)), From: from, Data: text,
			Message: &tgbotapi.Message{MessageID: int(lat) % 1000, Chat: chat}}
	case 2:
		msg.Location = &tgbotapi.Location{Latitude: lat, Longitude: lon}
		u.Message = msg
	case 3:
		msg.Contact = &tgbotapi.Contact{PhoneNumber: text, FirstName: "F", UserID: from.ID}
		u.Message = msg
	default:
		u.Message = msg
	}
	return u
}

// handle runs one fuzzed update and checks what every update must
// satisfy: no panic, and a pressed button is answered.
func (b *fuzzBot) handle(t *testing.T, u tgbotapi.Update) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b.h.HandleUpdate(ctx, u)
	_ = b.h.RunDue(ctx)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.outcomes[bot.OutcomePanic] > 0 {
		t.Fatalf("update %+v panicked", u)
	}
	if u.CallbackQuery != nil && !b.answered[u.CallbackQuery.ID] {
		t.Fatalf("callback query %q from %d was not answered", u.CallbackQuery.Data, u.CallbackQuery.From.ID)
	}
}

// FuzzHandleUpdate sends arbitrary updates (text, commands, buttons,
// locations, contacts) from every role: the router never panics and
// answers every pressed button.
func FuzzHandleUpdate(f *testing.F) {
	b := newFuzzBot(f)
	for _, s := range []string{"/start", "/start abc", "/help", "/cancel", "/invite mediator", "/invite coordinator", "/stats 7",
		"/profile", "/duty", "/case 1", "/case M-000001", "/newevent", "/events", "/mycases", "/myevents", "/about",
		"🤝 Mediation", "💛 Charity", "Алматы", "Almaty", "◀️ Back", "✖️ Cancel", "", "\u202e\u200b", "/", "//", "/start@dostyq_test_bot",
		strings.Repeat("ж", 5000), "+77011234567", "mo:a:1"} {
		for kind := uint8(0); kind < 5; kind++ {
			f.Add(kind, uint8(3), "ru", s, 43.24, 76.89)
		}
	}
	f.Add(uint8(2), uint8(4), "kk", "", 91.0, -181.0)
	f.Add(uint8(2), uint8(1), "en", "", 51.17, 71.43)
	id := 1000
	f.Fuzz(func(t *testing.T, kind, user uint8, lang, text string, lat, lon float64) {
		id++
		b.handle(t, fuzzUpdate(id, kind, user, lang, text, lat, lon))
	})
}

// FuzzCallbackData presses buttons with arbitrary callback data, as a
// forged or stale button would, from every role: decoding never panics and
// the button is always answered.
func FuzzCallbackData(f *testing.F) {
	b := newFuzzBot(f)
	for _, s := range []string{"lang:kk", "lang:xx", "mo:a:1", "mo:d:1", "mo:r:1:busy", "mo:a:-1", "mo:a:99999999999999999999",
		"mc:w:1", "mc:c:1", "mc:x:1", "mc:X:1", "mc:k:1", "mc:o:1:agreed", "mc:o:1:", "mr:1:5", "mr:1:0", "mr:1:99",
		"ma:rm:2", "ma:RM:2", "ma:rm:100", "help:t:1", "help:th:1", "help:v:1", "help:ok:1", "help:no:1", "help:w:1", "help:wy:1", "help:wn:1",
		"ev:v:1", "ev:r:1", "ev:w:1", "ev:u:1", "ev:U:1", "ev:x:1", "ev:k:1", "ev:e:1", "ev:m:1", "ev:c:1", "ev:C:1", "ev:p:5:43.2:76.9", "ev:p:-5:NaN:Inf",
		"dir:more:1", "dir:s1", "f:ok", "f:back", "f:cancel", "f:", ":", "", "::::", "mc", "mo:", "help:", "ev:p"} {
		for user := uint8(0); user < uint8(len(fuzzUsers)); user++ {
			f.Add(user, s)
		}
	}
	id := 1 << 20
	f.Fuzz(func(t *testing.T, user uint8, data string) {
		id++
		b.handle(t, fuzzUpdate(id, 1, user, "ru", data, 1, 0))
	})
}

// FuzzContactPhone: a shared contact's number is refused or becomes + and
// 8 to 15 digits; a mediation contact keeps only + and digits. (Typed
// numbers: FuzzParsePhone in charity_test.go.)
func FuzzContactPhone(f *testing.F) {
	for _, s := range []string{"+77011234567", "87011234567", "8 (701) 123-45-67", "77011234567", "+7 701 123 45 67",
		"+79161234567", "7011234567", "", "+", "++77011234567", "+7\u00a0701\u00a0123\u00a045\u00a067", "٨٧٠١١٢٣٤٥٦٧", "\xff", "447911123456"} {
		f.Add(s)
	}
	contact := regexp.MustCompile(`^\+\d{8,15}$`)
	f.Fuzz(func(t *testing.T, s string) {
		if p, ok := contactPhone(s); ok && !contact.MatchString(p) {
			t.Fatalf("contactPhone(%q) = %q", s, p)
		}
		if p := normalisePhone(s); p != "" && strings.Trim(p, "+0123456789") != "" {
			t.Fatalf("normalisePhone(%q) = %q", s, p)
		}
	})
}
