package handlers

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dostyq/dostyq/bot"
	"github.com/dostyq/dostyq/locales"
	"github.com/dostyq/dostyq/storage"
	"github.com/dostyq/dostyq/storage/storagetest"
)

// chatTest drives the handlers through the console, as a person would in a
// terminal, on a real SQLite database and a real state store.
type chatTest struct {
	t       *testing.T
	h       *Handlers
	db      *storage.DB
	states  storage.StateStore
	console *bot.Console
	out     *syncBuffer
	// clock is the handlers' and the database's clock; tests move it.
	clock *testClock
	// sender is what the handlers send through: the console, with faults
	// injected on demand.
	sender *flakySender
	deps   Deps
}

// testClock is a clock that moves only when a test moves it.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// flakySender passes messages to the console; with failEvery set to n,
// every n-th send fails with err instead (nothing is printed); a message
// refuse returns an error for fails with it, as Telegram refuses a message.
type flakySender struct {
	Sender
	mu        sync.Mutex
	failEvery int
	err       func(n int) error
	refuse    func(m bot.Message) error
	sends     int
}

func (f *flakySender) Send(ctx context.Context, m bot.Message) (int, error) {
	f.mu.Lock()
	f.sends++
	fail := f.failEvery > 0 && f.sends%f.failEvery == 0
	n := f.sends
	refuse := f.refuse
	f.mu.Unlock()
	if fail {
		return 0, f.err(n)
	}
	if refuse != nil {
		if err := refuse(m); err != nil {
			return 0, err
		}
	}
	return f.Sender.Send(ctx, m)
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) take() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	b.buf.Reset()
	return s
}

// shared holds what every test reads and none changes, loaded once for the
// test binary: the message catalog and the gazetteer. (Loaded again by each
// test, the two were a third of the package's time under the race
// detector; docs/TESTING.md.)
var shared struct {
	once sync.Once
	cat  *locales.Catalog
	gaz  *storage.Gazetteer
	err  error
}

