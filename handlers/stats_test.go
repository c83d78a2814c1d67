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

	for _, bad := range []string{"/stats yesterday", "/stats 0d", "/stats 2026-03-31 2026-01-01", "/stats 2026-02-30 2026-03-01"} {
		c.expect(c.say("@as 100 en\n"+bad), "I could not read the period.")
	}
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
