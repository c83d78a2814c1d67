package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dostyq/dostyq/bot"
	"github.com/dostyq/dostyq/locales"
	"github.com/dostyq/dostyq/storage"
)

// What citizen 10 tells the bot in the privacy tests: distinctive, so a
// search of the files finds nothing else.
const (
	secretPhone     = "+77015550199"
	secretCase      = "Quarrel Zqxjv about the orchard wall at our dacha"
	secretHelp      = "Winter boots Wqpxm for the twins, size 34"
	secretRelay     = "Call me after Vbnmq o'clock please"
	secretVolunteer = "Zhanargul Testovaya"
)

// privacyStory has citizen 10 submit a mediation case (accepted by
// mediator 2, with a message relayed), a help request (taken by
// coordinator 3) and a registration for event E-000001 (one place; user 11
// on the waitlist), all with secretPhone.
func (c *chatTest) privacyStory() {
	c.t.Helper()
	ctx := context.Background()
	c.mediator(2, "Aigerim")
	c.coordinator(100, 3, "Dana", "Astana city")

	out := c.say("@as 10 en\n🤝 Mediation\n🙋 Ask for a mediator\n@press 1\n@press Family\n" + secretCase +
		"\nAstana\n@press Русский\n@contact " + secretPhone + "\n@press ✅ Confirm")
	c.expect(out, "Your case M-000001 was received.", "[to 2] 🔔 New request for mediation")
	c.expect(c.say("@as 2 en\n@press ✅ Accept"), "You accepted case M-000001", spacedPhone(secretPhone))
	c.expect(c.say("@as 10 en\n@press ✉️ Write to the mediator\n"+secretRelay), "[to 2] M-000001 · Citizen", secretRelay)
	c.say("🚪 Leave the chat")

	out = c.say("Charity\nI need help\n@press ✅ I agree\n@press 🍞 Food\n4\n" + secretHelp + "\nAstana\n@contact " +
		secretPhone + "\n@press ✅ Confirm")
	c.expect(out, "Request C-000001 received.", "[to 3] New help request C-000001.")
	c.expect(c.say("@as 3 en\n@press 🤝 Take"), "Request C-000001 is yours.", spacedPhone(secretPhone))

	err := c.db.Tx(ctx, func(tx *storage.Tx) error {
		_, err := tx.CreateEvent(storage.Event{CoordinatorID: 3, Title: "Winter clothes drive", Description: "Sorting clothes",
			StartsAt: c.clock.Now().Add(48 * time.Hour), Region: "astana", Place: "Astana", Lat: 51.16, Lon: 71.47, Capacity: 1})
		return err
	})
	if err != nil {
		c.t.Fatal(err)
	}
	c.say("@as 10 en\n/start")
	c.press(10, "ev:r:1", 1)
	c.expect(c.say("@press ✅ I agree\n"+secretVolunteer+"\n@contact "+secretPhone), "You are registered for E-000001")
	c.say("@as 11 en\n/start")
	c.press(11, "ev:w:1", 1)
	c.expect(c.say("@press ✅ I agree\nBerik\n@contact +77019990011"), "waitlist")
}

// needles are the byte strings of citizen 10's data.
var needles = []string{secretPhone, strings.TrimPrefix(secretPhone, "+"), secretCase, secretHelp, secretRelay, secretVolunteer}

