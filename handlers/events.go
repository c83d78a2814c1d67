package handlers

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Asia/Almaty in a container without zoneinfo
	"unicode/utf8"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/bot"
	"github.com/dostyq/dostyq/locales"
	"github.com/dostyq/dostyq/storage"
)

// Volunteering at charity events: coordinators create events (/newevent),
// list them, export registrations, message volunteers and cancel (/events);
// volunteers find events near them, register (name and phone asked once,
// after consent), join a full event's waitlist, and cancel (/myevents). A
// place freed is offered to the first on the waitlist for 12 hours.
// Reminders go the day before and two hours before.

// volunteerConsent is the version of the consent text "consent.volunteer".
const volunteerConsent = "2026-11-28"

// Limits and timings of events.
const (
	eventTitleMax   = 100
	eventDescMax    = 1000
	eventAddressMax = 200
	eventMessageMax = 1000
	eventNameMax    = 100
	eventPlacesMax  = 10000
	eventsPerPage   = 5
	eventsListMax   = 10
	// eventOfferHold is how long a place passed on from the waitlist waits
	// for the volunteer's confirmation.
	eventOfferHold = 12 * time.Hour
	// eventHorizon is how far ahead an event may be planned.
	eventHorizon = 2 * 365 * 24 * time.Hour

	timerEventRemindDay = "event.remind_day"
	timerEventRemind2h  = "event.remind_2h"
	timerEventOffer     = "event.offer"
)

// almaty is the zone people type event times in.
var almaty = func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Almaty"); err == nil {
		return loc
	}
	return time.FixedZone("UTC+5", 5*60*60)
}()

// eventTimeLayouts are the ways a date and time may be typed.
var eventTimeLayouts = []string{"2.1.2006 15:04", "2.1.2006 15.04", "2.1.2006, 15:04", "2006-01-02 15:04"}

// parseEventTime reads a typed date and time in Kazakhstan time. It returns
// the message id of the problem when it cannot be an event's start.
func parseEventTime(s string, now time.Time) (time.Time, string) {
	s = strings.Join(strings.Fields(s), " ")
	for _, layout := range eventTimeLayouts {
		t, err := time.ParseInLocation(layout, s, almaty)
		if err != nil {
			continue
		}
		switch {
		case !t.After(now):
			return time.Time{}, "events.when_past"
		case t.Sub(now) > eventHorizon:
			return time.Time{}, "events.when_far"
		}
		return t, ""
	}
	return time.Time{}, "events.when_invalid"
}

// eventDate formats t in Kazakhstan time with the month's name in lang.
func (h *Handlers) eventDate(lang string, t time.Time) string {
	t = t.In(almaty)
	return h.cat.T(lang, "events.date", map[string]any{
		"Day": t.Day(), "Month": h.cat.T(lang, fmt.Sprintf("events.month_%d", int(t.Month())), nil),
		"Year": t.Year(), "Time": t.Format("15:04")})
}

// eventExample is a date a week from now, written as the user should type it.
func (h *Handlers) eventExample() string {
	return h.now().In(almaty).AddDate(0, 0, 7).Format("02.01.2006") + " 10:00"
}

// mayManageEvents tells whether the user is a coordinator or an administrator.
func (h *Handlers) mayManageEvents(r *Request) (bool, error) {
	if r.IsAdmin() {
		return true, nil
	}
	return h.db.HasRole(r.ctx, r.UserID, storage.RoleCoordinator)
}

// ---- coordinator: /newevent ----

func (h *Handlers) newEvent(r *Request) error {
	ok, err := h.mayManageEvents(r)
	if err != nil {
		return err
	}
	if !ok {
		return forbidden("events.coordinators_only")
	}
	return h.StartFlow(r, "newevent", nil)
}

