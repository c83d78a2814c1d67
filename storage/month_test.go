package storage_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/dostyq/dostyq/storage"
)

// A busy month: the sizes of the database populateMonth builds.
type monthSizes struct {
	Users, Mediators, Coordinators, Cases, Events, PerEvent, Requests int
}

var busyMonth = monthSizes{Users: 10000, Mediators: 60, Coordinators: 18, Cases: 5000, Events: 200, PerEvent: 100, Requests: 3000}

// monthRegions are the regions the month's work is spread over.
var monthRegions = []string{"astana", "almaty", "shymkent", "karaganda", "aktobe", "pavlodar"}

var caseKinds = []string{"family", "neighbours", "interethnic", "labour", "other"}

// Staff ids: mediators from 900,001, coordinators from 950,001 (citizens
// are 1 to Users).
func mediatorID(i int) int64    { return 900001 + int64(i) }
func coordinatorID(i int) int64 { return 950001 + int64(i) }

// populateMonth fills db through the storage API the way production looks
// after a busy month of clock c (which it moves 30 days on): s.Users users;
// mediators and coordinators spread over monthRegions, on duty; s.Cases
// mediation cases a minute apart, each offered (a fifth declined first and
// offered again) and accepted, nine in ten closed and rated, but one in 50
// left waiting on its open offer; s.Events charity events with
// s.PerEvent registrations each (capacity 80: a waitlist, a tenth
// cancelled and the waitlist promoted); s.Requests help requests offered to
// the coordinators of their region, taken, nine in ten closed; and the
// outbox rows all of that causes (offers, notices, reminders), all sent
// but the last day's.
func populateMonth(tb testing.TB, db *storage.DB, c *clock, s monthSizes) {
	tb.Helper()
	ctx := context.Background()
	langs := []string{"kk", "ru", "en"}
	for u := 1; u <= s.Users; u++ {
		if _, _, err := db.TouchUser(ctx, int64(u), langs[u%3]); err != nil {
			tb.Fatal(err)
		}
	}
	do := func(fn func(tx *storage.Tx) error) {
		tb.Helper()
		if err := db.Tx(ctx, fn); err != nil {
			tb.Fatal(err)
		}
	}
	do(func(tx *storage.Tx) error {
		for i := range s.Mediators {
			id := mediatorID(i)
			if err := tx.GrantRole(id, storage.RoleMediator, 1); err != nil {
				return err
			}
			if err := tx.SaveStaffProfile(storage.StaffProfile{UserID: id, DisplayName: "Mediator " + strconv.Itoa(i), MaxOpen: 60,
				Regions: []string{monthRegions[i%len(monthRegions)]}, Languages: []string{"kk", "ru"}, Kinds: caseKinds}); err != nil {
				return err
			}
			if _, err := tx.SetOnDuty(id, true); err != nil {
				return err
			}
		}
		for i := range s.Coordinators {
			id := coordinatorID(i)
			if err := tx.GrantRole(id, storage.RoleCoordinator, 1); err != nil {
				return err
			}
			if err := tx.SaveStaffProfile(storage.StaffProfile{UserID: id, DisplayName: "Coordinator " + strconv.Itoa(i),
				Regions: []string{monthRegions[i%len(monthRegions)]}, Languages: []string{"kk", "ru"}}); err != nil {
				return err
			}
			if _, err := tx.SetOnDuty(id, true); err != nil {
				return err
			}
		}
		return nil
	})

	const days = 30
	caseNo, eventNo, requestNo := 0, 0, 0
	for day := range days {
		end := c.Now().Add(24 * time.Hour)
		// The day's cases, a transaction each as the bot writes them, a
		// minute apart.
		for ; caseNo < s.Cases*(day+1)/days; caseNo++ {
			n := caseNo
			citizen := int64(1 + n*7%s.Users)
			do(func(tx *storage.Tx) error { return monthCase(tx, n, citizen) })
			c.Add(time.Minute)
		}
		// The day's events and their volunteers.
		for ; eventNo < s.Events*(day+1)/days; eventNo++ {
			n := eventNo
			do(func(tx *storage.Tx) error { return monthEvent(tx, n, s) })
		}
		// The day's help requests.
		for ; requestNo < s.Requests*(day+1)/days; requestNo++ {
			n := requestNo
			do(func(tx *storage.Tx) error { return monthRequest(tx, n, int64(1+n*13%s.Users)) })
		}
		c.Add(end.Sub(c.Now()))
		// All sent but the last day's.
		if day < days-1 {
			if err := storage.ExecForTest(db, `UPDATE outbox SET sent_at = created_at, attempts = 1, message_id = id
				WHERE sent_at IS NULL AND failed_at IS NULL`); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

// monthCase writes case n of citizen: created, offered (a fifth declined
// and offered to another mediator), accepted, nine in ten closed and
// rated, with the notices each step queues.
func monthCase(tx *storage.Tx, n int, citizen int64) error {
	c := storage.Case{CitizenID: &citizen, Kind: caseKinds[n%len(caseKinds)],
		Description: fmt.Sprintf("Case %d: a dispute with the neighbours about a fence", n),
		Region:      monthRegions[n%len(monthRegions)], Place: "Somewhere", Lang: []string{"kk", "ru"}[n%2]}
	if err := tx.CreateCase(&c); err != nil {
		return err
	}
	var o storage.Offer
	for round := 0; ; round++ {
		m, ok, err := tx.NextMediator(&c)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("case %d: no mediator", n)
		}
		if o, err = tx.CreateOffer(c.ID, m); err != nil {
			return err
		}
		if _, err := tx.Enqueue(storage.OutboxMessage{ChatID: m, Text: "New case " + c.Number(), Ref: "offer:" + strconv.FormatInt(o.ID, 10),
			Keyboard: `[[{"text":"Accept","callback_data":"m:a:1"}]]`, Protect: true}); err != nil {
			return err
		}
		if round > 0 || n%5 != 0 {
			break
		}
		if _, err := tx.CloseOffer(o.ID, storage.OfferDeclined, "busy"); err != nil {
			return err
		}
	}
	if n%50 == 7 {
		return nil // waiting: the offer is open
	}
	if _, err := tx.AcceptOffer(o.ID, o.MediatorID); err != nil {
		return err
	}
	ms := []storage.OutboxMessage{
		{ChatID: citizen, Text: "Your case " + c.Number() + " was accepted"},
		{ChatID: o.MediatorID, EditRef: "offer:" + strconv.FormatInt(o.ID, 10), Text: "Accepted"},
	}
	if n%10 != 0 {
		if _, err := tx.CloseCase(c.ID, o.MediatorID, "resolved", "agreed"); err != nil {
			return err
		}
		if _, err := tx.RateCase(c.ID, citizen, 5); err != nil {
			return err
		}
		ms = append(ms, storage.OutboxMessage{ChatID: citizen, Text: "Your case " + c.Number() + " was closed"})
	}
	return tx.EnqueueAll(ms)
}

// monthEvent writes event n, three days ahead, and its s.PerEvent
// registrations (capacity 80: the rest wait), a tenth cancelled, and the
// two reminders to its confirmed volunteers.
func monthEvent(tx *storage.Tx, n int, s monthSizes) error {
	e, err := tx.CreateEvent(storage.Event{CoordinatorID: coordinatorID(n % s.Coordinators), Title: fmt.Sprintf("Event %d", n),
		Description: "Packing food parcels", StartsAt: tx.Now().Add(72 * time.Hour), Region: monthRegions[n%len(monthRegions)],
		Place: "Somewhere", Lat: 43 + float64(n%10), Lon: 52 + float64(n%30), Capacity: 80})
	if err != nil {
		return err
	}
	var regs []storage.Registration
	for i := range s.PerEvent {
		user := int64(1 + (n*s.PerEvent+i)*31%s.Users)
		if err := tx.SaveVolunteer(storage.Volunteer{UserID: user, Name: "Volunteer " + strconv.FormatInt(user, 10), Phone: "+77010000000"}); err != nil {
			return err
		}
		r, err := tx.Register(e.ID, user, true)
		if errors.Is(err, storage.ErrRegistered) {
			continue
		}
		if err != nil {
			return err
		}
		regs = append(regs, *r)
	}
	for i, r := range regs {
		if i%10 == 3 {
			if _, _, err := tx.CancelRegistration(r.ID, r.UserID, tx.Now().Add(time.Hour)); err != nil {
				return err
			}
		}
	}
	vs, err := tx.ConfirmedVolunteers(e.ID)
	if err != nil {
		return err
	}
	var ms []storage.OutboxMessage
	for _, v := range vs {
		ms = append(ms, storage.OutboxMessage{ChatID: v.UserID, Text: e.Title + " is tomorrow"},
			storage.OutboxMessage{ChatID: v.UserID, Text: e.Title + " starts in two hours"})
	}
	return tx.EnqueueAll(ms)
}

// monthRequest writes help request n of user, offered to the coordinators
// of its region, taken by the first, nine in ten closed.
func monthRequest(tx *storage.Tx, n int, user int64) error {
	r, err := tx.CreateHelpRequest(storage.HelpRequest{UserID: user, Kind: storage.HelpKinds[n%len(storage.HelpKinds)], FamilySize: 1 + n%6,
		Description: fmt.Sprintf("Request %d: food for a family", n), Region: monthRegions[n%len(monthRegions)], Place: "Somewhere",
		Phone: "+77011234567"})
	if errors.Is(err, storage.ErrOpenRequest) {
		return nil
	}
	if err != nil {
		return err
	}
	cs, err := tx.RegionCoordinators(r.Region)
	if err != nil {
		return err
	}
	for _, co := range cs {
		ref, err := tx.NewHelpOfferRef(r.ID, co.UserID)
		if err != nil {
			return err
		}
		if _, err := tx.Enqueue(storage.OutboxMessage{ChatID: co.UserID, Text: "Help request " + r.Number(), Ref: ref, Protect: true}); err != nil {
			return err
		}
		if _, err := tx.AddHelpOffer(r.ID, co.UserID, ref); err != nil {
			return err
		}
	}
	if len(cs) == 0 {
		return nil
	}
	if _, err := tx.TakeHelpRequest(r.ID, cs[0].UserID, cs[0].Name); err != nil {
		return err
	}
	ms := []storage.OutboxMessage{{ChatID: user, Text: "Your request " + r.Number() + " was taken"}}
	if n%10 != 0 {
		if _, err := tx.CloseHelpRequest(r.ID, cs[0].UserID, storage.HelpFulfilled, "delivered"); err != nil {
			return err
		}
		ms = append(ms, storage.OutboxMessage{ChatID: user, Text: "Your request " + r.Number() + " was fulfilled"})
	}
	return tx.EnqueueAll(ms)
}
