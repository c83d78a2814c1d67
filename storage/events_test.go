package storage_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dostyq/dostyq/storage"
)

func newEvent(t *testing.T, db *storage.DB, capacity int, starts time.Time) storage.Event {
	t.Helper()
	var e storage.Event
	err := db.Tx(context.Background(), func(tx *storage.Tx) error {
		var err error
		e, err = tx.CreateEvent(storage.Event{CoordinatorID: 500, Title: "Food parcels", Description: "Packing parcels",
			StartsAt: starts, Region: "shymkent", Place: "Shymkent", Lat: 42.3, Lon: 69.6, Capacity: capacity})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// 200 volunteers racing for 50 places: exactly 50 confirmed, 150 on the
// waitlist in the order they arrived, nobody twice.
func TestRegistrationsRacingForTheLastPlaces(t *testing.T) {
	ctx := context.Background()
	db, c := clockDB(t)
	e := newEvent(t, db, 50, c.Now().Add(72*time.Hour))
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func(user int64) {
			defer wg.Done()
			// Each volunteer presses Register twice: the second is refused.
			for try := 0; try < 2; try++ {
				err := db.Tx(ctx, func(tx *storage.Tx) error {
					_, err := tx.Register(e.ID, user, true)
					return err
				})
				if try == 1 && !errors.Is(err, storage.ErrRegistered) {
					errs <- err
				}
				if try == 0 && err != nil {
					errs <- err
				}
			}
		}(int64(1000 + i))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("register: %v", err)
	}
	var rs []storage.Registrant
	if err := db.Tx(ctx, func(tx *storage.Tx) error {
		var err error
		rs, err = tx.EventRegistrations(e.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(rs) != 200 {
		t.Fatalf("%d registrations, want 200", len(rs))
	}
	seen := map[int64]bool{}
	for i, r := range rs { // in order of arrival (id)
		if seen[r.UserID] {
			t.Errorf("user %d registered twice", r.UserID)
		}
		seen[r.UserID] = true
		want := storage.RegConfirmed
		if i >= 50 {
			want = storage.RegWaitlist
		}
		if r.Status != want {
			t.Fatalf("registration %d (arrived %d.) is %s, want %s", r.ID, i+1, r.Status, want)
		}
		if i > 0 && r.RegisteredAt.Before(rs[i-1].RegisteredAt) {
			t.Errorf("waitlist out of arrival order at %d", i)
		}
	}
	got, err := db.Event(ctx, e.ID)
	if err != nil || got.Confirmed != 50 || got.Waitlist != 150 || got.Left() != 0 {
		t.Fatalf("event counts %+v, %v", got, err)
	}
	// Without asking for the waitlist, a full event says so.
	err = db.Tx(ctx, func(tx *storage.Tx) error { _, err := tx.Register(e.ID, 5000, false); return err })
	if !errors.Is(err, storage.ErrEventFull) {
		t.Errorf("full event: %v", err)
	}
}

// A confirmed volunteer cancels: the first on the waitlist is offered the
// place; unconfirmed in time, it passes to the next, who confirms.
func TestCancellationPromotesTheWaitlistInTurn(t *testing.T) {
	ctx := context.Background()
	db, c := clockDB(t)
	e := newEvent(t, db, 1, c.Now().Add(72*time.Hour))
	reg := map[int64]*storage.Registration{}
	for _, u := range []int64{1, 2, 3} {
		if err := db.Tx(ctx, func(tx *storage.Tx) error {
			r, err := tx.Register(e.ID, u, true)
			reg[u] = r
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	var promoted storage.Registration
	if err := db.Tx(ctx, func(tx *storage.Tx) error {
		if _, _, err := tx.CancelRegistration(reg[1].ID, 2, c.Now()); err == nil {
			t.Error("user 2 cancelled user 1's registration")
		}
		var err error
		_, promoted, err = tx.CancelRegistration(reg[1].ID, 1, c.Now().Add(12*time.Hour))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if promoted.UserID != 2 || promoted.Status != storage.RegOffered {
		t.Fatalf("promoted %+v, want user 2 offered", promoted)
	}
	// 13 hours later user 2 has not confirmed: the place goes to user 3.
	c.Add(13 * time.Hour)
	var next storage.Registration
	if err := db.Tx(ctx, func(tx *storage.Tx) error {
		if _, err := tx.ConfirmOffer(promoted.ID, 2); err == nil {
			t.Error("an expired offer was confirmed")
		}
		expired, n, err := tx.ExpireOffer(promoted.ID, c.Now().Add(12*time.Hour))
		if !expired {
			t.Error("offer not expired")
		}
		next = n
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if next.UserID != 3 || next.Status != storage.RegOffered {
		t.Fatalf("next %+v, want user 3 offered", next)
	}
	if err := db.Tx(ctx, func(tx *storage.Tx) error {
		r, err := tx.ConfirmOffer(next.ID, 3)
		if err == nil && r.Status != storage.RegConfirmed {
			t.Errorf("confirmed offer is %s", r.Status)
		}
		// Expiring a confirmed offer changes nothing.
		if expired, _, err := tx.ExpireOffer(next.ID, c.Now()); expired || err != nil {
			t.Errorf("expire after confirm: %v %v", expired, err)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	got, _ := db.Event(ctx, e.ID)
	if got.Confirmed != 1 || got.Waitlist != 0 {
		t.Errorf("event counts %+v", got)
	}
}

// The volunteers to remind come with their languages from the one query
// that lists them; a waitlisted volunteer, one who ran /forget and one
// anonymised by the retention rule are not among them.
func TestConfirmedVolunteersComeWithTheirLanguages(t *testing.T) {
	ctx := context.Background()
	db, c := clockDB(t)
	e := newEvent(t, db, 4, c.Now().Add(72*time.Hour))
	for id, lang := range map[int64]string{1: "kk", 2: "ru", 3: "en", 4: "kk", 5: "ru"} {
		if _, _, err := db.TouchUser(ctx, id, lang); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.SetUserLang(ctx, 2, "ru"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []int64{1, 2, 3, 4, 5} {
		if err := db.Tx(ctx, func(tx *storage.Tx) error {
			_, err := tx.Register(e.ID, u, true)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	// User 4 ran /forget: the registration loses its user, the user row goes.
	if err := db.Tx(ctx, func(tx *storage.Tx) error { return tx.EraseUser(4) }); err != nil {
		t.Fatal(err)
	}
	var got []storage.Recipient
	if err := db.Tx(ctx, func(tx *storage.Tx) error {
		var err error
		got, err = tx.ConfirmedVolunteers(e.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		user int64
		lang string
	}{{1, "kk"}, {2, "ru"}, {3, "en"}}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want users 1, 2, 3", got)
	}
	for i, w := range want {
		if got[i].UserID != w.user || got[i].Lang != w.lang || got[i].Status != storage.RegConfirmed {
			t.Errorf("recipient %d is %+v, want user %d in %s", i, got[i], w.user, w.lang)
		}
	}
	var cancelled []storage.Recipient
	if err := db.Tx(ctx, func(tx *storage.Tx) error {
		var err error
		cancelled, err = tx.CancelEvent(e.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	langs := map[int64]string{}
	for _, r := range cancelled {
		langs[r.UserID] = r.Lang
	}
	if len(langs) != 5 || langs[1] != "kk" || langs[2] != "ru" || langs[3] != "en" || langs[5] != "ru" {
		t.Errorf("cancelled %+v, want users 1, 2, 3, 5 in kk, ru, en, ru and user 4's registration without a user", cancelled)
	}
}

// The upcoming list is cut into pages (in SQL on PostgreSQL, in Go on
// SQLite): 23 events (some at the same
// place, some at the same place and time, one past, one cancelled) in
// pages of 5 come nearest first, then soonest, then by id, each exactly
// once; a page past the end is empty with the total.
func TestUpcomingEventsPages(t *testing.T) {
	ctx := context.Background()
	db, c := clockDB(t)
	const lat, lon = 51.13, 71.43 // Astana
	places := [][2]float64{{51.13, 71.43}, {43.24, 76.89}, {42.3, 69.6}, {49.95, 82.61}, {51.13, 71.43}, {52.29, 76.95}, {47.1, 51.92}}
	var want []storage.Event
	for i := range 25 {
		p := places[i%len(places)]
		starts := c.Now().Add(time.Duration(48+i%4) * time.Hour)
		if i == 7 {
			starts = c.Now().Add(-time.Hour) // begun already
		}
		var e storage.Event
		if err := db.Tx(ctx, func(tx *storage.Tx) error {
			var err error
			e, err = tx.CreateEvent(storage.Event{CoordinatorID: 500, Title: fmt.Sprintf("Event %d", i), StartsAt: starts,
				Region: "astana", Place: "Somewhere", Lat: p[0], Lon: p[1], Capacity: 10})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		switch i {
		case 7:
		case 11:
			if err := db.Tx(ctx, func(tx *storage.Tx) error { _, err := tx.CancelEvent(e.ID); return err }); err != nil {
				t.Fatal(err)
			}
		default:
			want = append(want, e)
		}
	}
	slices.SortStableFunc(want, func(a, b storage.Event) int {
		ka, kb := storage.DistanceKm(lat, lon, a.Lat, a.Lon), storage.DistanceKm(lat, lon, b.Lat, b.Lon)
		if n := cmp.Compare(ka, kb); n != 0 {
			return n
		}
		if n := a.StartsAt.Compare(b.StartsAt); n != 0 {
			return n
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if len(want) != 23 {
		t.Fatalf("%d upcoming events made, want 23", len(want))
	}
	var got []int64
	for offset := 0; offset < 30; offset += 5 {
		page, total, err := db.UpcomingEvents(ctx, c.Now(), lat, lon, offset, 5)
		if err != nil {
			t.Fatal(err)
		}
		if total != 23 {
			t.Fatalf("offset %d: total %d, want 23", offset, total)
		}
		if wantLen := min(5, max(0, 23-offset)); len(page) != wantLen {
			t.Fatalf("offset %d: %d events, want %d", offset, len(page), wantLen)
		}
		for _, e := range page {
			got = append(got, e.ID)
			if e.Capacity != 10 || e.Status != storage.EventOpen || e.Title == "" {
				t.Errorf("event %d read as %+v", e.ID, e)
			}
		}
	}
	var ids []int64
	for _, e := range want {
		ids = append(ids, e.ID)
	}
	if !slices.Equal(got, ids) {
		t.Errorf("pages gave %v,\nwant %v", got, ids)
	}
}

// A coordinator's /events lists their own events not over more than a
// day, soonest first; coordinator 0 (an administrator) sees everyone's.
func TestCoordinatorEvents(t *testing.T) {
	ctx := context.Background()
	db, c := clockDB(t)
	for _, e := range []struct {
		name        string
		coordinator int64
		starts      time.Duration
	}{
		{"mine later", 501, 72 * time.Hour}, {"mine soon", 501, 2 * time.Hour}, {"mine yesterday", 501, -20 * time.Hour},
		{"mine long ago", 501, -30 * time.Hour}, {"theirs", 502, 5 * time.Hour},
	} {
		if err := db.Tx(ctx, func(tx *storage.Tx) error {
			_, err := tx.CreateEvent(storage.Event{CoordinatorID: e.coordinator, Title: e.name, StartsAt: c.Now().Add(e.starts),
				Region: "shymkent", Place: "Shymkent", Lat: 42.3, Lon: 69.6, Capacity: 5})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	titles := func(coordinator int64) []string {
		es, err := db.CoordinatorEvents(ctx, coordinator, c.Now())
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range es {
			out = append(out, e.Title)
		}
		return out
	}
	if got, want := titles(501), []string{"mine yesterday", "mine soon", "mine later"}; !slices.Equal(got, want) {
		t.Errorf("coordinator 501 sees %q, want %q", got, want)
	}
	if got, want := titles(0), []string{"mine yesterday", "mine soon", "theirs", "mine later"}; !slices.Equal(got, want) {
		t.Errorf("an administrator sees %q, want %q", got, want)
	}
	if got := titles(503); len(got) != 0 {
		t.Errorf("a coordinator without events sees %q", got)
	}
}
