package handlers

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
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

// testGazetteer loads the shipped gazetteer from data/, with the test
// settlements of testdata/gazetteer-test.csv that it lacks (made-up
// namesakes such as Достықтау), and the border polygon: data/kazakhstan.csv
// when it ships, else testdata/kazakhstan-test.csv.
func testGazetteer(t testing.TB) *storage.Gazetteer {
	t.Helper()
	regions, err := os.Open("../data/regions.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer regions.Close()
	var settlements bytes.Buffer
	w := csv.NewWriter(&settlements)
	seen := map[string]bool{}
	for i, path := range []string{"../data/gazetteer.csv", "../testdata/gazetteer-test.csv"} {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatal(path, err)
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
		t.Fatal(err)
	}
	border, err := os.Open("../data/kazakhstan.csv")
	if errors.Is(err, fs.ErrNotExist) {
		border, err = os.Open("../testdata/kazakhstan-test.csv")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer border.Close()
	if err := g.LoadBorder(border); err != nil {
		t.Fatal(err)
	}
	return g
}

// newChatTest starts a console chat as user 1 with client language lang,
// with the given administrators.
func newChatTest(t *testing.T, lang string, admins ...int64) *chatTest {
	t.Helper()
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	c := &chatTest{t: t, db: storagetest.DB(t), states: storagetest.States(t, time.Hour), out: &syncBuffer{}}
	c.console = bot.NewConsole(c.out, 1, lang)
	c.h = New(Deps{DB: c.db, States: c.states, Sender: checkedSender{c.console, t}, Catalog: cat, Gazetteer: testGazetteer(t),
		Config: Config{AdminIDs: admins, BotUsername: "dostyq_test_bot"}})
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

// say sends the script's lines (console syntax) and returns what the bot printed.
func (c *chatTest) say(script string) string {
	c.t.Helper()
	if err := c.console.Run(context.Background(), strings.NewReader(script+"\n")); err != nil {
		c.t.Fatal(err)
	}
	return c.out.take()
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