func (h *Handlers) newEventFlow() *Flow {
	text := func(key string, max int, field, next string) Step {
		return Step{
			Ask: func(r *Request) error {
				return r.ReplyKeyboard(r.T(key, map[string]any{"Max": max}), r.FlowKeyboard())
			},
			Answer: func(r *Request) (string, error) {
				if r.Text == "" {
					return Stay, invalid("events.text_expected", nil)
				}
				if n := utf8.RuneCountInString(r.Text); n > max {
					return refuseLong(r, "events.too_long", map[string]any{"Max": max, "Count": n}, r.Text)
				}
				r.State.Set(field, r.Text)
				return next, nil
			},
			FreeText: true, // a title or description in the coordinator's own words
		}
	}
	return &Flow{
		Name:  "newevent",
		First: "title",
		Steps: map[string]Step{
			"title":       text("events.ask_title", eventTitleMax, "title", "description"),
			"description": text("events.ask_description", eventDescMax, "description", "when"),
			"when": {
				Ask: func(r *Request) error {
					return r.ReplyKeyboard(r.T("events.ask_when", map[string]any{"Example": h.eventExample()}), r.FlowKeyboard())
				},
				Answer: func(r *Request) (string, error) {
					t, problem := parseEventTime(r.Text, h.now())
					if problem != "" {
						return Stay, invalid(problem, map[string]any{"Example": h.eventExample()})
					}
					r.State.Set("when", t.UTC().Format(time.RFC3339))
					return "where", nil
				},
			},
			"where": {
				Ask: func(r *Request) error {
					return r.ReplyKeyboard(r.T("events.ask_where", nil), r.FlowKeyboard(
						tgbotapi.NewKeyboardButtonRow(tgbotapi.NewKeyboardButtonLocation(r.T("events.btn_location", nil)))))
				},
				Answer: func(r *Request) (string, error) {
					w, ok, err := h.resolvePlace(r, func(v string) string { return StepData("where", v) })
					if err != nil || !ok {
						return Stay, err
					}
					if w.Outside {
						return Stay, invalid("events.where_outside", nil)
					}
					r.State.Set("lat", strconv.FormatFloat(w.Lat, 'f', 6, 64))
					r.State.Set("lon", strconv.FormatFloat(w.Lon, 'f', 6, 64))
					r.State.Set("region", w.Region)
					r.State.Set("place", placeName(w.Settlement, r.Lang))
					return "address", nil
				},
			},
			"address": {
				Ask: func(r *Request) error {
					return r.ReplyKeyboard(r.T("events.ask_address", map[string]any{"Max": eventAddressMax}), r.FlowKeyboard(
						tgbotapi.NewKeyboardButtonRow(r.Button("events.no_address"))))
				},
				Answer: func(r *Request) (string, error) {
					switch {
					case r.Text == "":
						return Stay, invalid("events.text_expected", nil)
					case h.labelMatches(r.Text, "events.no_address") || r.Text == "-":
						r.State.Set("address", "")
					case utf8.RuneCountInString(r.Text) > eventAddressMax:
						return refuseLong(r, "events.too_long", map[string]any{"Max": eventAddressMax, "Count": utf8.RuneCountInString(r.Text)}, r.Text)
					default:
						r.State.Set("address", r.Text)
					}
					return "places", nil
				},
				FreeText: true, // "Театр", "Дом дружбы": an address, not the menu's words
			},
			"places": {
				Ask: func(r *Request) error {
					return r.ReplyKeyboard(r.T("events.ask_places", map[string]any{"Max": eventPlacesMax}), r.FlowKeyboard())
				},
				Answer: func(r *Request) (string, error) {
					n, err := strconv.Atoi(strings.ReplaceAll(strings.TrimSpace(r.Text), " ", ""))
					if err != nil || n < 1 || n > eventPlacesMax {
						return Stay, invalid("events.places_invalid", map[string]any{"Max": eventPlacesMax})
					}
					r.State.Set("places", strconv.Itoa(n))
					return "confirm", nil
				},
			},
			"confirm": {Ask: h.newEventSummary, Answer: h.newEventConfirm},
		},
		Answers: append([]Answer{
			{Key: "title", Label: "privacy.answer_title"},
			{Key: "description", Label: "help.field_description"},
			{Key: "when", Label: "privacy.answer_when", Value: func(r *Request, v string) string {
				if t, err := time.Parse(time.RFC3339, v); err == nil {
					return h.eventDate(r.Lang, t)
				}
				return v
			}},
			{Key: "place", Label: "help.field_where"},
			{Key: "region", Label: "privacy.answer_region", Value: h.regionAnswer},
			{Key: "address", Label: "privacy.answer_address"},
			{Key: "places", Label: "privacy.answer_places"},
		}, hiddenAnswers("lat", "lon")...),
	}
}

// draftEvent is the event the coordinator's answers describe.
func (h *Handlers) draftEvent(r *Request) (storage.Event, error) {
	when, err1 := time.Parse(time.RFC3339, r.State.Get("when"))
	lat, err2 := strconv.ParseFloat(r.State.Get("lat"), 64)
	lon, err3 := strconv.ParseFloat(r.State.Get("lon"), 64)
	places, err4 := strconv.Atoi(r.State.Get("places"))
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return storage.Event{}, fmt.Errorf("events: draft: %w", err)
	}
	return storage.Event{CoordinatorID: r.UserID, Title: r.State.Get("title"), Description: r.State.Get("description"),
		StartsAt: when, Region: r.State.Get("region"), Place: r.State.Get("place"), Address: r.State.Get("address"),
		Lat: lat, Lon: lon, Capacity: places}, nil
}

func (h *Handlers) newEventSummary(r *Request) error {
	e, err := h.draftEvent(r)
	if err != nil {
		return err
	}
	if err := r.ReplyKeyboard(r.T("events.summary_hint", nil), r.FlowKeyboard()); err != nil {
		return err
	}
	_, err = r.ReplyInline(h.eventCard(r.Lang, e, false), tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
		r.InlineButton("events.btn_create", StepData("confirm", "yes")),
		r.InlineButton("btn.cancel", StepData("confirm", "no")))))
	return err
}

func (h *Handlers) newEventConfirm(r *Request) (string, error) {
	if r.Callback == nil {
		// A button's label typed ("Создать", "Құру").
		r.Data = h.typedButton(r.Text, map[string]string{"events.btn_create": "yes", "btn.cancel": "no"})
	}
	switch r.Data {
	case "no":
		r.EditAside(r.T("events.not_created", nil), nil)
		return End, h.sendMenu(r, "menu.main")
	case "yes":
	default:
		return Stay, pressButtons("events.press_button")
	}
	e, err := h.draftEvent(r)
	if err != nil {
		return Stay, err
	}
	if !e.StartsAt.After(h.now()) {
		return "when", invalid("events.when_past", map[string]any{"Example": h.eventExample()})
	}
	// Handled again after its commit (a replica took the press over), the
	// press shows the event it created.
	created, again, err := h.stepOnce(r, "event.create", func(tx *storage.Tx) (string, error) {
		if e, err = tx.CreateEvent(e); err != nil {
			return "", err
		}
		ref := strconv.FormatInt(e.ID, 10)
		for kind, before := range map[string]time.Duration{timerEventRemindDay: 24 * time.Hour, timerEventRemind2h: 2 * time.Hour} {
			if due := e.StartsAt.Add(-before); due.After(tx.Now()) {
				if err := tx.ScheduleTimer(kind, ref, due); err != nil {
					return "", err
				}
			}
		}
		return ref, tx.Audit(r.UserID, "event.create", e.Number())
	})
	if err != nil {
		return Stay, err
	}
	if again {
		id, _ := strconv.ParseInt(created, 10, 64)
		if e, err = h.db.Event(r.ctx, id); err != nil {
			return Stay, err
		}
	}
	r.EditAside(h.eventCard(r.Lang, e, false), nil)
	return End, h.sendMenu(r, "events.created")
}