func loadShared(t testing.TB) {
	t.Helper()
	shared.once.Do(func() {
		shared.cat, shared.err = locales.Load()
		if shared.err == nil {
			shared.gaz, shared.err = loadTestGazetteer()
		}
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
}

// testCatalog is the bot's message catalog. Handlers only read it once
// made (RegisterWords of words already registered writes nothing).
func testCatalog(t testing.TB) *locales.Catalog { loadShared(t); return shared.cat }

// testGazetteer is the gazetteer of loadTestGazetteer, read-only.
func testGazetteer(t testing.TB) *storage.Gazetteer { loadShared(t); return shared.gaz }

// loadTestGazetteer loads the shipped gazetteer from data/, with the test
// settlements of testdata/gazetteer-test.csv that it lacks (made-up
// namesakes such as Достықтау), and the border polygon: data/kazakhstan.csv
// when it ships, else testdata/kazakhstan-test.csv.
func loadTestGazetteer() (*storage.Gazetteer, error) {
	regions, err := os.Open("../data/regions.csv")
	if err != nil {
		return nil, err
	}
	defer regions.Close()
	var settlements bytes.Buffer
	w := csv.NewWriter(&settlements)
	seen := map[string]bool{}
	for i, path := range []string{"../data/gazetteer.csv", "../testdata/gazetteer-test.csv"} {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		recs, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		for j, rec := range recs {
			key := rec[2] + "/" + rec[5] // name_ru/region
			if (j == 0 && i > 0) || seen[key] {
				continue
			}
			seen[key] = true
			w.Write(rec)
		}
	}
	w.Flush()
	g, err := storage.LoadGazetteer(regions, &settlements)
	if err != nil {
		return nil, err
	}
	border, err := os.Open("../data/kazakhstan.csv")
	if errors.Is(err, fs.ErrNotExist) {
		border, err = os.Open("../testdata/kazakhstan-test.csv")
	}
	if err != nil {
		return nil, err
	}
	defer border.Close()
	return g, g.LoadBorder(border)
}

// newChatTest starts a console chat as user 1 with client language lang,
// with the given administrators.
func newChatTest(t *testing.T, lang string, admins ...int64) *chatTest {
	t.Helper()
	cat := testCatalog(t)
	clock := &testClock{now: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)}
	c := &chatTest{t: t, db: storagetest.DBWithClock(t, clock.Now),
		states: storagetest.States(t, time.Hour), out: &syncBuffer{}, clock: clock}
	// As in serve: the users rows are cached, so every test checks that a
	// write to them (language, /forget, roles) is seen at once.
	c.db.CacheUsers(storage.LastSeenEvery)
	c.console = bot.NewConsole(c.out, 1, lang)
	c.sender = &flakySender{Sender: checkedSender{c.console, t}}
	c.deps = Deps{DB: c.db, States: c.states, Sender: c.sender, Catalog: cat, Gazetteer: testGazetteer(t),
		Now: clock.Now, Config: Config{AdminIDs: admins, BotUsername: "dostyq_test_bot",
			OfferTimeout: 2 * time.Hour, EscalateAfter: 24 * time.Hour}}
	c.h = New(c.deps)
	c.console.SetHandler(c.h)
	return c
}

// loadDirectory imports the test directory (testdata/directory-test.csv).
func (c *chatTest) loadDirectory() {
	c.t.Helper()
	f, err := os.Open("../testdata/directory-test.csv")
	if err != nil {
		c.t.Fatal(err)
	}
	defer f.Close()
	if _, err := c.db.ImportPlaces(context.Background(), f, c.h.gaz, storage.ImportOptions{}); err != nil {
		c.t.Fatal(err)
	}
}

// anEvent stores an open charity event in Astana a week ahead of the
// test's clock, with 10 places, without going through a coordinator's
// /newevent: for tests of the volunteer's steps, which are asked only when
// some event is upcoming.
func (c *chatTest) anEvent() {
	c.t.Helper()
	err := c.db.Tx(context.Background(), func(tx *storage.Tx) error {
		_, err := tx.CreateEvent(storage.Event{CoordinatorID: 50, Title: "Tree planting", Description: "We plant trees.",
			StartsAt: c.deps.Now().Add(7 * 24 * time.Hour), Region: "astana", Place: "Astana", Address: "Park",
			Lat: 51.1282, Lon: 71.4307, Capacity: 10})
		return err
	})
	if err != nil {
		c.t.Fatal(err)
	}
}

// restart replaces the handlers with new ones on the same database, state
// store and console (the console stands in for Telegram, which outlives
// the bot's process): what a restart of the bot does.
func (c *chatTest) restart() {
	c.t.Helper()
	c.h = New(c.deps)
	c.console.SetHandler(c.h)
}

// advance moves the clock by d and runs what became due.
func (c *chatTest) advance(d time.Duration) string {
	c.t.Helper()
	c.clock.Add(d)
	if err := c.h.RunDue(context.Background()); err != nil {
		c.t.Fatalf("run due: %v", err)
	}
	return c.out.take()
}

// say sends the script's lines (console syntax; "@as ID" switches users)
// and returns what the bot printed. After each line the background work
// that became due runs (notifications to other users show as "[to ID]").
func (c *chatTest) say(script string) string {
	c.t.Helper()
	for _, line := range strings.Split(script, "\n") {
		if err := c.console.Run(context.Background(), strings.NewReader(line+"\n")); err != nil {
			c.t.Fatal(err)
		}
		if err := c.h.RunDue(context.Background()); err != nil {
			c.t.Fatalf("run due: %v", err)
		}
	}
	return c.out.take()
}

// reject fails the test if out contains any of unwanted.
func (c *chatTest) reject(out string, unwanted ...string) {
	c.t.Helper()
	for _, w := range unwanted {
		if strings.Contains(out, w) {
			c.t.Errorf("bot output has %q; it was:\n%s", w, out)
		}
	}
}

// expect fails the test unless out contains every want.
func (c *chatTest) expect(out string, want ...string) {
	c.t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			c.t.Errorf("bot output lacks %q; it was:\n%s", w, out)
		}
	}
}

// checkedSender fails the test when the bot sends a button whose
// callback_data Telegram would refuse (over 64 bytes).
type checkedSender struct {
	Sender
	t *testing.T
}

func (s checkedSender) Send(ctx context.Context, m bot.Message) (int, error) {
	if m.Inline != nil {
		for _, row := range m.Inline.InlineKeyboard {
			for _, b := range row {
				if b.CallbackData != nil && len(*b.CallbackData) > 64 {
					s.t.Errorf("callback_data of %q is %d bytes: %s", b.Text, len(*b.CallbackData), *b.CallbackData)
				}
			}
		}
	}
	return s.Sender.Send(ctx, m)
}