func TestForgetErasesEverythingFromTheDatabaseItsWALAndRedis(t *testing.T) {
	c := newChatTest(t, "en", 100)
	ctx := context.Background()
	// Flood control on, so that the user has a counter in Redis too.
	c.deps.Config.FloodMessages, c.deps.Config.FloodWindow = 1000, time.Hour
	c.restart()
	c.privacyStory()

	// Before: the data is in the database files (the WAL, at least) and
	// the test sees it, so the search below can find it.
	if found := searchDatabase(t, c.db, needles); len(found) == 0 {
		t.Fatal("the data is not in the database files before /forget: the search does not work")
	}
	// An unfinished flow keeps answers in Redis.
	c.say("@as 10 en\nCharity\nI need help\n@press 👕 Clothing\n3\n" + secretHelp + " again")
	if found := searchRedis(t, c.states, needles); len(found) == 0 {
		t.Fatal("the unfinished answers are not in Redis before /forget: the search does not work")
	}

	// An album photo, so that the album items' flood counter exists too.
	c.say("@album 1")

	out := c.say("/forget")
	c.expect(out, "Erase your personal data?", "(1) 🗑 Yes, erase my data")
	c.expect(c.say("@press Keep my data"), "Nothing was erased.")
	if cs, _ := c.db.Consents(ctx, 10); len(cs) == 0 {
		t.Fatal("keeping the data erased the consents")
	}
	c.say("/forget")
	out = c.say("@press 🗑 Yes, erase my data")
	c.expect(out, "Your personal data has been erased.",
		"[to 2] Case M-000001: the citizen erased their personal data",
		"[to 3] Request C-000001: the citizen erased their personal data",
		"[to 11] ") // the waitlisted volunteer is offered the place
	for _, n := range append(needles, spacedPhone(secretPhone)) {
		c.reject(out, n)
	}

	if found := searchDatabase(t, c.db, needles); len(found) > 0 {
		t.Errorf("after /forget the database files still hold %q", found)
	}
	if found := searchRedis(t, c.states, needles); len(found) > 0 {
		t.Errorf("after /forget Redis still holds %q", found)
	}
	rs := c.states.(*storage.RedisStateStore)
	for _, key := range []string{rs.Prefix + "state:10", rs.Prefix + "count:flood:10", rs.Prefix + "count:floodalbum:10"} {
		if n, err := rs.Client().Exists(ctx, key).Result(); err != nil || n != 0 {
			t.Errorf("Redis key %s still exists (%d, %v)", key, n, err)
		}
	}

	// What statistics need stays, without the person.
	cs := c.caseOf(1)
	if cs.CitizenID != nil || cs.Description != "" || cs.Phone != "" || cs.Place != "" || cs.Status != storage.CaseWithdrawn ||
		cs.Kind != "family" || cs.Region != "astana" || cs.AcceptedAt == nil || cs.ClosedAt == nil {
		t.Errorf("case after /forget: %+v", cs)
	}
	req, err := c.db.HelpRequest(ctx, 1)
	if err != nil || req.UserID != 0 || req.Description != "" || req.Phone != "" || req.Status != storage.HelpWithdrawn ||
		req.Kind != "food" || req.Region != "astana" || req.FamilySize != 4 {
		t.Errorf("request after /forget: %+v, %v", req, err)
	}
	d, err := c.db.PersonalData(ctx, 10)
	if err != nil || d.User != nil || len(d.Consents)+len(d.Cases)+len(d.HelpRequests)+len(d.Registrations) != 0 || d.Volunteer != nil {
		t.Errorf("personal data after /forget: %+v, %v", d, err)
	}
	e, err := c.db.Event(ctx, 1)
	if err != nil || e.Confirmed != 1 || e.Waitlist != 0 {
		t.Errorf("event after /forget: %d places taken, %d waiting (%v); want the waitlisted volunteer offered the place", e.Confirmed, e.Waitlist, err)
	}
	// The user may go on: a new start is a new user.
	c.expect(c.say("/start"), "Welcome to Dostyq", "Choose your language")
	if d, _ := c.db.PersonalData(ctx, 10); len(d.Cases)+len(d.Consents) != 0 {
		t.Errorf("the user's old data came back: %+v", d)
	}
	c.expect(c.say("/mydata"), "Nothing else")
}

// /forget after an event took place leaves the volunteer's registration
// confirmed, without its user: the volunteer came and still counts in
// /stats, and nobody on the waitlist is offered a place in the past.
func TestForgetAfterAnEventKeepsItsVolunteerInTheStatistics(t *testing.T) {
	c := newChatTest(t, "en", 100)
	ctx := context.Background()
	start := c.clock.Now()
	c.privacyStory() // user 10 confirmed for E-000001 in 48 h, user 11 on its waitlist
	c.advance(72 * time.Hour)

	c.say("@as 10 en\n/forget")
	out := c.say("@press 🗑 Yes, erase my data")
	c.expect(out, "Your personal data has been erased.")
	c.reject(out, "[to 11] ")
	e, err := c.db.Event(ctx, 1)
	if err != nil || e.Confirmed != 1 || e.Waitlist != 1 {
		t.Errorf("event after /forget: %d places taken, %d waiting (%v); want 1 and 1", e.Confirmed, e.Waitlist, err)
	}
	s, err := c.db.Stats(ctx, start, c.clock.Now())
	if err != nil || s.Volunteers != 1 || s.RegistrationsByStatus["confirmed"] != 1 {
		t.Errorf("stats after /forget: %d volunteers, registrations %v (%v); want 1 confirmed", s.Volunteers, s.RegistrationsByStatus, err)
	}
	if d, err := c.db.PersonalData(ctx, 10); err != nil || len(d.Registrations) != 0 {
		t.Errorf("the registration still names the user: %+v, %v", d.Registrations, err)
	}
}

func TestForgetIsRefusedToStaffAndForgedButtonsActOnTheSenderOnly(t *testing.T) {
	c := newChatTest(t, "en", 100)
	ctx := context.Background()
	c.mediator(2, "Aigerim")
	c.expect(c.say("@as 2 en\n/forget"), "Please ask an administrator to remove your role first")
	c.expect(c.press(2, "pd:forget", 1), "Please ask an administrator to remove your role first")
	if roles, _ := c.db.Roles(ctx, 2); len(roles) != 1 {
		t.Fatalf("roles of the mediator: %v", roles)
	}

	c.submit(10, "💬 Through the bot only")
	// Another user's "forget" button erases that user only, not citizen 10.
	c.press(11, "pd:forget", 1)
	if got := c.caseOf(1); got.CitizenID == nil || *got.CitizenID != 10 || got.Description == "" {
		t.Fatalf("user 11 pressing forget changed citizen 10's case: %+v", got)
	}
	c.expect(c.press(10, "pd:bogus", 1), "This button is no longer active.")
}

// searchDatabase returns the needles found in the database: on SQLite in
// its file or its WAL (bytes, whatever table or free page holds them), on
// PostgreSQL in any row of any table.
func searchDatabase(t *testing.T, db *storage.DB, needles []string) []string {
	t.Helper()
	if db.Dialect() == storage.Postgres {
		found, err := db.TablesContaining(context.Background(), needles)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("searched every table for %d strings, %d found", len(needles), len(found))
		return found
	}
	return searchFiles(t, db.Path(), needles)
}