// eventCard describes an event in lang: what, when, where, places.
func (h *Handlers) eventCard(lang string, e storage.Event, withLeft bool) string {
	where := e.Place
	if reg, ok := h.gaz.Region(e.Region); ok {
		if where != "" {
			where += ", "
		}
		where += reg.Name[lang]
	}
	if e.Address != "" {
		where += ", " + e.Address
	}
	number := "" // a draft has none yet
	if e.ID != 0 {
		number = e.Number()
	}
	data := map[string]any{"Number": number, "Title": e.Title, "Description": e.Description,
		"When": h.eventDate(lang, e.StartsAt), "Where": where, "Places": e.Capacity, "Left": e.Left()}
	text := h.cat.T(lang, "events.card", data)
	if withLeft {
		if e.Left() > 0 {
			text += "\n" + h.cat.N(lang, "events.left", e.Left(), data)
		} else {
			text += "\n" + h.cat.T(lang, "events.full", data)
		}
	}
	return text
}

// ---- coordinator: /events ----

func (h *Handlers) coordinatorEvents(r *Request) error {
	ok, err := h.mayManageEvents(r)
	if err != nil {
		return err
	}
	if !ok {
		return forbidden("events.coordinators_only")
	}
	owner := r.UserID
	if r.IsAdmin() {
		owner = 0 // administrators see every coordinator's events
	}
	es, err := h.db.CoordinatorEvents(r.ctx, owner, h.now())
	if err != nil {
		return err
	}
	if len(es) == 0 {
		return r.ReplyKey("events.none_yours", nil)
	}
	for i, e := range es {
		if i == eventsListMax {
			break
		}
		id := strconv.FormatInt(e.ID, 10)
		text := h.eventCard(r.Lang, e, false) + "\n" + r.T("events.counts", map[string]any{"Confirmed": e.Confirmed, "Waitlist": e.Waitlist})
		if e.Status == storage.EventCancelled {
			text += "\n" + r.T("events.is_cancelled", nil)
			if err := r.Reply(text); err != nil {
				return err
			}
			continue
		}
		kb := tgbotapi.NewInlineKeyboardMarkup(
			tgbotapi.NewInlineKeyboardRow(r.InlineButton("events.btn_export", "ev:e:"+id), r.InlineButton("events.btn_message", "ev:m:"+id)),
			tgbotapi.NewInlineKeyboardRow(r.InlineButton("events.btn_cancel_event", "ev:c:"+id)))
		if _, err := r.ReplyInline(text, kb); err != nil {
			return err
		}
	}
	return nil
}

// ownEvent returns event id when the user may act on it: its coordinator
// or an administrator.
func (h *Handlers) ownEvent(r *Request, id int64) (storage.Event, error) {
	e, err := h.db.Event(r.ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return e, notFound("events.not_found")
	}
	if err != nil {
		return e, err
	}
	if e.CoordinatorID != r.UserID && !r.IsAdmin() {
		return e, forbidden("events.not_yours")
	}
	return e, nil
}

// exportRegistrations sends the event's registrations as CSV (audited).
func (h *Handlers) exportRegistrations(r *Request, e storage.Event) error {
	var rs []storage.Registrant
	err := h.inTx(r.ctx, func(tx *storage.Tx) error {
		var err error
		if rs, err = tx.EventRegistrations(e.ID); err != nil {
			return err
		}
		return tx.Audit(r.UserID, "event.export", e.Number())
	})
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"name", "phone", "registered_at", "status"})
	for _, reg := range rs {
		_ = w.Write([]string{csvSafe(reg.Name), reg.Phone, reg.RegisteredAt.In(almaty).Format("2006-01-02 15:04"), reg.Status})
	}
	w.Flush()
	r.Answer("")
	_, err = r.Send(bot.Message{Protect: true, Document: &bot.Document{
		Name: e.Number() + "-registrations.csv", Data: buf.Bytes(),
		Caption: r.T("events.export_caption", map[string]any{"Number": e.Number(), "Count": len(rs)})}})
	return err
}

// csvSafe keeps a spreadsheet from reading a typed name as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@", rune(s[0])) {
		return "'" + s
	}
	return s
}

// messageVolunteersFlow has the coordinator type a message for the
// confirmed volunteers of an event.
func (h *Handlers) messageVolunteersFlow() *Flow {
	return &Flow{
		Name:  "eventmsg",
		First: "text",
		Steps: map[string]Step{
			"text": {
				Ask: func(r *Request) error {
					return r.ReplyKeyboard(r.T("events.ask_message", map[string]any{"Max": eventMessageMax}), r.FlowKeyboard())
				},
				Answer: func(r *Request) (string, error) {
					if r.Text == "" {
						return Stay, invalid("events.text_expected", nil)
					}
					if n := utf8.RuneCountInString(r.Text); n > eventMessageMax {
						return refuseLong(r, "events.too_long", map[string]any{"Max": eventMessageMax, "Count": n}, r.Text)
					}
					id, _ := strconv.ParseInt(r.State.Get("event"), 10, 64)
					e, err := h.ownEvent(r, id)
					if err != nil {
						return Stay, err
					}
					// Handled again after its commit (a replica took the
					// message over), it is not sent a second time: the
					// coordinator hears how many it went to.
					count, _, err := h.stepOnce(r, "event.message", func(tx *storage.Tx) (string, error) {
						vs, err := tx.ConfirmedVolunteers(e.ID)
						if err != nil {
							return "", err
						}
						notices := make([]Notice, 0, len(vs))
						for _, v := range vs {
							lang := locales.Lang(v.Lang)
							text := h.cat.T(lang, "events.message_to_volunteer", map[string]any{"Number": e.Number(), "Title": e.Title, "Text": r.Text})
							notices = append(notices, Notice{Message: bot.Message{ChatID: v.UserID, Text: text, Bulk: true}})
						}
						return strconv.Itoa(len(vs)), h.notify(tx, notices...)
					})
					if err != nil {
						return Stay, err
					}
					sent, _ := strconv.Atoi(count)
					kb := r.mainMenu()
					_, err = r.Send(bot.Message{Text: r.N("events.message_sent", sent, map[string]any{"Count": sent}), Keyboard: &kb})
					return End, err
				},
				FreeText: true,
			},
		},
		Answers: []Answer{{Key: "event", Label: "privacy.answer_event", Value: eventAnswer}},
	}
}

