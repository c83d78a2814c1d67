package handlers

import (
	"testing"
	"time"
)

// /stats: an administrator gets the period's figures in their language and
// a CSV document; no personal data appears; others are refused; a period
// that cannot be read gets the examples.
func TestStatsForAdministrators(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.mediator(2, "Aigerim")
	c.submit(10, "@contact "+citizenPhone)
	c.say("@as 2 en\n@press ✅ Accept")

	out := c.say("@as 100 en\n/stats")
	c.expect(out, "📊 Dostyq statistics", "Users:", "Mediation cases submitted: 1.", "accepted by a mediator: 1",
		"Family: 1", "Astana city: 1", "Median time from submission to acceptance: 0 h 0 min (1 accepted).",
		"Help requests: 0.", "Families helped: 0 (0 people).", "📎 dostyq-stats-")
	c.reject(out, citizenPhone, "fence", "Aigerim", "User10")

	ru := c.say("@as 100 ru\n/language\n@press Русский\n/stats 7d")
	c.expect(ru, "📊 Статистика Dostyq", "Поступило дел медиации: 1.", "город Астана: 1")
	c.say("/language\n@press English")

	for _, bad := range []string{"/stats yesterday", "/stats 0d", "/stats 2026-02-30 2026-03-01"} {
		c.expect(c.say("@as 100 en\n"+bad), "I could not read the period.")
	}
	// The later day first is the same period.
	c.expect(c.say("@as 100 en\n/stats 2026-03-31 2026-01-01"), "01.01.2026 – 31.03.2026")
	// A period before the case: nothing submitted.
	c.expect(c.say("@as 100 en\n/stats 2026-01-01 2026-03-31"), "01.01.2026 – 31.03.2026", "Mediation cases submitted: 0.")

	for _, who := range []string{"@as 10 en", "@as 2 en"} {
		out := c.say(who + "\n/stats")
		c.expect(out, "Only administrators can see the statistics.")
		c.reject(out, "📎")
	}
}

func TestParsePeriod(t *testing.T) {
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in       string
		ok       bool
		from, to string
	}{
		{"", true, "2026-10-29T09:00:00Z", "2026-11-28T09:00:00Z"},
		{"7d", true, "2026-11-21T09:00:00Z", "2026-11-28T09:00:00Z"},
		{"90D", true, "2026-08-30T09:00:00Z", "2026-11-28T09:00:00Z"},
		{"2026-01-01 2026-03-31", true, "2025-12-31T19:00:00Z", "2026-03-31T19:00:00Z"},
		{"2026-01-01 2026-01-01", true, "2025-12-31T19:00:00Z", "2026-01-01T19:00:00Z"},
		// As the bot writes dates; the two ways may be mixed.
		{"01.01.2026 31.03.2026", true, "2025-12-31T19:00:00Z", "2026-03-31T19:00:00Z"},
		{"01.01.2026 2026-03-31", true, "2025-12-31T19:00:00Z", "2026-03-31T19:00:00Z"},
		// The later day first: the same period.
		{"31.03.2026 01.01.2026", true, "2025-12-31T19:00:00Z", "2026-03-31T19:00:00Z"},
		{"31.02.2026 01.03.2026", false, "", ""},
		{"1.1.2026 2.1.2026", false, "", ""},
		{"7", false, "", ""},
		{"-7d", false, "", ""},
		{"99999d", false, "", ""},
		{"2026-01-01", true, "", ""}, // one word that is not Nd
		{"2026-13-01 2026-12-01", false, "", ""},
		{"2026-01-01 2026-01-02 2026-01-03", false, "", ""},
	} {
		from, to, ok := parsePeriod(tc.in, now)
		if tc.in == "2026-01-01" {
			if ok {
				t.Errorf("%q accepted", tc.in)
			}
			continue
		}
		if ok != tc.ok {
			t.Errorf("%q: ok %v, want %v", tc.in, ok, tc.ok)
			continue
		}
		if ok && (from.UTC().Format(time.RFC3339) != tc.from || to.UTC().Format(time.RFC3339) != tc.to) {
			t.Errorf("%q: %s – %s, want %s – %s", tc.in, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), tc.from, tc.to)
		}
	}
}

// /stats counts the period's charity events, their registrations by
// status and the volunteers with a place; the CSV has the same figures.
func TestStatsCountEventsAndVolunteers(t *testing.T) {
	c, docs := newEventsTest(t)
	c.newEvent("05.12.2026 10:00", "1")
	c.volunteer(1, "Dana", "+77011234567")
	c.volunteer(2, "Alia", "+77015554433")
	c.volunteer(3, "Bolat", "+77015554400")

	out := c.say("@as 100 en\n/stats 2026-12-01 2026-12-31")
	c.expect(out, "🙌 Charity events starting in the period: 1 (cancelled: 0).",
		"Registrations: 1 confirmed, 2 on the waitlist, 0 offered from it. Volunteers with a confirmed place: 1.")
	c.reject(out, "Dana", "+7701")
	csv := docs.last(t)
	want := map[string]string{"events/total": "1", "registrations/total": "3", "registrations_by_status/confirmed": "1",
		"registrations_by_status/waitlist": "2", "registrations/volunteers_confirmed": "1"}
	for _, rec := range csv {
		if w, ok := want[rec[0]+"/"+rec[1]]; ok {
			if rec[2] != w {
				t.Errorf("CSV %s/%s = %s, want %s", rec[0], rec[1], rec[2], w)
			}
			delete(want, rec[0]+"/"+rec[1])
		}
	}
	if len(want) > 0 {
		t.Errorf("CSV lacks %v", want)
	}
	// A period without the event counts none.
	c.expect(c.say("/stats 2026-11-01 2026-11-30"), "Charity events starting in the period: 0 (cancelled: 0).")
}
