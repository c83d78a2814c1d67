package handlers

import (
	"context"
	"encoding/csv"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dostyq/dostyq/bot"
	"github.com/dostyq/dostyq/storage"
)

// docRecorder keeps the documents the bot sends.
type docRecorder struct {
	Sender
	mu   sync.Mutex
	docs []bot.Document
}

func (d *docRecorder) Send(ctx context.Context, m bot.Message) (int, error) {
	if m.Document != nil {
		d.mu.Lock()
		d.docs = append(d.docs, *m.Document)
		d.mu.Unlock()
	}
	return d.Sender.Send(ctx, m)
}

func (d *docRecorder) last(t *testing.T) [][]string {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.docs) == 0 {
		t.Fatal("no document was sent")
	}
	recs, err := csv.NewReader(strings.NewReader(string(d.docs[len(d.docs)-1].Data))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// lastInline keeps the id of the last message sent with inline buttons,
// for pressing forged buttons on it.
type lastInline struct {
	Sender
	mu   sync.Mutex
	last int
}

func (l *lastInline) Send(ctx context.Context, m bot.Message) (int, error) {
	id, err := l.Sender.Send(ctx, m)
	if err == nil && m.Inline != nil && m.EditID == 0 {
		l.mu.Lock()
		l.last = id
		l.mu.Unlock()
	}
	return id, err
}

func (l *lastInline) id() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

// newEvent has coordinator 50 (invited by administrator 100) create an
// event in Astana with the given places, starting at when (Kazakhstan
// time, as typed).
func (c *chatTest) newEvent(when string, places string) string {
	c.t.Helper()
	out := c.say("@as 50 en\n/newevent\nTree planting\nWe plant trees in the park.\n" + when + "\nAstana\nPark, gate 2\n" + places + "\n@press ✅ Create")
	c.expect(out, "The event is created.")
	return out
}

// volunteer has user id (client language en) register for the first
// event near Astana, giving consent, name and phone the first time.
func (c *chatTest) volunteer(id int64, name, phone string) string {
	c.t.Helper()
	out := c.say("@as " + itoa(id) + " en\nCharity\nVolunteer at an event\nAstana\n@press 1\n@press 1")
	if strings.Contains(out, "Do you agree?") {
		out += c.say("@press ✅ I agree\n" + name + "\n@contact " + phone)
	}
	return out
}

func newEventsTest(t *testing.T) (*chatTest, *docRecorder) {
	c := newChatTest(t, "en", 100)
	docs := &docRecorder{Sender: c.sender.Sender}
	c.sender.Sender = docs
	c.coordinator(100, 50, "Aigerim", "Astana city")
	return c, docs
}

// The script: a coordinator creates an event with 2 places; three
// volunteers register (the third waitlisted); one cancels; the third is
// promoted and confirms; the coordinator exports the registrations.
func TestEventScriptWaitlistPromotionExport(t *testing.T) {
	c, docs := newEventsTest(t)
	out := c.newEvent("05.12.2026 10:00", "2")
	c.expect(out, "Tree planting\n🗓 5 December 2026, 10:00\n📍 Astana, Astana city, Park, gate 2", "Places: 2")
	c.reject(out, "E-000000")

	c.expect(c.volunteer(1, "Dana Seitova", "+77011234567"), "2 places left", "Before you register: consent",
		"✅ You are registered for E-000001 “Tree planting” on 5 December 2026, 10:00.")
	c.expect(c.volunteer(2, "Alia Nurova", "+77015554433"), "1 place left", "✅ You are registered for E-000001")
	out = c.volunteer(3, "Bolat Ospanov", "+77015554400")
	c.expect(out, "No places left: you can join the waitlist.", "you are number 1 on the waitlist")
	c.reject(out, "You are registered")

	// A second registration of the same person changes nothing.
	out = c.say("@as 2 en\nCharity\nVolunteer at an event\nAstana\n@press 1\n@press 1")
	c.expect(out, "You are already registered for this event.")
	c.reject(out, "Before you register", "You are registered", "you are number")
	// What they type next is no town to search events near.
	out = c.say("Thank you!")
	c.expect(out, "You are welcome!")
	c.reject(out, "I do not know a town")

	c.expect(c.say("@as 50 en\n/events"), "Confirmed: 2 · waitlist: 1")

	// Cancel asks first: No keeps it, with its buttons.
	out = c.say("@as 1 en\n/myevents\n@press ✖️ Cancel my registration")
	c.expect(out, "Cancel your registration? A place you hold goes to the next volunteer")
	c.reject(out, "Your registration is cancelled.", "[to 3]")
	out = c.say("@press ↩️ No, keep it")
	c.expect(out, "(edited) E-000001 · Tree planting", "✅ place confirmed", "✖️ Cancel my registration")
	c.reject(out, "[to 3]")
	out = c.say("@press ✖️ Cancel my registration\n@press ❌ Yes, cancel it")
	c.expect(out, "✅ place confirmed", "Your registration is cancelled.")
	offer := messagesTo(out, 3)
	if len(offer) != 1 || !strings.Contains(offer[0], "A place has freed up") {
		t.Fatalf("the first on the waitlist was not offered the place:\n%s", out)
	}
	c.expect(c.say("@as 3 en\n/myevents\n@press ✅ Confirm my place"), "Your place is confirmed.")
	c.expect(c.say("@as 50 en\n/events"), "Confirmed: 2 · waitlist: 0")

	c.expect(c.say("@press 📄 Registrations (CSV)"), "📎 E-000001-registrations.csv", "E-000001: registrations: 2.")
	recs := docs.last(t)
	// Dana cancelled: she is no longer on the list.
	want := map[string][2]string{"Alia Nurova": {"+77015554433", "confirmed"}, "Bolat Ospanov": {"+77015554400", "confirmed"}}
	if len(recs) != 3 || strings.Join(recs[0], ",") != "name,phone,registered_at,status" {
		t.Fatalf("CSV:\n%v", recs)
	}
	for _, rec := range recs[1:] {
		w, ok := want[rec[0]]
		if !ok || rec[1] != w[0] || rec[3] != w[1] || rec[2] != "2026-11-28 14:00" {
			t.Errorf("CSV row %v, want %v registered at 2026-11-28 14:00", rec, w)
		}
	}
	if audited := auditCount(t, c.db, "E-000001", "event.export"); audited != 1 {
		t.Errorf("the export was audited %d times, want once", audited)
	}
}

// A place offered from the waitlist and not confirmed within 12 hours
// passes to the next on the waitlist.
func TestEventOfferExpiresToTheNext(t *testing.T) {
	c, _ := newEventsTest(t)
	c.newEvent("05.12.2026 10:00", "1")
	c.volunteer(1, "Dana", "+77011234567")
	c.expect(c.volunteer(2, "Alia", "+77015554433"), "number 1 on the waitlist")
	c.expect(c.volunteer(3, "Bolat", "+77015554400"), "number 2 on the waitlist")

	out := c.say("@as 1 en\n/myevents\n@press ✖️ Cancel my registration\n@press ❌ Yes, cancel it")
	if len(messagesTo(out, 2)) != 1 || len(messagesTo(out, 3)) != 0 {
		t.Fatalf("want the offer to user 2 only:\n%s", out)
	}
	c.expect(c.advance(11*time.Hour), "") // still within the offer
	out = c.advance(2 * time.Hour)
	to2, to3 := messagesTo(out, 2), messagesTo(out, 3)
	if len(to3) != 1 || !strings.Contains(to3[0], "A place has freed up") {
		t.Fatalf("the place did not pass to user 3:\n%s", out)
	}
	if len(to2) != 1 || !strings.Contains(to2[0], "(edited) The place offered to you was not confirmed in time") {
		t.Errorf("user 2's offer was not withdrawn:\n%s", out)
	}
	// User 2's old button no longer works; user 3's does.
	c.expect(c.say("@as 2 en\n/myevents"), "You are not registered for any upcoming event.")
	c.expect(c.say("@as 3 en\n/myevents\n@press ✅ Confirm my place"), "Your place is confirmed.")
	// Confirmed in time: nothing passes on later.
	out = c.advance(24 * time.Hour)
	if len(messagesTo(out, 3)) != 0 {
		t.Errorf("a confirmed place expired:\n%s", out)
	}
}

// Reminders the day before and two hours before reach each confirmed
// volunteer once, even with restarts in between; the waitlist gets none.
func TestEventRemindersOnceAcrossRestarts(t *testing.T) {
	c, _ := newEventsTest(t)
	// The clock is 28.11.2026 14:00 in Astana; the event starts 30.11 10:00.
	c.newEvent("30.11.2026 10:00", "2")
	c.volunteer(1, "Dana", "+77011234567")
	c.volunteer(2, "Alia", "+77015554433")
	c.volunteer(3, "Bolat", "+77015554400")

	count := func(out string, id int64, what string) int {
		n := 0
		for _, m := range messagesTo(out, id) {
			if strings.Contains(m, what) {
				n++
			}
		}
		return n
	}
	var all strings.Builder
	all.WriteString(c.advance(19 * time.Hour)) // 29.11 09:00: not yet
	if strings.Contains(all.String(), "⏰") {
		t.Fatalf("a reminder came early:\n%s", all.String())
	}
	all.WriteString(c.advance(1 * time.Hour)) // 29.11 10:00: the day before
	c.restart()
	all.WriteString(c.advance(time.Hour))
	c.restart()
	all.WriteString(c.advance(21 * time.Hour)) // 30.11 08:00: two hours before
	c.restart()
	all.WriteString(c.advance(time.Hour))
	out := all.String()
	for _, id := range []int64{1, 2} {
		if n := count(out, id, "Tomorrow: E-000001"); n != 1 {
			t.Errorf("user %d got the day-before reminder %d times", id, n)
		}
		if n := count(out, id, "In two hours: E-000001"); n != 1 {
			t.Errorf("user %d got the two-hour reminder %d times", id, n)
		}
	}
	if n := len(messagesTo(out, 3)); n != 0 {
		t.Errorf("the waitlisted volunteer got %d reminders", n)
	}
}

// Reminders and the coordinator's message reach each volunteer in their
// own language (read with the list of volunteers, not one by one); a
// volunteer who ran /forget gets none.
func TestEventNoticesInEachVolunteersLanguage(t *testing.T) {
	c, _ := newEventsTest(t)
	ctx := context.Background()
	// The clock is 28.11.2026 14:00 in Astana; the event starts 30.11 10:00.
	c.newEvent("30.11.2026 10:00", "5")
	for id, name := range map[int64]string{1: "Dana", 2: "Alia", 3: "Bolat", 4: "Erlan"} {
		c.expect(c.volunteer(id, name, "+7701123456"+itoa(id)), "You are registered")
	}
	for id, lang := range map[int64]string{1: "kk", 2: "ru", 3: "en"} {
		if err := c.db.SetUserLang(ctx, id, lang); err != nil {
			t.Fatal(err)
		}
	}
	c.say("@as 4 en\n/forget")
	c.expect(c.say("@press 🗑 Yes, erase my data"), "Your personal data has been erased.")

	want := map[int64][2]string{
		1: {"⏰ Ертең: E-000001", "📣 E-000001 «Tree planting» үйлестірушісінен:"},
		2: {"⏰ Завтра: E-000001", "📣 От координатора E-000001 «Tree planting»:"},
		3: {"⏰ Tomorrow: E-000001", "📣 From the coordinator of E-000001 “Tree planting”:"},
	}
	out := c.advance(20 * time.Hour) // 29.11 10:00: the day before
	out += c.say("@as 50 en\n/events\n@press ✉️ Message volunteers\nBring gloves, please.")
	for id, w := range want {
		got := strings.Join(messagesTo(out, id), "\n\n")
		for _, text := range w {
			if !strings.Contains(got, text) {
				t.Errorf("user %d did not get %q; got:\n%s", id, text, got)
			}
		}
	}
	if m := messagesTo(out, 4); len(m) != 0 {
		t.Errorf("the volunteer who ran /forget got %q", m)
	}
}

// The coordinator's message reaches the confirmed volunteers only;
// cancelling the event tells everyone registered, and stops reminders.
func TestEventMessageAndCancel(t *testing.T) {
	c, _ := newEventsTest(t)
	c.newEvent("05.12.2026 10:00", "1")
	c.volunteer(1, "Dana", "+77011234567")
	c.volunteer(2, "Alia", "+77015554433")

	out := c.say("@as 50 en\n/events\n@press ✉️ Message volunteers\nBring gloves, please.")
	c.expect(out, "The message goes to 1 confirmed volunteer.")
	if m := messagesTo(out, 1); len(m) != 1 || !strings.Contains(m[0], "Bring gloves, please.") {
		t.Errorf("the confirmed volunteer did not get the message:\n%s", out)
	}
	if len(messagesTo(out, 2)) != 0 {
		t.Errorf("the waitlist got the coordinator's message:\n%s", out)
	}

	// "No, keep it" first: nothing happens, nobody is told.
	out = c.say("/events\n@press ❌ Cancel the event\n@press ↩️ No, keep it")
	c.expect(out, "(edited) E-000001 “Tree planting” goes ahead; nobody was told anything.")
	c.reject(out, "[to 1]", "[to 2]", "is cancelled")
	out = c.say("/events\n@press ❌ Cancel the event\n@press ❌ Yes, cancel it")
	c.expect(out, "E-000001 is cancelled; 2 volunteers are being told.")
	for _, id := range []int64{1, 2} {
		if m := messagesTo(out, id); len(m) != 1 || !strings.Contains(m[0], "is cancelled") {
			t.Errorf("volunteer %d was not told of the cancellation:\n%s", id, out)
		}
	}
	c.expect(c.say("@as 1 en\n/myevents"), "You are not registered for any upcoming event.")
	if out := c.advance(7 * 24 * time.Hour); strings.Contains(out, "⏰") {
		t.Errorf("a cancelled event sent reminders:\n%s", out)
	}
}

// Buttons are client input: nobody acts on an event, a registration or an
// offer that is not theirs, and malformed data gets the outdated notice.
func TestEventButtonsAreAuthorised(t *testing.T) {
	c, docs := newEventsTest(t)
	c.newEvent("05.12.2026 10:00", "1")
	c.volunteer(1, "Dana", "+77011234567")
	c.volunteer(2, "Alia", "+77015554433")

	// A volunteer and another coordinator try the coordinator's buttons.
	c.coordinator(100, 51, "Marat", "Almaty city")
	for _, user := range []int64{1, 51} {
		for _, data := range []string{"ev:e:1", "ev:C:1", "ev:c:1", "ev:m:1"} {
			out := c.press(user, data, 1)
			c.expect(out, "This is not your event.")
			c.reject(out, "📎", "is cancelled", "+7701")
		}
	}
	if len(docs.docs) != 0 {
		t.Fatalf("a registrations CSV went to someone else")
	}
	// User 2 (waitlisted) tries to cancel or confirm user 1's registration.
	c.expect(c.press(2, "ev:u:1", 1), "This registration is not yours")
	c.expect(c.press(2, "ev:U:1", 1), "This registration is not yours")
	c.expect(c.press(2, "ev:x:1", 1), "This registration is not yours")
	c.expect(c.press(2, "ev:k:1", 1), "This offer has ended")
	c.expect(c.say("@as 1 en\n/myevents"), "✅ place confirmed")
	for _, data := range []string{"ev", "ev:r", "ev:r:x", "ev:r:-4", "ev:p:0:999:0", "ev:z:1", "ev:r:99999999999999999999"} {
		c.expect(c.press(1, data, 1), "(notice)")
	}
	c.expect(c.press(1, "ev:r:42", 1), "This event was not found.")
	// Citizens cannot create events.
	c.expect(c.say("@as 1 en\n/newevent"), "Only charity coordinators and administrators")
}

func TestNewEventRefusesBadAnswers(t *testing.T) {
	c, _ := newEventsTest(t)
	out := c.say("@as 50 en\n/newevent\n" + strings.Repeat("x", 101) + "\nTree planting\nWe plant trees.")
	c.expect(out, "That is 101 characters; at most 100 fit.", "Describe what volunteers will do")
	c.expect(c.say("31.02.2027 10:00"), "I could not read this date.")
	c.expect(c.say("27.11.2026 10:00"), "This time has already passed.")
	c.expect(c.say("01.01.2030 10:00"), "more than two years ahead")
	c.expect(c.say("05.12.2026 10:00\n@location 41.0 31.0"), "outside Kazakhstan")
	c.expect(c.say("Astana\nNo address\n0"), "Write a number of places from 1 to 10000.")
	c.expect(c.say("10001"), "Write a number of places from 1 to 10000.")
	c.expect(c.say("10000\n@press ✅ Create"), "The event is created.")
}

func TestParseEventTime(t *testing.T) {
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC) // 14:00 in Astana
	for _, tc := range []struct{ in, want, problem string }{
		{"15.12.2026 10:00", "2026-12-15T05:00:00Z", ""},
		{"  5.1.2027   9:30 ", "2027-01-05T04:30:00Z", ""},
		{"15.12.2026 10.00", "2026-12-15T05:00:00Z", ""},
		{"2026-12-15 10:00", "2026-12-15T05:00:00Z", ""},
		{"28.11.2026 14:00", "", "events.when_past"},
		{"28.11.2026 14:01", "2026-11-28T09:01:00Z", ""},
		{"31.02.2027 10:00", "", "events.when_invalid"},
		{"15.12.2026 25:00", "", "events.when_invalid"},
		{"15.12.2026", "", "events.when_invalid"},
		{"tomorrow", "", "events.when_invalid"},
		{"15.12.2029 10:00", "", "events.when_far"},
	} {
		got, problem := parseEventTime(tc.in, now)
		if problem != tc.problem || (problem == "" && got.UTC().Format(time.RFC3339) != tc.want) {
			t.Errorf("%q: %v %q, want %s %q", tc.in, got.UTC(), problem, tc.want, tc.problem)
		}
	}
}