// cancelEvent cancels the event and tells every registered volunteer.
func (h *Handlers) cancelEvent(r *Request, e storage.Event) error {
	var told int
	err := h.inTx(r.ctx, func(tx *storage.Tx) error {
		rs, err := tx.CancelEvent(e.ID)
		if err != nil {
			return err
		}
		ref := strconv.FormatInt(e.ID, 10)
		for _, kind := range []string{timerEventRemindDay, timerEventRemind2h} {
			if err := tx.CancelTimer(kind, ref); err != nil {
				return err
			}
		}
		var notices []Notice
		for _, reg := range rs {
			if reg.Status == storage.RegOffered {
				if err := tx.CancelTimer(timerEventOffer, strconv.FormatInt(reg.ID, 10)); err != nil {
					return err
				}
			}
			if reg.UserID <= 0 {
				continue // the volunteer ran /forget: nobody to tell
			}
			lang := locales.Lang(reg.Lang)
			text := h.cat.T(lang, "events.cancelled_to_volunteer", map[string]any{"Number": e.Number(), "Title": e.Title,
				"When": h.eventDate(lang, e.StartsAt)})
			notices = append(notices, Notice{Message: bot.Message{ChatID: reg.UserID, Text: text}})
		}
		told = len(notices)
		if err := h.notify(tx, notices...); err != nil {
			return err
		}
		return tx.Audit(r.UserID, "event.cancel", e.Number())
	})
	if err != nil {
		return err
	}
	r.Answer("")
	return r.Edit(r.N("events.event_cancelled", told, map[string]any{"Number": e.Number(), "Count": told}), nil)
}

// ---- volunteers ----

// volunteerEvents asks where the volunteer is, to list the events nearest
// to them. With no event upcoming anywhere it says so at once and asks
// nothing: a location would be asked for in vain, and the citizen left in
// a step whose every answer is "none".
func (h *Handlers) volunteerEvents(r *Request) error {
	upcoming, err := h.db.AnyUpcomingEvent(r.ctx, h.now())
	if err != nil {
		return err
	}
	if !upcoming {
		return r.ReplyKey("events.none_upcoming", nil)
	}
	return h.StartFlow(r, "volunteer", nil)
}

func (h *Handlers) volunteerFlow() *Flow {
	return &Flow{
		Name:   "volunteer",
		First:  "where",
		OnBack: h.charityMenu, // the Charity menu it is chosen from
		Steps: map[string]Step{
			"where": {
				Ask: func(r *Request) error {
					return r.ReplyKeyboard(r.T("events.volunteer_where", nil), r.FlowKeyboard(
						tgbotapi.NewKeyboardButtonRow(tgbotapi.NewKeyboardButtonLocation(r.T("events.btn_location", nil)))))
				},
				Answer: func(r *Request) (string, error) {
					if left, err := h.textAfterResults(r); left || err != nil {
						return Stay, err // "спасибо", "не смогу прийти, заболел": for the menu
					}
					p, ok, err := h.resolvePoint(r, func(v string) string { return StepData("where", v) })
					if err != nil || !ok {
						return Stay, err
					}
					r.State.Set(resultsShown, "1")
					return Stay, h.eventsNear(r, p.lat, p.lon, p.outside) // another town may be typed
				},
			},
		},
		Answers: []Answer{{Key: resultsShown, Hidden: true}},
	}
}

// point is where a place is, and whether outside Kazakhstan (resolvePoint).
type point struct {
	lat, lon float64
	outside  bool
}

// resolvePoint is resolvePlace for a step that needs only the place's
// point: the place itself stays off the stack of what the step does next.
//
//go:noinline
func (h *Handlers) resolvePoint(r *Request, choice func(value string) string) (point, bool, error) {
	w, ok, err := h.resolvePlace(r, choice)
	return point{w.Lat, w.Lon, w.Outside}, ok, err
}

// eventsNear sends the first page of the upcoming events nearest to (lat,
// lon), said to be outside Kazakhstan when outside. (Apart from the
// volunteer's step, whose place would otherwise be on the stack beneath
// the events' query: HANDLERS.md, "A worker's stack".)
//
//go:noinline
func (h *Handlers) eventsNear(r *Request, lat, lon float64, outside bool) error {
	text, kb, _, err := h.eventsPage(r, lat, lon, 0)
	if err != nil {
		return err
	}
	if outside && kb != nil {
		text = r.T("events.outside", nil) + "\n\n" + text
	}
	return h.sendInline(r, text, kb)
}

// sendInline sends text with the inline keyboard kb, if any (eventsNear).
//
//go:noinline
func (h *Handlers) sendInline(r *Request, text string, kb *tgbotapi.InlineKeyboardMarkup) error {
	_, err := r.Send(bot.Message{Text: text, Inline: kb})
	return err
}

