package storage_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dostyq/dostyq/storage"
	"github.com/dostyq/dostyq/storage/storagetest"
)

// The figures of /stats: only what was submitted in the period counts, the
// median time to acceptance is the middle value (the mean of the middle two
// for an even count), and families helped are the fulfilled requests.
func TestStatsCountThePeriodAndTheMedianTimeToAcceptance(t *testing.T) {
	ctx := context.Background()
	db, c := clockDB(t) // 2026-11-28 10:00 UTC
	start := c.Now()
	tx := func(fn func(tx *storage.Tx) error) {
		t.Helper()
		if err := db.Tx(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	for i, lang := range []string{"kk", "kk", "ru", "en"} {
		if _, _, err := db.TouchUser(ctx, int64(100+i), lang); err != nil {
			t.Fatal(err)
		}
	}
	citizen := int64(100)
	// A case submitted before the period: not counted.
	tx(func(tx *storage.Tx) error {
		return tx.CreateCase(&storage.Case{CitizenID: &citizen, Kind: "family", Description: "old case text", Region: "astana", Lang: "kk"})
	})
	c.Add(48 * time.Hour)
	from := c.Now()
	// Four cases in the period, accepted after 1 h, 2 h, 4 h and 10 h: the
	// median is 3 h. A fifth waits.
	mediator := int64(900)
	for i, wait := range []time.Duration{time.Hour, 2 * time.Hour, 4 * time.Hour, 10 * time.Hour, 0} {
		var caseID int64
		kind := []string{"family", "labour", "family", "neighbours", "other"}[i]
		region := []string{"astana", "shymkent", "shymkent", "abai", "astana"}[i]
		tx(func(tx *storage.Tx) error {
			cs := storage.Case{CitizenID: &citizen, Kind: kind, Description: "a long enough description", Region: region, Lang: "ru"}
			err := tx.CreateCase(&cs)
			caseID = cs.ID
			return err
		})
		if wait == 0 {
			continue
		}
		c.Add(wait)
		tx(func(tx *storage.Tx) error {
			o, err := tx.CreateOffer(caseID, mediator)
			if err != nil {
				return err
			}
			_, err = tx.AcceptOffer(o.ID, mediator)
			return err
		})
		c.Add(-wait)
	}
	// Help requests: two fulfilled (families of 3 and 5), one open.
	for i, size := range []int{3, 5, 2} {
		var id int64
		tx(func(tx *storage.Tx) error {
			r, err := tx.CreateHelpRequest(storage.HelpRequest{UserID: int64(200 + i), Kind: []string{"food", "food", "medicine"}[i],
				FamilySize: size, Description: "needs", Region: "shymkent", Phone: "+77011234567"})
			id = r.ID
			return err
		})
		if i == 2 {
			continue
		}
		tx(func(tx *storage.Tx) error {
			if _, err := tx.TakeHelpRequest(id, 901, "Dana"); err != nil {
				return err
			}
			_, err := tx.CloseHelpRequest(id, 901, storage.HelpFulfilled, "")
			return err
		})
	}
	c.Add(time.Hour)

	s, err := db.Stats(ctx, from, c.Now())
	if err != nil {
		t.Fatal(err)
	}
	if s.Users != 4 || s.UsersByLang["kk"] != 2 || s.UsersByLang["ru"] != 1 || s.Active7 != 4 {
		t.Errorf("users: %d, by language %v, active 7d %d", s.Users, s.UsersByLang, s.Active7)
	}
	if s.Cases != 5 || s.CasesByStatus["accepted"] != 4 || s.CasesByStatus["waiting"] != 1 {
		t.Errorf("cases: %d, by status %v; want 5 (4 accepted, 1 waiting)", s.Cases, s.CasesByStatus)
	}
	if s.CasesByKind["family"] != 2 || s.CasesByRegion["shymkent"] != 2 || s.CasesByRegion["abai"] != 1 {
		t.Errorf("cases by kind %v, by region %v", s.CasesByKind, s.CasesByRegion)
	}
	if s.Accepted != 4 || s.MedianAccept != 3*time.Hour {
		t.Errorf("accepted %d, median %v; want 4, 3h", s.Accepted, s.MedianAccept)
	}
	if s.Requests != 3 || s.RequestsByKind["food"] != 2 || s.RequestsByStatus["fulfilled"] != 2 || s.FamiliesHelped != 2 || s.People != 8 {
		t.Errorf("requests %d by kind %v by status %v, families %d people %d", s.Requests, s.RequestsByKind, s.RequestsByStatus, s.FamiliesHelped, s.People)
	}

	// The whole time: the old case counts too (never accepted, so the
	// median stays).
	all, err := db.Stats(ctx, start, c.Now())
	if err != nil {
		t.Fatal(err)
	}
	if all.Cases != 6 || all.MedianAccept != 3*time.Hour {
		t.Errorf("all time: %d cases, median %v", all.Cases, all.MedianAccept)
	}
	// Users not seen for 10 days are no longer active in 7 days.
	c.Add(10 * 24 * time.Hour)
	later, err := db.Stats(ctx, from, c.Now())
	if err != nil {
		t.Fatal(err)
	}
	if later.Active7 != 0 || later.Active30 != 4 {
		t.Errorf("10 days later: active 7d %d, 30d %d; want 0 and 4", later.Active7, later.Active30)
	}
}

// Volunteers are people with a confirmed place, but a registration that
// lost its user (/forget, or the retention rule after the event) cannot be
// told apart from another: each counts as one volunteer, beside the
// distinct users still known. /forget after the event leaves the
// registration confirmed, so the volunteer who came still counts.
func TestStatsVolunteersCountEachAnonymisedRegistration(t *testing.T) {
	ctx := context.Background()
	db, c := clockDB(t)
	from := c.Now()
	e1 := newEvent(t, db, 10, c.Now().Add(24*time.Hour))
	e2 := newEvent(t, db, 10, c.Now().Add(48*time.Hour))
	register := func(event, user int64) *storage.Registration {
		t.Helper()
		var r *storage.Registration
		if err := db.Tx(ctx, func(tx *storage.Tx) (err error) { r, err = tx.Register(event, user, true); return }); err != nil {
			t.Fatal(err)
		}
		return r
	}
	// Users 1 and 2 come to both events, 3 to the first; 4 cancels.
	register(e1.ID, 1)
	register(e2.ID, 1)
	register(e1.ID, 2)
	register(e2.ID, 2)
	register(e1.ID, 3)
	r4 := register(e2.ID, 4)
	if err := db.Tx(ctx, func(tx *storage.Tx) error {
		_, _, err := tx.CancelRegistration(r4.ID, 4, c.Now().Add(time.Hour))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	check := func(when string, want int) {
		t.Helper()
		s, err := db.Stats(ctx, from, from.Add(30*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if s.Volunteers != want || s.Registrations != 5 || s.RegistrationsByStatus["confirmed"] != 5 {
			t.Errorf("%s: %d volunteers, registrations %v; want %d volunteers, 5 confirmed", when, s.Volunteers, s.RegistrationsByStatus, want)
		}
	}
	check("all known", 3)

	// After both events user 2 runs /forget: nothing of theirs is still to
	// come, so nothing is cancelled; both registrations lose the user.
	c.Add(72 * time.Hour)
	if err := db.Tx(ctx, func(tx *storage.Tx) error {
		regs, err := tx.ActiveRegistrationsOf(2)
		if err != nil {
			return err
		}
		if len(regs) != 0 {
			t.Errorf("registrations of events that took place are active: %+v", regs)
		}
		return tx.EraseUser(2)
	}); err != nil {
		t.Fatal(err)
	}
	check("user 2 forgotten", 4) // users 1 and 3, and user 2's two registrations

	// The retention rule reaches the first event: users 1 and 3 lose their
	// registrations of it.
	if err := db.Tx(ctx, func(tx *storage.Tx) error {
		_, err := tx.Anonymise(e1.StartsAt.Add(time.Hour))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	check("first event anonymised", 5) // user 1 (second event), and four registrations without a user
}

// The database errors metric counts failed queries, not a row that is
// simply not there.
func TestOnErrorCountsFailedQueriesOnly(t *testing.T) {
	db := storagetest.DB(t)
	var n atomic.Int32
	db.OnError(func() { n.Add(1) })
	ctx := context.Background()
	if _, err := db.Place(ctx, 424242); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a missing place: %v", err)
	}
	if _, err := db.CountPlaces(ctx); err != nil {
		t.Fatal(err)
	}
	if got := n.Load(); got != 0 {
		t.Fatalf("%d errors counted for queries that worked", got)
	}
	db.Close()
	if _, err := db.CountPlaces(ctx); err == nil {
		t.Fatal("a query on a closed database worked")
	}
	if got := n.Load(); got != 1 {
		t.Errorf("%d errors counted for one failed query, want 1", got)
	}
}

// A query whose caller gave up (its context cancelled or past its
// deadline, before or while it runs) is not a database error: the metric
// stays at 0. Here a writer gives up waiting for the write lock another
// transaction holds.
func TestOnErrorLeavesOutQueriesTheCallerGaveUpOn(t *testing.T) {
	db := storagetest.DB(t)
	var n atomic.Int32
	db.OnError(func() { n.Add(1) })

	expired, cancelExpired := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancelExpired()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, ctx := range []context.Context{expired, cancelled} {
		if _, err := db.CountPlaces(ctx); err == nil {
			t.Fatalf("a query with a done context (%v) worked", ctx.Err())
		}
	}

	holding, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- db.Tx(context.Background(), func(tx *storage.Tx) error {
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	ctx, cancelWait := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancelWait()
	err := db.Tx(ctx, func(tx *storage.Tx) error { return nil })
	close(release)
	if err == nil {
		t.Fatal("a writer got the lock another transaction holds")
	}
	t.Logf("the writer that gave up: %v", err)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := n.Load(); got != 0 {
		t.Errorf("%d errors counted for queries whose caller gave up, want 0", got)
	}
}