// searchFiles returns the needles found in the database file or its WAL.
func searchFiles(t *testing.T, path string, needles []string) []string {
	t.Helper()
	var found []string
	for _, p := range []string{path, path + "-wal", path + "-journal"} {
		buf, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range needles {
			if bytes.Contains(buf, []byte(n)) {
				found = append(found, p[strings.LastIndex(p, "/")+1:]+": "+n)
			}
		}
		t.Logf("searched %s: %d bytes for %d strings, %d found", p[strings.LastIndex(p, "/")+1:], len(buf), len(needles), len(found))
	}
	return found
}

// searchRedis returns the needles found in any key or value of the test's
// Redis keys.
func searchRedis(t *testing.T, states storage.StateStore, needles []string) []string {
	t.Helper()
	rs, ok := states.(*storage.RedisStateStore)
	if !ok {
		t.Fatalf("state store %T is not Redis", states)
	}
	ctx := context.Background()
	var found []string
	iter := rs.Client().Scan(ctx, 0, rs.Prefix+"*", 1000).Iterator()
	keys := 0
	for iter.Next(ctx) {
		key := iter.Val()
		keys++
		// GET, not DUMP: DUMP may compress the value.
		typ, err := rs.Client().Type(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if typ != "string" {
			t.Fatalf("Redis key %s is a %s; the search reads strings only", key, typ)
		}
		val, err := rs.Client().Get(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range needles {
			if strings.Contains(key, n) || strings.Contains(val, n) {
				found = append(found, key+": "+n)
			}
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("searched %d Redis keys and values for %d strings, %d found", keys, len(needles), len(found))
	return found
}

// docSender keeps the documents the bot sends.
type docSender struct {
	Sender
	mu   sync.Mutex
	docs map[string][]byte
}

func (s *docSender) Send(ctx context.Context, m bot.Message) (int, error) {
	if m.Document != nil {
		s.mu.Lock()
		s.docs[m.Document.Name] = m.Document.Data
		s.mu.Unlock()
	}
	return s.Sender.Send(ctx, m)
}

func (c *chatTest) catchDocuments() *docSender {
	s := &docSender{Sender: c.deps.Sender, docs: map[string][]byte{}}
	c.deps.Sender = s
	c.restart()
	return s
}

func TestMyDataShowsEverythingOfTheUserAndNothingOfOthers(t *testing.T) {
	c := newChatTest(t, "en", 100)
	docs := c.catchDocuments()
	c.privacyStory()
	c.submit(12, "💬 Through the bot only") // someone else's case

	c.say("@as 10 en\nCharity\nI need help\n@press 👕 Clothing\n3") // an unfinished flow
	out := c.say("/mydata")
	c.expect(out, "What Dostyq stores about you (Telegram id 10)", "Language: English",
		"Consents you gave:", "mediation, text version", "charity help, text version", "volunteering, text version",
		"Your mediation cases:", "Case M-000001", secretCase, "Contact: by phone "+spacedPhone(secretPhone), "Mediator: Aigerim",
		"Your help requests:", "C-000001", secretHelp, "Phone: "+spacedPhone(secretPhone), "Coordinator: Dana",
		"Volunteer profile: "+secretVolunteer+", "+spacedPhone(secretPhone),
		"Your event registrations:", "E-000001 · Winter clothes drive", "place confirmed",
		"Unfinished conversation", "What is needed: 👕 Clothing", "Family size: 3",
		"anonymised 365 days after they close", "/forget", "📎 dostyq-mydata.json")
	// Nothing of anyone else: no other case, no staff member's Telegram id,
	// not the waitlisted volunteer.
	c.reject(out, "M-000002", "My neighbour and I argue", "id 2", "id 3", "Berik", "+77019990011")

	var doc map[string]any
	buf := docs.docs["dostyq-mydata.json"]
	if err := json.Unmarshal(buf, &doc); err != nil {
		t.Fatalf("mydata JSON: %v\n%s", err, buf)
	}
	for _, want := range []string{`"telegram_user_id": 10`, `"number": "M-000001"`, secretCase, `"mediator": "Aigerim"`,
		`"number": "C-000001"`, secretHelp, `"coordinator": "Dana"`, `"name": "` + secretVolunteer, `"event": "E-000001"`,
		`"purpose": "volunteer"`, `"flow": "help"`, `"anonymised_after_days": 365`} {
		if !bytes.Contains(buf, []byte(want)) {
			t.Errorf("mydata JSON lacks %s:\n%s", want, buf)
		}
	}
	for _, unwanted := range []string{"M-000002", "My neighbour", "Berik", "mediator_id", "coordinator_id", `": 2,`, `": 3,`} {
		if bytes.Contains(buf, []byte(unwanted)) {
			t.Errorf("mydata JSON has %s:\n%s", unwanted, buf)
		}
	}

	// In Russian and Kazakh as well.
	c.expect(c.say("@as 13 ru\n/start\n@press Русский\n/mydata"), "Что Dostyq хранит о вас", "/forget")
	c.expect(c.say("@as 14 kk\n/start\n@press Қазақша\n/mydata"), "Dostyq сіз туралы не сақтайды", "/forget")
}

func TestSplitMessageKeepsEveryLineUnderTheLimit(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 500; i++ {
		b.WriteString("Line of the data export with some words in it, number ")
		b.WriteString(strings.Repeat("ж", i%30))
		b.WriteString("\n")
	}
	text := strings.TrimRight(b.String(), "\n")
	parts := splitMessage(text, 4000)
	if len(parts) < 2 {
		t.Fatalf("%d parts", len(parts))
	}
	for _, p := range parts {
		if n := len([]rune(p)); n > 4000 || n == 0 {
			t.Errorf("part of %d runes", n)
		}
	}
	if got := strings.Join(parts, "\n"); got != text {
		t.Error("the parts do not add up to the text")
	}
	if got := splitMessage(strings.Repeat("x", 9000), 4000); len(got) != 3 || len(got[0]) != 4000 {
		t.Errorf("a text without line breaks: %d parts", len(got))
	}
	if got := splitMessage("ab\xffcd\nef", 3); strings.Join(got, "|") != "ab\uFFFD|cd|ef" {
		t.Errorf("invalid UTF-8: %q", got)
	}
}

func TestRetentionAnonymisesWhatClosedLongerAgoThanRetentionDays(t *testing.T) {
	c := newChatTest(t, "en", 100)
	ctx := context.Background()
	c.privacyStory()
	c.say("@as 2 en\n/cases\n@press ✅ Close the case\n@press Resolved\nAn agreement was signed.")
	c.say("@as 10 en\n@press ⭐4\nVery helpful, thank you.")
	c.say("@as 3 en\n@press ✅ Fulfilled\nBoots delivered.")
	if got := c.caseOf(1); got.Status != storage.CaseClosed || got.RatingComment == "" {
		t.Fatalf("case before retention: %+v", got)
	}
	tm, err := c.db.PendingTimer(ctx, timerRetention, retentionRef)
	if err != nil {
		t.Fatalf("the retention job is not scheduled: %v", err)
	}
	if want := time.Date(2026, 11, 28, 22, 0, 0, 0, time.UTC); !tm.DueAt.Equal(want) { // 03:00 in Kazakhstan
		t.Errorf("retention job due %v, want %v", tm.DueAt, want)
	}
	// A restart keeps the one scheduled run.
	c.restart()
	c.advance(time.Hour)
	if again, err := c.db.PendingTimer(ctx, timerRetention, retentionRef); err != nil || again.ID != tm.ID || !again.DueAt.Equal(tm.DueAt) {
		t.Errorf("after a restart the retention job is %+v (%v), want %+v", again, err, tm)
	}

	// 200 days on: nothing is old enough yet. Citizen 12's case closes now.
	c.advance(200 * 24 * time.Hour)
	if got := c.caseOf(1); got.Description != secretCase || got.CitizenID == nil {
		t.Fatalf("case anonymised before the retention period: %+v", got)
	}
	c.submit(12, "💬 Through the bot only")
	c.say("@as 2 en\n@press ✅ Accept\n/cases\n@press ✅ Close the case\n@press Resolved\nDone.")
	if got := c.caseOf(2); got.Status != storage.CaseClosed {
		t.Fatalf("second case: %+v", got)
	}

	// 370 days after the first case closed, 368 after the event.
	c.advance(170 * 24 * time.Hour)
	got := c.caseOf(1)
	if got.CitizenID != nil || got.Description != "" || got.Phone != "" || got.Place != "" || got.OutcomeNote != "" ||
		got.RatingComment != "" {
		t.Errorf("case M-000001 kept personal data past the retention period: %+v", got)
	}
	if got.Kind != "family" || got.Region != "astana" || got.Outcome != "resolved" || got.Rating == nil || *got.Rating != 4 ||
		got.ClosedAt == nil || got.AcceptedAt == nil || got.Status != storage.CaseClosed {
		t.Errorf("case M-000001 lost what statistics need: %+v", got)
	}
	if got := c.caseOf(2); got.Description == "" || got.CitizenID == nil {
		t.Errorf("case M-000002, closed 170 days ago, was anonymised: %+v", got)
	}
	req, err := c.db.HelpRequest(ctx, 1)
	if err != nil || req.UserID != 0 || req.Description != "" || req.Phone != "" || req.Note != "" ||
		req.Status != storage.HelpFulfilled || req.Kind != "food" || req.FamilySize != 4 {
		t.Errorf("help request after retention: %+v, %v", req, err)
	}
	d, err := c.db.PersonalData(ctx, 10)
	if err != nil || len(d.Registrations) != 0 || d.Volunteer != nil || len(d.Cases) != 0 || len(d.HelpRequests) != 0 {
		t.Errorf("citizen 10's data after retention: %+v, %v", d, err)
	}
	if tm, err := c.db.PendingTimer(ctx, timerRetention, retentionRef); err != nil || !tm.DueAt.After(c.clock.Now()) ||
		tm.DueAt.Sub(c.clock.Now()) > 24*time.Hour {
		t.Errorf("next retention run %v (now %v), %v", tm.DueAt, c.clock.Now(), err)
	}
	// Nothing of citizen 10 is left in the files (notifications included)
	// once the write-ahead log is checkpointed.
	if _, err := c.db.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if found := searchDatabase(t, c.db, needles); len(found) > 0 {
		t.Errorf("after retention the database files still hold %q", found)
	}

	// RETENTION_DAYS=30: the second case goes 30 days after it closed.
	c.deps.Config.Retention = 30 * 24 * time.Hour
	c.restart()
	c.advance(24 * time.Hour)
	if got := c.caseOf(2); got.Description != "" || got.CitizenID != nil {
		t.Errorf("with a 30-day retention, case M-000002 closed 171 days ago kept its data: %+v", got)
	}
}

// consentWatch records, for every question that collects personal data,
// whether the recipient's consent for its purpose was stored when it was
// sent.
type consentWatch struct {
	Sender
	t         *testing.T
	db        *storage.DB
	questions map[string]string // start of the question's text → consent purpose
	mu        sync.Mutex
	asked     map[string]int // purpose → personal questions asked
	early     []string       // questions asked before consent
}

func (w *consentWatch) Send(ctx context.Context, m bot.Message) (int, error) {
	for prefix, purpose := range w.questions {
		if !strings.HasPrefix(m.Text, prefix) {
			continue
		}
		cs, err := w.db.Consents(ctx, m.ChatID)
		if err != nil {
			w.t.Error(err)
		}
		ok := false
		for _, c := range cs {
			ok = ok || c.Purpose == purpose
		}
		w.mu.Lock()
		w.asked[purpose]++
		if !ok {
			w.early = append(w.early, purpose+": "+m.Text)
		}
		w.mu.Unlock()
	}
	return w.Sender.Send(ctx, m)
}

// personalQuestions are the message ids of the questions that collect
// personal data, with the purpose of the consent they need.
var personalQuestions = map[string]string{
	"mediation.ask_kind": "mediation", "mediation.ask_description": "mediation", "mediation.ask_where": "mediation",
	"mediation.ask_lang": "mediation", "mediation.ask_contact": "mediation",
	"help.ask_kind": "charity", "help.ask_family": "charity", "help.ask_description": "charity",
	"help.ask_where": "charity", "help.ask_phone": "charity",
	"events.ask_name": "volunteer", "events.ask_phone": "volunteer",
}

func (c *chatTest) watchConsent() *consentWatch {
	w := &consentWatch{Sender: c.deps.Sender, t: c.t, db: c.db, questions: map[string]string{}, asked: map[string]int{}}
	for id, purpose := range personalQuestions {
		for _, lang := range []string{"kk", "ru", "en"} {
			text := []rune(c.h.cat.T(lang, id, nil))
			if cut := strings.Index(string(text), "<no value>"); cut > 0 {
				text = []rune(string(text)[:cut])
			}
			w.questions[string(text[:min(len(text), 30)])] = purpose
		}
	}
	c.deps.Sender = w
	c.restart()
	return w
}

func TestNoPersonalQuestionIsAskedBeforeConsentIsStored(t *testing.T) {
	for _, lang := range []string{"en", "ru", "kk"} {
		t.Run(lang, func(t *testing.T) {
			c := newChatTest(t, lang, 100)
			ctx := context.Background()
			w := c.watchConsent()
			err := c.db.Tx(ctx, func(tx *storage.Tx) error {
				_, err := tx.CreateEvent(storage.Event{CoordinatorID: 3, Title: "Tree planting", Description: "Planting",
					StartsAt: c.clock.Now().Add(48 * time.Hour), Region: "astana", Place: "Astana", Lat: 51.16, Lon: 71.47, Capacity: 5})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			labels := func(ids ...string) []string {
				var out []string
				for _, id := range ids {
					out = append(out, c.h.cat.T(lang, id, nil))
				}
				return out
			}
			l := labels("menu.mediation", "mediation.ask", "menu.charity", "charity.need_help", "consent.agree", "consent.decline")

			// Declined, with a story typed instead of pressing a button:
			// no personal question, nothing stored.
			c.say("@as 20 " + lang + "\n/start")
			c.say(l[0] + "\n" + l[1] + "\nMy story Kqzpw of the quarrel\n@press " + l[5])
			c.say(l[2] + "\n" + l[3] + "\nWe need Kqzpw food\n@press " + l[5])
			c.press(20, "ev:r:1", 1)
			c.say("Kqzpw Name\n@press " + l[5])
			if len(w.asked) != 0 {
				t.Errorf("personal questions asked of a user who declined: %v", w.asked)
			}
			d, err := c.db.PersonalData(ctx, 20)
			if err != nil || len(d.Consents)+len(d.Cases)+len(d.HelpRequests)+len(d.Registrations) != 0 || d.Volunteer != nil {
				t.Errorf("stored for a user who declined: %+v, %v", d, err)
			}
			if found := searchRedis(t, c.states, []string{"Kqzpw"}); len(found) > 0 {
				t.Errorf("Redis holds what a user who declined typed: %q", found)
			}

			// Agreed: every personal question comes after the consent.
			c.say("@as 21 " + lang + "\n/start")
			c.say(l[0] + "\n" + l[1] + "\n@press " + l[4] + "\n@press 1\nMy neighbour and I argue about the fence.\nAstana\n@press 1\n@contact +77011234567\n@press 1")
			c.say(l[2] + "\n" + l[3] + "\n@press " + l[4] + "\n@press 1\n3\nWe need warm clothes for winter.\nAstana\n@contact +77011234567\n@press 1")
			c.press(21, "ev:r:1", 1)
			c.say("@press " + l[4] + "\nAsel Nurlanovna\n@contact +77011234567")
			if len(w.early) > 0 {
				t.Errorf("personal questions asked before consent was stored:\n%s", strings.Join(w.early, "\n"))
			}
			d, err = c.db.PersonalData(ctx, 21)
			if err != nil || len(d.Cases) != 1 || len(d.HelpRequests) != 1 || len(d.Registrations) != 1 || len(d.Consents) != 3 {
				t.Fatalf("the flows did not complete: %d cases, %d requests, %d registrations, %d consents (%v)",
					len(d.Cases), len(d.HelpRequests), len(d.Registrations), len(d.Consents), err)
			}
			t.Logf("personal questions asked after consent: %v; before: %d", w.asked, len(w.early))
			for purpose, min := range map[string]int{"mediation": 5, "charity": 5, "volunteer": 2} {
				if w.asked[purpose] < min {
					t.Errorf("%d personal questions of %s seen, want %d: the watch missed some", w.asked[purpose], purpose, min)
				}
			}
		})
	}
}

// auditRows is the whole audit log, oldest first.
func auditRows(t *testing.T, db *storage.DB) []storage.AuditEntry {
	t.Helper()
	log, err := db.AuditLog(context.Background(), "", 100000)
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(log)-1; i < j; i, j = i+1, j-1 {
		log[i], log[j] = log[j], log[i]
	}
	return log
}

func TestEveryStaffViewOfPersonalDataIsAuditedAndAdministratorsReadTheLog(t *testing.T) {
	c := newChatTest(t, "en", 100)
	docs := c.catchDocuments()
	c.mediator(2, "Aigerim")
	c.coordinator(100, 3, "Dana", "Astana city")
	seen := len(auditRows(t, c.db))
	// step does what a staff member does and checks that it appended
	// exactly the audit rows want (actor action subject), with the time.
	step := func(what string, do func(), want ...string) {
		t.Helper()
		do()
		rows := auditRows(t, c.db)
		var got []string
		for _, e := range rows[seen:] {
			got = append(got, itoa(e.ActorID)+" "+e.Action+" "+e.Subject)
			if !e.At.Equal(c.clock.Now()) {
				t.Errorf("%s: audit row at %v, want %v", what, e.At, c.clock.Now())
			}
		}
		seen = len(rows)
		if strings.Join(got, "; ") != strings.Join(want, "; ") {
			t.Errorf("%s appended %q to the audit log, want %q", what, got, want)
		}
	}
	step("a case offered to a mediator", func() { c.submit(10, "@contact "+citizenPhone) }, "2 case.offer M-000001")
	step("the mediator accepts and sees the contact", func() { c.say("@as 2 en\n@press ✅ Accept") }, "2 case.view M-000001")
	step("the mediator lists their cases", func() { c.say("/cases") }, "2 case.view M-000001")
	step("an administrator reads the case", func() { c.say("@as 100 en\n/case M-000001") }, "100 case.view M-000001")
	step("a citizen lists their own cases", func() { c.say("@as 10 en\n/cases") })
	step("a help request offered to a coordinator", func() {
		c.askHelp(11, "🍞 Food", "4", "We need food for the family.", "Astana")
	}, "3 help.offer C-000001")
	offer := c.offerMessage(1, 3)
	step("the coordinator views the open request", func() { c.press(3, "help:v:1", offer) }, "3 help.view C-000001")
	step("the coordinator takes it and sees the phone", func() { c.press(3, "help:t:1", offer) },
		"3 help.take C-000001", "3 help.view C-000001")
	step("the coordinator views it again", func() { c.press(3, "help:v:1", offer) }, "3 help.view C-000001")
	err := c.db.Tx(context.Background(), func(tx *storage.Tx) error {
		_, err := tx.CreateEvent(storage.Event{CoordinatorID: 3, Title: "Tree planting", Description: "Planting",
			StartsAt: c.clock.Now().Add(48 * time.Hour), Region: "astana", Place: "Astana", Lat: 51.16, Lon: 71.47, Capacity: 5})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	c.press(12, "ev:r:1", 1)
	c.say("@as 12 en\n@press ✅ I agree\nAsel Nurlanovna\n@contact +77011234567")
	step("the coordinator exports the registrations", func() { c.press(3, "ev:e:1", 1) }, "3 event.export E-000001")

	// /audit: administrators only, in their language, with a usage reply
	// for bad input.
	c.expect(c.say("@as 10 en\n/audit"), "Only administrators can do this.")
	c.expect(c.say("@as 3 en\n/audit"), "Only administrators can do this.")
	for _, bad := range []string{"abc", "0", "-5", "1001", "5 6"} {
		c.expect(c.say("@as 100 en\n/audit "+bad), "Write /audit for the latest 20 entries, or /audit N")
	}
	out := c.say("@as 100 en\n/audit 5")
	c.expect(out, "The latest 5 entries of the audit log", "id 100 · read the audit log · 5",
		"id 3 · exported an event's registrations · E-000001", "id 3 · viewed a help request · C-000001")
	c.reject(out, "📎")
	c.expect(c.say("/audit 1"), "The latest 1 entry of the audit log")
	c.expect(c.say("@as 100 ru\n/language\n@press Русский\n/audit 3"), "Последние 3 записи журнала доступа", "просмотр журнала доступа")
	c.expect(c.say("/audit 5"), "Последние 5 записей журнала доступа")
	c.expect(c.say("@press 1\n/language\n@press Қазақша\n/audit 2"), "Қол жеткізу журналының соңғы 2 жазбасы")
	// The role of an invitation is in words, in the reader's language.
	c.invite(100, "mediator")
	out = c.say("@as 100 en\n/audit 2")
	c.expect(out, "· медиатор")
	c.reject(out, "· mediator")

	// Long: text for the latest 30, all of them as CSV.
	for i := 0; i < 30; i++ {
		c.say("/case M-000001")
	}
	c.say("/language\n@press English")
	out = c.say("/audit 1000")
	total := len(auditRows(t, c.db))
	c.expect(out, "more in the CSV file", "📎 dostyq-audit.csv")
	csv := string(docs.docs["dostyq-audit.csv"])
	if lines := strings.Count(csv, "\n"); lines != total+1 {
		t.Errorf("audit CSV has %d lines, want %d entries and a header:\n%s", lines, total, csv)
	}
	if !strings.HasPrefix(csv, "id,at_utc,actor_id,action,subject\n") || !strings.Contains(csv, ",3,event.export,E-000001\n") {
		t.Errorf("audit CSV:\n%s", csv)
	}
}

func TestForgetWithdrawsWaitingItemsAndTakesBackTheirOffers(t *testing.T) {
	c := newChatTest(t, "en", 100)
	ctx := context.Background()
	c.mediator(2, "Aigerim")
	c.coordinator(100, 3, "Dana", "Astana city")
	c.expect(c.submit(10, "💬 Through the bot only"), "[to 2] 🔔 New request for mediation")
	c.expect(c.askHelp(10, "🍞 Food", "4", "We need food for the family.", "Astana"), "[to 3] New help request C-000001.")

	out := c.say("@as 10 en\n/forget\n@press 🗑 Yes, erase my data")
	c.expect(out, "Your personal data has been erased.",
		"[to 2] (edited) Case M-000001 was withdrawn by the citizen.",
		"[to 3] (edited) Request C-000001 was withdrawn by the citizen.")
	if got := c.caseOf(1); got.Status != storage.CaseWithdrawn || got.CitizenID != nil || got.Description != "" {
		t.Errorf("waiting case after /forget: %+v", got)
	}
	req, err := c.db.HelpRequest(ctx, 1)
	if err != nil || req.Status != storage.HelpWithdrawn || req.UserID != 0 || req.Phone != "" {
		t.Errorf("open request after /forget: %+v, %v", req, err)
	}
	// The stale buttons of the offers do nothing.
	c.expect(c.forge(2, "mo:a:1"), "This offer is no longer active.")
	c.expect(c.press(3, "help:t:1", c.offerMessage(1, 3)), "Request C-000001 is already closed.")
	// Nothing is left waiting: no escalation or unclaimed alert later.
	out = c.advance(48 * time.Hour)
	c.reject(out, "[to 100]", "M-000001", "C-000001")
}

// Every audit action the code writes has a label in /audit (a new one
// without it would show its raw code to administrators).
func TestEveryAuditActionHasALabel(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	written := regexp.MustCompile(`\.Audit\([^,]+, "([a-z_]+\.[a-z_]+)"`)
	found := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range written.FindAllSubmatch(src, -1) {
			found++
			if !auditActions[string(m[1])] {
				t.Errorf("%s writes audit action %q, which /audit has no label for (auditActions, privacy.action_*)", f, m[1])
			}
		}
	}
	if found < 10 {
		t.Fatalf("found %d audit actions in the handlers' source; the pattern no longer matches the code", found)
	}
}

// TestMyDataShowsUnfinishedAnswersAsTheFlowAskedThem: the answers of an
// unfinished request are labelled in the reader's language with the
// labels of the flow's steps, a pressed button shows as its label, and no
// internal key or code shows (the JSON file keeps them).
func TestMyDataShowsUnfinishedAnswersAsTheFlowAskedThem(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script string
		want   []string
	}{{
		name: "mediation kk",
		script: "@as 20 kk\n🤝 Медиация\n🙋 Медиаторға жүгіну\n@press 1\n@press Отбасылық\n" +
			"Көршіммен шарбақ туралы дауласып жүрміз.\nАстана\n@press Русский\n💬 Тек бот арқылы\n" +
			"@press ✏️ Қадамды өзгерту\n@press Жанжал түрі",
		want: []string{"Аяқталмаған диалог", "жауаптар саны: 6", "Жанжал түрі: Отбасылық",
			"Сипаттама: Көршіммен шарбақ туралы дауласып жүрміз.", "Орны: Астана", "Облыс: ", "Тіл: Русский",
			"Байланыс: 💬 Тек бот арқылы"},
	}, {
		name: "mediation ru",
		script: "@as 21 ru\n🤝 Медиация\n🙋 Обратиться к медиатору\n@press 1\n@press Соседский\n" +
			"Сосед шумит по ночам уже полгода.\nАстана\n@press Қазақша",
		want: []string{"Незавершённый диалог", "ответов: 5", "Вид конфликта: Соседский",
			"Описание: Сосед шумит по ночам уже полгода.", "Место: Астана", "Регион: ", "Язык: Қазақша"},
	}, {
		name:   "help kk",
		script: "@as 22 kk\n💛 Қайырымдылық\n🙏 Маған көмек керек\n@press 1\n@press 👕 Киім\n4\nБалаларға қысқы киім керек.\nАстана",
		want: []string{"жауаптар саны: 5", "Не керек: 👕 Киім", "Отбасы құрамы: 4",
			"Сипаттама: Балаларға қысқы киім керек.", "Қай жерде: Астана", "Облыс: "},
	}, {
		name:   "help ru",
		script: "@as 23 ru\n💛 Благотворительность\n🙏 Мне нужна помощь\n@press 1\n@press 👕 Одежда\n4\nНужна зимняя одежда детям.\nАстана",
		want: []string{"ответов: 5", "Что нужно: 👕 Одежда", "Состав семьи: 4",
			"Описание: Нужна зимняя одежда детям.", "Где: Астана", "Регион: "},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			c := newChatTest(t, "en")
			docs := c.catchDocuments()
			c.say(tc.script)
			out := c.say("/mydata")
			c.expect(out, tc.want...)
			c.reject(out, "Other answer", "Басқа жауап", "Другой ответ", "editing")
			// The JSON file keeps every answer as stored; the text shows no
			// key of them, and no code where a button was pressed.
			var doc struct {
				State struct {
					Answers map[string]string `json:"answers"`
				} `json:"conversation_state"`
			}
			buf := docs.docs["dostyq-mydata.json"]
			if err := json.Unmarshal(buf, &doc); err != nil {
				t.Fatalf("mydata JSON: %v\n%s", err, buf)
			}
			if len(doc.State.Answers) < 5 {
				t.Fatalf("mydata JSON lacks the answers:\n%s", buf)
			}
			for k, v := range doc.State.Answers {
				c.reject(out, "• "+k+":")
				switch k {
				case "kind", "region", "lang", "contact":
					c.reject(out, ": "+v+"\n")
				}
			}
		})
	}
}

// TestMyDataShowsAnswersOfAnUnknownFlow: an answer no flow describes (one
// of a newer version of the bot) still shows, under a general label.
func TestMyDataShowsAnswersOfAnUnknownFlow(t *testing.T) {
	c := newChatTest(t, "kk")
	c.say("/start\n@press Қазақша")
	if _, err := c.states.Update(context.Background(), 1, func(s *storage.State) error {
		*s = storage.State{Flow: "future", Step: "colour", Data: map[string]string{"colour": "көк", "hidden": ""}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	out := c.say("/mydata")
	c.expect(out, "жауаптар саны: 1", "Басқа жауап: көк")
	c.reject(out, "colour")
}

// TestFlowAnswersAreLabelledInEveryLanguage: every answer a flow describes
// for /mydata has a label in every language, and no key is described twice.
func TestFlowAnswersAreLabelledInEveryLanguage(t *testing.T) {
	c := newChatTest(t, "en")
	for name, f := range c.h.flows {
		seen := map[string]bool{}
		for _, a := range f.Answers {
			if seen[a.Key] {
				t.Errorf("flow %s describes answer %q twice", name, a.Key)
			}
			seen[a.Key] = true
			if a.Hidden {
				continue
			}
			for _, lang := range locales.Supported {
				if c.h.cat.T(lang, a.Label, nil) == a.Label {
					t.Errorf("flow %s, answer %q: no message %s in %s", name, a.Key, a.Label, lang)
				}
			}
		}
	}
}

// TestMyDataShowsStaffAndVolunteerAnswersByTheirLabels: the unfinished
// answers of a volunteer's registration, a coordinator's new event and a
// mediator's profile read as their flows asked them.
func TestMyDataShowsStaffAndVolunteerAnswersByTheirLabels(t *testing.T) {
	c, _ := newEventsTest(t)
	c.newEvent("05.12.2026 10:00", "2")

	out := c.say("@as 60 en\nCharity\nVolunteer at an event\nAstana\n@press 1\n@press 1\n@press ✅ I agree\n" +
		secretVolunteer + "\n/mydata")
	c.expect(out, "(answers: 2)", "• Event: E-000001", "• Name: "+secretVolunteer)
	c.reject(out, "• event:", "• name:", "waitlist")

	out = c.say("@as 50 en\n/newevent\nTree planting\nWe plant trees in the park.\n05.12.2026 10:00\nAstana\nPark, gate 2\n/mydata")
	c.expect(out, "• Title: Tree planting", "• Description: We plant trees in the park.",
		"• Date and time: 5 December 2026, 10:00", "• Where: Astana", "• Region: Astana city", "• Address: Park, gate 2")
	c.reject(out, "• title:", "• when:", "T05:00:00Z", "• lat:", "• lon:", "Another answer")
	c.say("/cancel")

	c.mediator(70, "Dana")
	out = c.say("@as 70 en\n/profile\nDana K.\n@press Astana city\n@press ✔️ Done\n/mydata")
	c.expect(out, "• Name: Dana K.", "• Regions: Astana city", "• Languages: Русский", "• Kinds of conflict: Family", "• Open cases at most: 3")
	c.reject(out, "• mediator:", "• kinds:", ": family", ": ru\n", "Another answer")
}