// eventsPage lists upcoming events nearest to (lat, lon) from offset (a
// multiple of eventsPerPage), with a button per event and paging. Only
// that page is read. An offset past the end (the list got shorter since
// the button was drawn: events began or were cancelled) shows the last
// page; gone tells so.
func (h *Handlers) eventsPage(r *Request, lat, lon float64, offset int) (text string, kb *tgbotapi.InlineKeyboardMarkup, gone bool, err error) {
	es, total, err := h.db.UpcomingEvents(r.ctx, h.now(), lat, lon, offset, eventsPerPage)
	if err != nil {
		return "", nil, false, err
	}
	if total == 0 {
		return r.T("events.none_upcoming", nil), nil, false, nil // none left: that text says it
	}
	if offset >= total {
		gone, offset = true, (total-1)/eventsPerPage*eventsPerPage
		if es, total, err = h.db.UpcomingEvents(r.ctx, h.now(), lat, lon, offset, eventsPerPage); err != nil {
			return "", nil, false, err
		}
	}
	text, kb = h.eventsPageText(r, es, lat, lon, offset, total)
	return text, kb, gone, nil
}

// eventsPageText writes a page of the upcoming events (eventsPage). (A
// function of its own, as dirPage is.)
//
//go:noinline
func (h *Handlers) eventsPageText(r *Request, es []storage.Event, lat, lon float64, offset, total int) (string, *tgbotapi.InlineKeyboardMarkup) {
	end := offset + len(es)
	var b strings.Builder
	b.WriteString(r.T("events.upcoming_title", nil))
	var buttons []tgbotapi.InlineKeyboardButton
	for i, e := range es {
		n := offset + i + 1
		fmt.Fprintf(&b, "\n\n%d. %s\n   🗓 %s\n   📍 %s — %s\n   %s", n, e.Title, h.eventDate(r.Lang, e.StartsAt),
			e.Place, formatDistance(r, storage.DistanceKm(lat, lon, e.Lat, e.Lon)), h.placesLeft(r, e))
		buttons = append(buttons, tgbotapi.NewInlineKeyboardButtonData(strconv.Itoa(n), "ev:v:"+strconv.FormatInt(e.ID, 10)))
	}
	var rows [][]tgbotapi.InlineKeyboardButton
	if len(buttons) > 0 {
		rows = append(rows, buttons)
	}
	var nav []tgbotapi.InlineKeyboardButton
	at := func(off int) string { return fmt.Sprintf("ev:p:%d:%.4f:%.4f", off, lat, lon) }
	if offset > 0 {
		nav = append(nav, r.InlineButton("events.btn_prev", at(max(0, offset-eventsPerPage))))
	}
	if end < total {
		nav = append(nav, r.InlineButton("events.btn_next", at(end)))
	}
	if len(nav) > 0 {
		rows = append(rows, nav)
	}
	if len(rows) == 0 {
		return b.String(), nil
	}
	m := tgbotapi.NewInlineKeyboardMarkup(rows...)
	return b.String(), &m
}

// placesLeft says how many places an event has left, or that it is full.
func (h *Handlers) placesLeft(r *Request, e storage.Event) string {
	if e.Left() == 0 {
		return r.T("events.full_short", nil)
	}
	return r.N("events.left", e.Left(), map[string]any{"Left": e.Left()})
}

// eventButton handles the event buttons: "ev:ACTION:ID[:...]".
func (h *Handlers) eventButton(r *Request) error {
	parts := strings.Split(r.Data, ":")
	if len(parts) < 2 {
		r.Answer(r.T("error.button_outdated", nil))
		return nil
	}
	id, err := strconv.ParseInt(parts[1], 10, 64)
	if parts[0] == "p" { // a page of the upcoming list: p:OFFSET:LAT:LON (id is the offset, 0 the first page)
		return h.eventsPageButton(r, parts, id, err)
	}
	if err != nil || id <= 0 {
		r.Answer(r.T("error.button_outdated", nil))
		return nil
	}
	switch parts[0] {
	case "v":
		return h.showEvent(r, id)
	case "r":
		return h.registerFor(r, id, false)
	case "w":
		return h.registerFor(r, id, true)
	case "u", "x": // Cancel my registration: asked first; No
		return h.askCancelRegistration(r, id, parts[0] == "u")
	case "U":
		return h.cancelRegistration(r, id)
	case "k":
		return h.confirmOffer(r, id)
	case "e", "m", "c", "C", "K":
		return h.ownEventButton(r, parts[0], parts[1], id)
	}
	r.Answer(r.T("error.button_outdated", nil))
	return nil
}

// ownEventButton is a coordinator's button on their event id (idText as
// the button carries it): export, message, cancel. (A function of its own:
// its texts' arguments would take the stack of every volunteer's press,
// Dispatcher.handle.)
//
//go:noinline
func (h *Handlers) ownEventButton(r *Request, verb, idText string, id int64) error {
	e, err := h.ownEvent(r, id)
	if err != nil {
		return err
	}
	if e.Status != storage.EventOpen {
		return invalid("events.is_cancelled", nil)
	}
	switch verb {
	case "e":
		return h.exportRegistrations(r, e)
	case "m":
		r.Answer("")
		return h.StartFlow(r, "eventmsg", map[string]string{"event": idText})
	case "c":
		r.Answer("")
		_, err := r.ReplyInline(r.T("events.cancel_confirm", map[string]any{"Number": e.Number(), "Title": e.Title,
			"Count": e.Confirmed + e.Waitlist}), tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
			r.InlineButton("events.btn_cancel_yes", "ev:C:"+idText), r.InlineButton("events.btn_cancel_no", "ev:K:"+idText))))
		return err
	case "K": // not cancelled after all
		r.Answer("")
		return r.Edit(r.T("events.cancel_kept", map[string]any{"Number": e.Number(), "Title": e.Title}), nil)
	}
	return h.cancelEvent(r, e)
}

