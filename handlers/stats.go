package handlers

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dostyq/dostyq/bot"
	"github.com/dostyq/dostyq/storage"
)

// kazakhstanTime is the zone /stats dates are read in (UTC+5 all year).
var kazakhstanTime = time.FixedZone("UTC+5", 5*60*60)

// maxStatsDays bounds a period, so a typo cannot ask for centuries.
const maxStatsDays = 3660

// parsePeriod reads the /stats argument: empty (the last 30 days), "7d",
// "30d", or two dates "2026-01-01 2026-03-31" (both days included).
func parsePeriod(args string, now time.Time) (from, to time.Time, ok bool) {
	f := strings.Fields(args)
	// "The last N days" includes what was submitted this very moment; the
	// period's end is exclusive. A microsecond, not a nanosecond: PostgreSQL
	// keeps times to the microsecond.
	now = now.Add(time.Microsecond)
	switch len(f) {
	case 0:
		return now.Add(-30 * 24 * time.Hour), now, true
	case 1:
		n, err := strconv.Atoi(strings.TrimSuffix(strings.ToLower(f[0]), "d"))
		if err != nil || n < 1 || n > maxStatsDays || !strings.HasSuffix(strings.ToLower(f[0]), "d") {
			return time.Time{}, time.Time{}, false
		}
		return now.Add(-time.Duration(n) * 24 * time.Hour), now, true
	case 2:
		a, err1 := parseDay(f[0])
		b, err2 := parseDay(f[1])
		if b.Before(a) {
			a, b = b, a // "/stats 31.12.2026 01.01.2026": the same period
		}
		if err1 != nil || err2 != nil || b.Sub(a) > maxStatsDays*24*time.Hour {
			return time.Time{}, time.Time{}, false
		}
		return a, b.AddDate(0, 0, 1), true
	}
	return time.Time{}, time.Time{}, false
}

// parseDay reads a day as 2026-01-31 or as the bot writes dates, 31.01.2026.
func parseDay(s string) (time.Time, error) {
	if t, err := time.ParseInLocation("02.01.2006", s, kazakhstanTime); err == nil {
		return t, nil
	}
	return time.ParseInLocation("2006-01-02", s, kazakhstanTime)
}

// stats shows administrators the figures of a period, as a message and as
// a CSV document. Counts only: no personal data.
func (h *Handlers) stats(r *Request) error {
	if !r.IsAdmin() {
		return forbidden("stats.admins_only")
	}
	from, to, ok := parsePeriod(r.Args, h.now())
	if !ok {
		return invalid("stats.bad_period", nil)
	}
	s, err := h.db.Stats(r.ctx, from, to)
	if err != nil {
		return err
	}
	if err := r.Reply(h.statsText(r, s)); err != nil {
		return err
	}
	name := fmt.Sprintf("dostyq-stats-%s-%s.csv", s.From.In(kazakhstanTime).Format("20060102"),
		s.To.Add(-time.Nanosecond).In(kazakhstanTime).Format("20060102"))
	_, err = r.Send(bot.Message{Document: &bot.Document{Name: name, Data: statsCSV(s)}})
	return err
}