// 200 volunteers press Register on an event of 50 places at the same
// moment, through the bot (its state store is Redis at REDIS_URL, or the
// embedded one): 50 are told they are registered, 150 that it is full;
// those join the waitlist, each told a different place in it; the
// database holds exactly 50 confirmed and 150 waitlisted, nobody twice.
func TestTwoHundredPressRegisterForFiftyPlaces(t *testing.T) {
	c, _ := newEventsTest(t)
	c.newEvent("05.12.2026 10:00", "50")
	const n = 200
	ctx := context.Background()
	if err := c.db.Tx(ctx, func(tx *storage.Tx) error {
		for u := int64(1000); u < 1000+n; u++ {
			if _, err := tx.AddConsent(u, "volunteer", volunteerConsent); err != nil {
				return err
			}
			if err := tx.SaveVolunteer(storage.Volunteer{UserID: u, Name: fmt.Sprint("Volunteer ", u), Phone: "+77010000000"}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	c.out.take()
	press := func(data string, users []int64) {
		var wg sync.WaitGroup
		for _, u := range users {
			wg.Add(1)
			go func() { defer wg.Done(); c.pressRaw(u, data, 1) }()
		}
		wg.Wait()
	}
	var all []int64
	for u := int64(1000); u < 1000+n; u++ {
		all = append(all, u)
	}
	press("ev:r:1", all)
	out := c.out.take()
	var full []int64
	registered := 0
	for _, u := range all {
		msgs := strings.Join(messagesTo(out, u), "\n")
		switch {
		case strings.Contains(msgs, "✅ You are registered for E-000001") && !strings.Contains(msgs, "No places left"):
			registered++
		case strings.Contains(msgs, "All places are taken.") && !strings.Contains(msgs, "You are registered"):
			full = append(full, u)
		default:
			t.Fatalf("user %d was told:\n%s", u, msgs)
		}
	}
	if registered != 50 || len(full) != 150 {
		t.Fatalf("%d told registered, %d told full; want 50 and 150", registered, len(full))
	}
	press("ev:w:1", full)
	out = c.out.take()
	positions := map[string]int64{}
	pos := regexp.MustCompile(`you are number (\d+) on the waitlist`)
	for _, u := range full {
		m := pos.FindStringSubmatch(strings.Join(messagesTo(out, u), "\n"))
		if m == nil {
			t.Fatalf("user %d got no waitlist place:\n%s", u, strings.Join(messagesTo(out, u), "\n"))
		}
		if other, dup := positions[m[1]]; dup {
			t.Errorf("users %d and %d were both told place %s", other, u, m[1])
		}
		positions[m[1]] = u
	}
	for i := 1; i <= 150; i++ {
		if _, ok := positions[fmt.Sprint(i)]; !ok {
			t.Errorf("nobody was told waitlist place %d", i)
		}
	}
	var rs []storage.Registrant
	if err := c.db.Tx(ctx, func(tx *storage.Tx) error {
		var err error
		rs, err = tx.EventRegistrations(1)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	seen := map[string]bool{}
	for _, r := range rs {
		count[r.Status]++
		if seen[r.Name] {
			t.Errorf("%s registered twice", r.Name)
		}
		seen[r.Name] = true
	}
	if count[storage.RegConfirmed] != 50 || count[storage.RegWaitlist] != 150 || len(rs) != 200 {
		t.Errorf("stored %v (%d rows), want 50 confirmed and 150 waitlisted", count, len(rs))
	}
}

// The volunteers' list pages through 23 upcoming events five at a time:
// every event once, in order (nearest first), Previous back to the first
// page, no More on the last; data no button carries gets the outdated
// notice, and a page gone since shows the last page with a notice.
func TestEventListPages(t *testing.T) {
	c, _ := newEventsTest(t)
	ctx := context.Background()
	list := &lastInline{Sender: c.sender.Sender}
	c.sender.Sender = list
	// 23 events, each a little farther from Astana's centre than the last.
	for i := range 23 {
		if err := c.db.Tx(ctx, func(tx *storage.Tx) error {
			_, err := tx.CreateEvent(storage.Event{CoordinatorID: 50, Title: fmt.Sprintf("Event %02d", i+1),
				StartsAt: c.clock.Now().Add(time.Duration(48+i%3) * time.Hour), Region: "astana", Place: "Astana",
				Lat: 51.16 + float64(i)*0.05, Lon: 71.47, Capacity: 10})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	page := regexp.MustCompile(`(?m)^(\d+)\. (Event \d\d)$`)
	read := func(out string) []string {
		var got []string
		for _, m := range page.FindAllStringSubmatch(out, -1) {
			if m[1] != strings.TrimPrefix(m[2], "Event ") && m[1] != strings.TrimPrefix(m[2], "Event 0") {
				t.Errorf("line %s lists %s", m[1], m[2])
			}
			got = append(got, m[2])
		}
		return got
	}
	out := c.say("@as 7 en\nCharity\nVolunteer at an event\nAstana")
	seen := read(out)
	if len(seen) != 5 {
		t.Fatalf("the first page lists %v:\n%s", seen, out)
	}
	for range 4 {
		out = c.say("@press More ▶️")
		seen = append(seen, read(out)...)
	}
	var want []string
	for i := range 23 {
		want = append(want, fmt.Sprintf("Event %02d", i+1))
	}
	if !slices.Equal(seen, want) {
		t.Fatalf("the pages listed %v,\nwant %v", seen, want)
	}
	c.reject(out, "More ▶️") // the last page, 21–23
	for range 4 {
		out = c.say("@press ◀️ Back")
	}
	if got := read(out); !slices.Equal(got, want[:5]) {
		t.Fatalf("back on the first page: %v\n%s", got, out)
	}
	for _, data := range []string{"ev:p:3:51.1600:71.4700", "ev:p:-5:51.1600:71.4700", "ev:p:5:NaN:71.47",
		"ev:p:5:51.16", "ev:p:x:51.16:71.47", "ev:p:99999999999999999999:51.16:71.47"} {
		out := c.press(7, data, list.id())
		c.expect(out, "This button is no longer active.")
		c.reject(out, "Event 0")
	}
	out = c.press(7, "ev:p:50:51.1600:71.4700", list.id())
	c.expect(out, "The list has changed since: here is its last page.", "21. Event 21", "23. Event 23", "◀️")
	c.reject(out, "20. Event 20", "More ▶️")
	out = c.press(7, "ev:p:0:51.1600:71.4700", list.id())
	c.expect(out, "1. Event 01", "5. Event 05", "More ▶️")
}

// "No address" said in other words — "Нет адреса", "Адрессіз" — is the
// button, not an address.
func TestNewEventNoAddressInOtherWords(t *testing.T) {
	for _, words := range []string{"Нет адреса", "Адрессіз", "мекенжай жоқ", "Without address"} {
		c, _ := newEventsTest(t)
		out := c.say("@as 50 en\n/newevent\nTree planting\nWe plant trees.\n05.12.2026 10:00\nAstana\n" + words + "\n10")
		c.expect(out, "Create")
		c.reject(out, words)
	}
}

// With no charity event upcoming anywhere, Volunteer says so at once: the
// citizen is not asked where they are for a list that can only be empty,
// nor left in a step that answers every town with "none". Once an event
// is created the same button asks where.
func TestVolunteerWithNoEventUpcomingIsToldAtOnce(t *testing.T) {
	c, _ := newEventsTest(t)
	out := c.say("@as 7 en\nCharity\nVolunteer at an event")
	c.expect(out, "There are no upcoming charity events yet.")
	c.reject(out, "share your location")
	if st, _ := c.states.Get(context.Background(), 7); st.Flow == "volunteer" {
		t.Fatalf("left in the volunteer's flow at %q", st.Step)
	}
	c.reject(c.say("Astana"), "There are no upcoming charity events yet.")
	c.newEvent("15.12.2026 10:00", "10")
	out = c.say("@as 7 en\n/menu\nCharity\nVolunteer at an event")
	c.expect(out, "Charity events near you")
	c.reject(out, "There are no upcoming")
	c.expect(c.say("Astana"), "Tree planting")
}

// An address or a volunteer's name that spells a menu button ("Театр",
// "Дом дружбы") is the answer asked for, not the button: the step takes
// every text as it is.
func TestAddressAndNameThatSpellAButton(t *testing.T) {
	c, _ := newEventsTest(t)
	// The summary's Create typed, as its Russian button says.
	out := c.say("@as 50 en\n/newevent\nConcert\nA concert of the choirs.\n15.12.2026 10:00\nAstana\nДом дружбы\n10\nсоздать")
	c.expect(out, "The event is created.")
	es, err := c.db.CoordinatorEvents(context.Background(), 50, c.clock.Now())
	if err != nil || len(es) != 1 || es[0].Address != "Дом дружбы" {
		t.Fatalf("events %+v, %v: want the address Дом дружбы", es, err)
	}
	out = c.volunteer(7, "Театр", "+77011234567")
	c.expect(out, "You are registered for E-000001")
	c.reject(out, "Ethnic theatres")
	if v, err := c.db.Volunteer(context.Background(), 7); err != nil || v.Name != "Театр" {
		t.Fatalf("volunteer %+v, %v: want the name Театр", v, err)
	}
}

// A volunteer offered a place from the waitlist may type the button's
// words ("приду", "I will come") instead of pressing Confirm: the place is
// theirs, and the offer's message says so. A bare "да" may answer another
// question (Cancel my registration?): it confirms nothing.
func TestPlaceOfferConfirmedTyped(t *testing.T) {
	c, _ := newEventsTest(t)
	c.newEvent("05.12.2026 10:00", "1")
	c.volunteer(1, "Dana", "+77011234567")
	c.expect(c.volunteer(2, "Alia", "+77015554433"), "number 1 on the waitlist")
	c.expect(c.say("@as 2 en\nI will come"), "I did not understand") // nothing offered yet
	c.say("@as 1 en\n/myevents\n@press ✖️ Cancel my registration\n@press ❌ Yes, cancel it")
	c.reject(c.say("@as 2 ru\nда"), "Your place is confirmed")
	out := c.say("@as 2 ru\nприду")
	c.expect(out, "(edited) ✅ Your place is confirmed.", "✅ Your place is confirmed. Thank you!")
	c.expect(c.say("/myevents"), "✅ place confirmed")
	c.expect(c.say("@as 50 en\n/events"), "Confirmed: 1")
}