// eventsPageButton shows the page of the upcoming list a Previous or Next
// button asks for. Data no button of ours carries (an offset negative, not
// at a page's start or absurd, a point off the globe) gets the outdated
// notice and changes nothing; a page gone since gets the last page and a
// notice saying so.
func (h *Handlers) eventsPageButton(r *Request, parts []string, offset int64, err error) error {
	if err != nil || len(parts) != 4 || offset < 0 || offset%eventsPerPage != 0 || offset > math.MaxInt32 {
		r.Answer(r.T("error.button_outdated", nil))
		return nil
	}
	lat, err1 := strconv.ParseFloat(parts[2], 64)
	lon, err2 := strconv.ParseFloat(parts[3], 64)
	if err1 != nil || err2 != nil || math.IsNaN(lat) || math.IsNaN(lon) || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
		r.Answer(r.T("error.button_outdated", nil))
		return nil
	}
	text, kb, gone, err := h.eventsPage(r, lat, lon, int(offset))
	if err != nil {
		return err
	}
	if gone {
		r.Answer(r.T("events.page_gone", nil))
	} else {
		r.Answer("")
	}
	return r.Edit(text, kb)
}

// showEvent shows an event's card with Register (or Join the waitlist).
func (h *Handlers) showEvent(r *Request, id int64) error {
	e, err := h.db.Event(r.ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return notFound("events.not_found")
	}
	if err != nil {
		return err
	}
	r.Answer("")
	if e.Status != storage.EventOpen || !e.StartsAt.After(h.now()) {
		return r.ReplyKey("events.closed", nil)
	}
	btn := r.InlineButton("events.btn_register", "ev:r:"+strconv.FormatInt(id, 10))
	if e.Left() == 0 {
		btn = r.InlineButton("events.btn_waitlist", "ev:w:"+strconv.FormatInt(id, 10))
	}
	_, err = r.ReplyInline(h.eventCard(r.Lang, e, true), tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(btn)))
	return err
}

// registerFor registers the user, asking consent, name and phone first
// the first time.
func (h *Handlers) registerFor(r *Request, id int64, waitlist bool) error {
	r.Answer("")
	data := map[string]string{"event": strconv.FormatInt(id, 10)}
	if waitlist {
		data["waitlist"] = "1"
	}
	agreed, err := h.hasConsent(r, "volunteer", volunteerConsent)
	if err != nil {
		return err
	}
	if !agreed {
		return h.StartFlow(r, "volreg", data)
	}
	if _, err := h.db.Volunteer(r.ctx, r.UserID); errors.Is(err, storage.ErrNotFound) {
		return h.StartFlowAt(r, "volreg", "name", data)
	} else if err != nil {
		return err
	}
	return h.register(r, id, waitlist)
}

// register puts the user on the event's list and says where they stand.
func (h *Handlers) register(r *Request, id int64, waitlist bool) error {
	// Handled again after its commit (a replica took the press or the
	// phone over), the volunteer hears where they stand as the first time,
	// not "already registered": the status and the place on the waitlist.
	done, e, err := h.registerStep(r, id, waitlist)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return notFound("events.not_found")
	case errors.Is(err, storage.ErrEventClosed):
		return r.ReplyKey("events.closed", nil)
	case errors.Is(err, storage.ErrRegistered):
		return r.ReplyKey("events.already", nil)
	case errors.Is(err, storage.ErrEventFull):
		return h.offerWaitlist(r, id)
	case err != nil:
		return err
	}
	return h.registeredReply(r, done, e)
}

// registerStep registers the user for event id, once (stepOnce), and reads
// the event as it is after. done is the registration's status and the
// event's waitlist, as stored for the step. (The register* functions are
// apart so that the event and the replies' texts are not on the stack
// while the registration is committed: Dispatcher.handle.)
//
//go:noinline
func (h *Handlers) registerStep(r *Request, id int64, waitlist bool) (done string, e *storage.Event, err error) {
	done, again, err := h.stepOnce(r, "event.register", func(tx *storage.Tx) (string, error) {
		reg, err := tx.Register(id, r.UserID, waitlist)
		if err != nil {
			return "", err
		}
		if e, err = tx.Event(id); err != nil {
			return "", err
		}
		return reg.Status + ":" + strconv.Itoa(e.Waitlist), nil
	})
	if err == nil && again {
		e, err = h.eventNow(r, id)
	}
	return done, e, err
}

// eventNow reads event id as it is now, on the heap (registerStep).
//
//go:noinline
func (h *Handlers) eventNow(r *Request, id int64) (*storage.Event, error) {
	e, err := h.db.Event(r.ctx, id)
	return &e, err
}

// offerWaitlist tells that event id is full, with a button to join its
// waitlist.
//
//go:noinline
func (h *Handlers) offerWaitlist(r *Request, id int64) error {
	_, err := r.ReplyInline(r.T("events.full_offer_waitlist", nil), tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
		r.InlineButton("events.btn_waitlist", "ev:w:"+strconv.FormatInt(id, 10)))))
	return err
}

// registeredReply tells where the volunteer stands (done: registerStep).
//
//go:noinline
func (h *Handlers) registeredReply(r *Request, done string, e *storage.Event) error {
	status, position, _ := strings.Cut(done, ":")
	data := map[string]any{"Number": e.Number(), "Title": e.Title, "When": h.eventDate(r.Lang, e.StartsAt), "Position": position}
	if status == storage.RegWaitlist {
		return r.ReplyKey("events.waitlisted", data)
	}
	return r.ReplyKey("events.registered", data)
}