// statsText is the figures in the administrator's language.
func (h *Handlers) statsText(r *Request, s storage.Stats) string {
	var b strings.Builder
	line := func(id string, data map[string]any) {
		b.WriteString(r.T(id, data))
		b.WriteByte('\n')
	}
	item := func(label string, n int) {
		fmt.Fprintf(&b, "  • %s: %d\n", label, n)
	}
	line("stats.title", map[string]any{
		"From": s.From.In(kazakhstanTime).Format("02.01.2006"),
		"To":   s.To.Add(-time.Nanosecond).In(kazakhstanTime).Format("02.01.2006")})
	b.WriteByte('\n')
	line("stats.users", map[string]any{"Total": s.Users, "Active7": s.Active7, "Active30": s.Active30})
	for _, lang := range sortedKeys(s.UsersByLang) {
		item(r.T("stats.lang_"+langKey(lang), nil), s.UsersByLang[lang])
	}
	b.WriteByte('\n')
	line("stats.cases", map[string]any{"Count": s.Cases})
	for _, st := range sortedKeys(s.CasesByStatus) {
		item(r.T("mediation.status_"+st, nil), s.CasesByStatus[st])
	}
	for _, k := range sortedKeys(s.CasesByKind) {
		item(r.T(kindLabel(k), nil), s.CasesByKind[k])
	}
	for _, reg := range sortedKeys(s.CasesByRegion) {
		item(h.regionLabel(r, reg), s.CasesByRegion[reg])
	}
	if s.Accepted > 0 {
		line("stats.median_accept", map[string]any{"Duration": r.duration(s.MedianAccept), "Accepted": s.Accepted})
	}
	b.WriteByte('\n')
	line("stats.requests", map[string]any{"Count": s.Requests})
	for _, st := range sortedKeys(s.RequestsByStatus) {
		item(r.T("help.status_"+st, nil), s.RequestsByStatus[st])
	}
	for _, k := range sortedKeys(s.RequestsByKind) {
		item(r.T(helpKindLabel(k), nil), s.RequestsByKind[k])
	}
	line("stats.families", map[string]any{"Families": s.FamiliesHelped, "People": s.People})
	b.WriteByte('\n')
	line("stats.events", map[string]any{"Count": s.Events, "Cancelled": s.EventsByStatus[storage.EventCancelled]})
	line("stats.registrations", map[string]any{"Confirmed": s.RegistrationsByStatus[storage.RegConfirmed],
		"Waitlist": s.RegistrationsByStatus[storage.RegWaitlist], "Offered": s.RegistrationsByStatus[storage.RegOffered],
		"Volunteers": s.Volunteers})
	return strings.TrimRight(b.String(), "\n")
}

// regionLabel is a region's name in the user's language (its code when unknown).
func (h *Handlers) regionLabel(r *Request, code string) string {
	if reg, ok := h.gaz.Region(code); ok && reg.Name[r.Lang] != "" {
		return reg.Name[r.Lang]
	}
	return code
}

// langKey keeps a stored language code to those with a label.
func langKey(lang string) string {
	switch lang {
	case "kk", "ru", "en":
		return lang
	}
	return "other"
}

// duration says d in whole hours and minutes, in the user's language.
func (r *Request) duration(d time.Duration) string {
	d = d.Round(time.Minute)
	return r.T("stats.hours_minutes", map[string]any{"Hours": int(d.Hours()), "Minutes": int(d.Minutes()) % 60})
}

func sortedKeys(m map[string]int) []string { return slices.Sorted(maps.Keys(m)) }

// statsCSV is the figures as CSV: section, key, value (codes, not labels,
// so a spreadsheet reads the same whatever the administrator's language).
func statsCSV(s storage.Stats) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	row := func(section, key string, v any) { _ = w.Write([]string{section, key, fmt.Sprint(v)}) }
	byKey := func(section string, m map[string]int) {
		for _, k := range sortedKeys(m) {
			row(section, k, m[k])
		}
	}
	row("section", "key", "value")
	row("period", "from", s.From.Format(time.RFC3339))
	row("period", "to", s.To.Format(time.RFC3339))
	row("users", "total", s.Users)
	row("users", "active_7d", s.Active7)
	row("users", "active_30d", s.Active30)
	byKey("users_by_language", s.UsersByLang)
	row("cases", "total", s.Cases)
	byKey("cases_by_status", s.CasesByStatus)
	byKey("cases_by_kind", s.CasesByKind)
	byKey("cases_by_region", s.CasesByRegion)
	row("cases", "accepted", s.Accepted)
	row("cases", "median_minutes_to_accept", int(s.MedianAccept.Round(time.Minute).Minutes()))
	row("help_requests", "total", s.Requests)
	byKey("help_requests_by_status", s.RequestsByStatus)
	byKey("help_requests_by_kind", s.RequestsByKind)
	row("help_requests", "families_helped", s.FamiliesHelped)
	row("help_requests", "people_in_families_helped", s.People)
	row("events", "total", s.Events)
	byKey("events_by_status", s.EventsByStatus)
	row("registrations", "total", s.Registrations)
	byKey("registrations_by_status", s.RegistrationsByStatus)
	row("registrations", "volunteers_confirmed", s.Volunteers)
	w.Flush()
	return buf.Bytes()
}