// volunteerRegFlow asks consent, name and phone once, then registers.
func (h *Handlers) volunteerRegFlow() *Flow {
	return &Flow{
		Name:  "volreg",
		First: ConsentStep,
		Steps: map[string]Step{
			ConsentStep: h.consentStep("volunteer", volunteerConsent, "name"),
			"name": {
				Ask: func(r *Request) error {
					return r.ReplyKeyboard(r.T("events.ask_name", nil), r.FlowKeyboard())
				},
				Answer: func(r *Request) (string, error) {
					if r.Text == "" {
						return Stay, invalid("events.text_expected", nil)
					}
					if n := utf8.RuneCountInString(r.Text); n > eventNameMax {
						return refuseLong(r, "events.too_long", map[string]any{"Max": eventNameMax, "Count": n}, r.Text)
					}
					if !hasWords(r.Text) {
						return Stay, invalid("events.name_letters", nil)
					}
					r.State.Set("name", r.Text)
					return "phone", nil
				},
				FreeText: true, // a name is a name, whatever button it spells
			},
			"phone": {
				Ask: func(r *Request) error {
					return r.ReplyKeyboard(r.T("events.ask_phone", nil), r.FlowKeyboard(
						tgbotapi.NewKeyboardButtonRow(tgbotapi.NewKeyboardButtonContact(r.T("events.btn_phone", nil)))))
				},
				Answer: func(r *Request) (string, error) {
					var phone string
					var ok bool
					if c := r.Contact(); c != nil {
						if c.UserID != r.UserID {
							return Stay, invalid("help.phone_not_own", nil)
						}
						phone, ok = contactPhone(c.PhoneNumber)
					} else {
						phone, ok = ParsePhone(r.Text)
					}
					if !ok {
						return Stay, invalid("help.phone_invalid", nil)
					}
					if err := h.inTx(r.ctx, func(tx *storage.Tx) error {
						return tx.SaveVolunteer(storage.Volunteer{UserID: r.UserID, Name: r.State.Get("name"), Phone: phone})
					}); err != nil {
						return Stay, err
					}
					id, _ := strconv.ParseInt(r.State.Get("event"), 10, 64)
					if err := h.sendMenu(r, "events.profile_saved"); err != nil {
						return Stay, err
					}
					return End, h.register(r, id, r.State.Get("waitlist") != "")
				},
			},
		},
		Answers: append([]Answer{
			{Key: "event", Label: "privacy.answer_event", Value: eventAnswer},
			{Key: "name", Label: "privacy.answer_name"},
			// The phone, the last answer, goes to the volunteer's profile, not
			// the state.
		}, hiddenAnswers("waitlist")...),
	}
}

// myRegistrations lists the user's registrations with Cancel (and
// Confirm for a place offered from the waitlist).
func (h *Handlers) myRegistrations(r *Request) error {
	rs, err := h.db.UserRegistrations(r.ctx, r.UserID, h.now())
	if err != nil {
		return err
	}
	if len(rs) == 0 {
		return r.ReplyKey("events.none_mine", nil)
	}
	if err := r.ReplyKey("events.mine_title", nil); err != nil {
		return err
	}
	for i, reg := range rs {
		if i == eventsListMax {
			break
		}
		text, kb, err := h.registrationCard(r, reg)
		if err != nil {
			return err
		}
		if _, err := r.ReplyInline(text, kb); err != nil {
			return err
		}
	}
	return nil
}

// registrationCard is a registration as /myevents shows it: the event,
// its date, the registration's status, with Cancel (and Confirm for a
// place offered).
func (h *Handlers) registrationCard(r *Request, reg storage.Registration) (string, tgbotapi.InlineKeyboardMarkup, error) {
	e, err := h.db.Event(r.ctx, reg.EventID)
	if err != nil {
		return "", tgbotapi.InlineKeyboardMarkup{}, err
	}
	id := strconv.FormatInt(reg.ID, 10)
	text := e.Number() + " · " + e.Title + "\n🗓 " + h.eventDate(r.Lang, e.StartsAt) + "\n" + r.T("events.status_"+reg.Status, nil)
	row := []tgbotapi.InlineKeyboardButton{r.InlineButton("events.btn_cancel_mine", "ev:u:"+id)}
	if reg.Status == storage.RegOffered {
		row = append([]tgbotapi.InlineKeyboardButton{r.InlineButton("events.btn_confirm_place", "ev:k:"+id)}, row...)
	}
	return text, tgbotapi.NewInlineKeyboardMarkup(row), nil
}

// askCancelRegistration asks before a registration is cancelled (ev:u):
// a place given up goes to the next on the waitlist for good, and a
// cheap phone's tap is easily a slip. Yes is ev:U, No (ev:x) shows the
// registration again.
func (h *Handlers) askCancelRegistration(r *Request, id int64, cancel bool) error {
	reg, err := h.db.RegistrationOf(r.ctx, id, r.UserID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && reg.Status == storage.RegCancelled) {
		return forbidden("events.not_your_registration")
	} else if err != nil {
		return err
	}
	text, kb, err := h.registrationCard(r, reg)
	if err != nil {
		return err
	}
	r.Answer("")
	if !cancel {
		return r.Edit(text, &kb)
	}
	idText := strconv.FormatInt(id, 10)
	kb = tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
		r.InlineButton("events.btn_cancel_yes", "ev:U:"+idText), r.InlineButton("events.btn_cancel_no", "ev:x:"+idText)))
	return r.Edit(text+"\n\n"+r.T("events.cancel_mine_confirm", nil), &kb)
}

// cancelRegistration cancels the user's registration; a place it held is
// offered to the first on the waitlist.
func (h *Handlers) cancelRegistration(r *Request, id int64) error {
	err := h.inTx(r.ctx, func(tx *storage.Tx) error {
		reg, promoted, err := tx.CancelRegistration(id, r.UserID, tx.Now().Add(eventOfferHold))
		if err != nil {
			return err
		}
		if err := tx.CancelTimer(timerEventOffer, strconv.FormatInt(reg.ID, 10)); err != nil {
			return err
		}
		return h.offerPlace(tx, promoted)
	})
	if errors.Is(err, storage.ErrNotFound) {
		return forbidden("events.not_your_registration")
	}
	if err != nil {
		return err
	}
	r.Answer("")
	return r.Edit(r.T("events.registration_cancelled", nil), nil)
}

// offerPlace tells a volunteer promoted from the waitlist, with a Confirm
// button, and schedules the end of the offer. A zero registration is none.
func (h *Handlers) offerPlace(tx *storage.Tx, reg storage.Registration) error {
	if reg.ID == 0 || reg.OfferedUntil == nil {
		return nil
	}
	e, err := tx.Event(reg.EventID)
	if err != nil {
		return err
	}
	lang := h.langOf(tx.Context(), reg.UserID)
	id := strconv.FormatInt(reg.ID, 10)
	kb := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
		tgbotapi.NewInlineKeyboardButtonData(h.cat.T(lang, "events.btn_confirm_place", nil), "ev:k:"+id)))
	text := h.cat.T(lang, "events.place_offered", map[string]any{"Number": e.Number(), "Title": e.Title,
		"When": h.eventDate(lang, e.StartsAt), "Until": h.eventDate(lang, *reg.OfferedUntil)})
	if err := h.notify(tx, Notice{Message: bot.Message{ChatID: reg.UserID, Text: text, Inline: &kb}, Ref: "event-offer:" + id}); err != nil {
		return err
	}
	return tx.ScheduleTimer(timerEventOffer, id, *reg.OfferedUntil)
}

// confirmOffer confirms a place offered from the waitlist.
func (h *Handlers) confirmOffer(r *Request, id int64) error {
	err := h.inTx(r.ctx, func(tx *storage.Tx) error {
		if _, err := tx.ConfirmOffer(id, r.UserID); err != nil {
			return err
		}
		if r.Callback == nil {
			// Typed (placeOfferTyped): the offer's message, whose
			// Confirm would now say the offer ended, says it is done.
			if err := h.notify(tx, Notice{EditRef: "event-offer:" + strconv.FormatInt(id, 10),
				Message: bot.Message{ChatID: r.UserID, Text: r.T("events.place_confirmed", nil)}}); err != nil {
				return err
			}
		}
		return tx.CancelTimer(timerEventOffer, strconv.FormatInt(id, 10))
	})
	if errors.Is(err, storage.ErrNotFound) {
		return invalid("events.offer_gone", nil)
	}
	if err != nil {
		return err
	}
	r.Answer("")
	return r.Edit(r.T("events.place_confirmed", nil), nil)
}

// placeOfferTyped confirms the one place offered to a volunteer from the
// waitlist when they type the button's words ("приду", "подтверждаю",
// "Келемін", "I will come") instead of pressing Confirm. A bare "да" is
// not taken: it may answer another question (Cancel my registration?).
// It reports whether it did.
func (h *Handlers) placeOfferTyped(r *Request) (bool, error) {
	if !h.labelMatches(r.Text, "events.btn_confirm_place") {
		return false, nil
	}
	rs, err := h.db.UserRegistrations(r.ctx, r.UserID, h.now())
	if err != nil {
		return false, err
	}
	var offered []storage.Registration
	for _, reg := range rs {
		if reg.Status == storage.RegOffered {
			offered = append(offered, reg)
		}
	}
	if len(offered) != 1 {
		return false, nil
	}
	return true, h.confirmOffer(r, offered[0].ID)
}

// eventOfferExpired passes a place not confirmed in time to the next on
// the waitlist.
func (h *Handlers) eventOfferExpired(tx *storage.Tx, t storage.Timer) error {
	id, err := strconv.ParseInt(t.Ref, 10, 64)
	if err != nil {
		return nil
	}
	reg, err := tx.Registration(id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	expired, next, err := tx.ExpireOffer(id, tx.Now().Add(eventOfferHold))
	if err != nil || !expired {
		return err
	}
	lang := h.langOf(tx.Context(), reg.UserID)
	if err := h.notify(tx, Notice{EditRef: "event-offer:" + t.Ref,
		Message: bot.Message{ChatID: reg.UserID, Text: h.cat.T(lang, "events.offer_expired", nil)}}); err != nil {
		return err
	}
	return h.offerPlace(tx, next)
}

// eventReminder reminds every confirmed volunteer of an event, once.
func (h *Handlers) eventReminder(key string) TimerFunc {
	return func(tx *storage.Tx, t storage.Timer) error {
		id, err := strconv.ParseInt(t.Ref, 10, 64)
		if err != nil {
			return nil
		}
		e, err := tx.Event(id)
		if errors.Is(err, storage.ErrNotFound) || (err == nil && e.Status != storage.EventOpen) {
			return nil
		}
		if err != nil {
			return err
		}
		vs, err := tx.ConfirmedVolunteers(id)
		if err != nil {
			return err
		}
		notices := make([]Notice, 0, len(vs))
		for _, v := range vs {
			lang := locales.Lang(v.Lang)
			notices = append(notices, Notice{Message: bot.Message{ChatID: v.UserID, Text: h.eventCardReminder(lang, key, *e), Bulk: true}})
		}
		return h.notify(tx, notices...)
	}
}

func (h *Handlers) eventCardReminder(lang, key string, e storage.Event) string {
	return h.cat.T(lang, key, map[string]any{"Number": e.Number(), "Title": e.Title}) + "\n\n" + h.eventCard(lang, e, false)
}
