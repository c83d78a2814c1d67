package storage_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dostyq/dostyq/storage"
)

func addMediator(t *testing.T, db *storage.DB, id int64, max int, regions ...string) {
	t.Helper()
	err := db.Tx(context.Background(), func(tx *storage.Tx) error {
		if err := tx.GrantRole(id, storage.RoleMediator, 1); err != nil {
			return err
		}
		if err := tx.SaveStaffProfile(storage.StaffProfile{UserID: id, DisplayName: "m", MaxOpen: max,
			Regions: regions, Languages: []string{"ru"}, Kinds: []string{"family"}}); err != nil {
			return err
		}
		_, err := tx.SetOnDuty(id, true)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func newCase(t *testing.T, db *storage.DB, citizen int64, region string) storage.Case {
	t.Helper()
	var c storage.Case
	err := db.Tx(context.Background(), func(tx *storage.Tx) error {
		c = storage.Case{CitizenID: &citizen, Kind: "family", Description: "a quarrel over a fence", Region: region, Lang: "ru"}
		return tx.CreateCase(&c)
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTwoMediatorsAcceptingOneCaseAtOnceOnlyOneWins(t *testing.T) {
	ctx := context.Background()
	db, _ := clockDB(t)
	for round := 0; round < 20; round++ {
		addMediator(t, db, int64(1000+2*round), 50, "astana")
		addMediator(t, db, int64(1001+2*round), 50, "astana")
		c := newCase(t, db, 9, "astana")
		var offers [2]storage.Offer
		db.Tx(ctx, func(tx *storage.Tx) error {
			offers[0], _ = tx.CreateOffer(c.ID, int64(1000+2*round))
			offers[1], _ = tx.CreateOffer(c.ID, int64(1001+2*round))
			return nil
		})
		var wg sync.WaitGroup
		var errs [2]error
		for i := range offers {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				errs[i] = db.Tx(ctx, func(tx *storage.Tx) error {
					_, err := tx.AcceptOffer(offers[i].ID, offers[i].MediatorID)
					return err
				})
			}(i)
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			if err == nil {
				wins++
			} else if !errors.Is(err, storage.ErrCaseTaken) {
				t.Fatalf("loser got %v, want ErrCaseTaken", err)
			}
		}
		got, _ := db.Case(ctx, c.ID)
		if wins != 1 || got.Status != storage.CaseAccepted || got.MediatorID == nil {
			t.Fatalf("round %d: %d winners, case %+v", round, wins, got)
		}
	}
}

// Accepting at one's maximum of open cases (lowered since the offer came)
// fails with ErrAtMaximum and leaves the offer open and the case waiting;
// AtMaximum counts as AcceptOffer does.
func TestAcceptOfferAtTheMaximumLeavesTheOfferOpen(t *testing.T) {
	ctx := context.Background()
	db, _ := clockDB(t)
	addMediator(t, db, 11, 2, "astana")
	c1, c2 := newCase(t, db, 9, "astana"), newCase(t, db, 9, "astana")
	var o2 storage.Offer
	if err := db.Tx(ctx, func(tx *storage.Tx) error {
		o1, err := tx.CreateOffer(c1.ID, 11)
		if err != nil {
			return err
		}
		if o2, err = tx.CreateOffer(c2.ID, 11); err != nil {
			return err
		}
		_, err = tx.AcceptOffer(o1.ID, 11)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	atMaximum := func(mediator int64, wantOpen, wantMost int, wantFull bool) {
		t.Helper()
		db.Tx(ctx, func(tx *storage.Tx) error {
			open, most, full, err := tx.AtMaximum(mediator)
			if err != nil || open != wantOpen || most != wantMost || full != wantFull {
				t.Errorf("AtMaximum(%d) = %d, %d, %v, %v; want %d, %d, %v", mediator, open, most, full, err, wantOpen, wantMost, wantFull)
			}
			return nil
		})
	}
	atMaximum(11, 1, 2, false)
	atMaximum(99, 0, 0, false)          // no profile
	addMediator(t, db, 11, 1, "astana") // the maximum lowered to 1
	atMaximum(11, 1, 1, true)
	err := db.Tx(ctx, func(tx *storage.Tx) error { _, err := tx.AcceptOffer(o2.ID, 11); return err })
	if !errors.Is(err, storage.ErrAtMaximum) {
		t.Fatalf("accept at the maximum: %v, want ErrAtMaximum", err)
	}
	if n, err := db.OpenCasesOf(ctx, 11); err != nil || n != 1 {
		t.Fatalf("open cases %d, %v; want 1", n, err)
	}
	db.Tx(ctx, func(tx *storage.Tx) error {
		if o, err := tx.Offer(o2.ID); err != nil || o.Status != storage.OfferOpen {
			t.Errorf("offer after the refusal: %+v, %v", o, err)
		}
		return nil
	})
	if got, _ := db.Case(ctx, c2.ID); got.Status != storage.CaseWaiting || got.MediatorID != nil {
		t.Fatalf("case after the refusal: %+v", got)
	}
	addMediator(t, db, 11, 2, "astana") // raised again: the same offer is accepted
	if err := db.Tx(ctx, func(tx *storage.Tx) error { _, err := tx.AcceptOffer(o2.ID, 11); return err }); err != nil {
		t.Fatalf("accept with room: %v", err)
	}
	atMaximum(11, 2, 2, true)
}

func TestNextMediatorPrefersFewestOpenCasesThenLongestSinceOffer(t *testing.T) {
	ctx := context.Background()
	db, clock := clockDB(t)
	addMediator(t, db, 11, 2, "astana")
	addMediator(t, db, 12, 2, "astana")
	addMediator(t, db, 13, 2, "abai") // another region
	next := func(c storage.Case) int64 {
		var id int64
		var ok bool
		db.Tx(ctx, func(tx *storage.Tx) error {
			var err error
			id, ok, err = tx.NextMediator(&c)
			return err
		})
		if !ok {
			return 0
		}
		return id
	}
	c1 := newCase(t, db, 9, "astana")
	if got := next(c1); got != 11 {
		t.Fatalf("first pick %d, want 11 (nobody has cases; lowest id)", got)
	}
	db.Tx(ctx, func(tx *storage.Tx) error {
		o, _ := tx.CreateOffer(c1.ID, 11)
		_, err := tx.AcceptOffer(o.ID, 11)
		return err
	})
	clock.Add(time.Minute)
	c2 := newCase(t, db, 9, "astana")
	if got := next(c2); got != 12 {
		t.Fatalf("second pick %d, want 12 (11 has an open case)", got)
	}
	db.Tx(ctx, func(tx *storage.Tx) error {
		o, _ := tx.CreateOffer(c2.ID, 12)
		_, err := tx.CloseOffer(o.ID, storage.OfferDeclined, "")
		return err
	})
	if got := next(c2); got != 11 {
		t.Fatalf("after 12 declined, pick %d, want 11", got)
	}
	db.Tx(ctx, func(tx *storage.Tx) error { _, err := tx.CreateOffer(c2.ID, 11); return err })
	// 11 now has one case and one open offer: at the maximum of 2.
	c3 := newCase(t, db, 9, "astana")
	if got := next(c3); got != 12 {
		t.Fatalf("third pick %d, want 12", got)
	}
	// Nobody serves Pavlodar; and a mediator is never offered their own case.
	if got := next(newCase(t, db, 9, "pavlodar")); got != 0 {
		t.Fatalf("a mediator of another region was picked: %d", got)
	}
	if got := next(newCase(t, db, 13, "abai")); got != 0 {
		t.Fatalf("mediator 13 was offered their own case")
	}
}

func TestParseCaseNumber(t *testing.T) {
	for in, want := range map[string]int64{"M-000123": 123, "m-7": 7, "М-000042": 42, "15": 15, "M-0": 0, "abc": 0, "": 0} {
		got, ok := storage.ParseCaseNumber(in)
		if got != want || ok != (want > 0) {
			t.Errorf("ParseCaseNumber(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
}

// A case event of a kind without a label (/case would show its message
// id) is refused when written, in tests rather than in someone's /case.
func TestCaseEventRefusesAnUnknownKind(t *testing.T) {
	db, _ := clockDB(t)
	c := newCase(t, db, 2, "astana")
	err := db.Tx(context.Background(), func(tx *storage.Tx) error { return tx.CaseEvent(c.ID, 0, "message", "") })
	if err == nil || !strings.Contains(err.Error(), "unknown kind") {
		t.Fatalf("an unknown kind was written: %v", err)
	}
	for _, kind := range storage.CaseEventKinds {
		if err := db.Tx(context.Background(), func(tx *storage.Tx) error { return tx.CaseEvent(c.ID, 0, kind, "") }); err != nil {
			t.Errorf("%s: %v", kind, err)
		}
	}
}

// A mediator's /cases reaches every open case, however many, and fills up
// to the limit with the latest closed ones.
func TestCasesOfMediatorListsEveryOpenCase(t *testing.T) {
	ctx := context.Background()
	db, _ := clockDB(t)
	const mediator = 77
	take := func(n int, close bool) {
		for i := 0; i < n; i++ {
			c := newCase(t, db, int64(500+i), "astana")
			if err := db.Tx(ctx, func(tx *storage.Tx) error {
				o, err := tx.CreateOffer(c.ID, mediator)
				if err != nil {
					return err
				}
				if _, err := tx.AcceptOffer(o.ID, mediator); err != nil {
					return err
				}
				if close {
					_, err = tx.CloseCase(c.ID, mediator, "resolved", "")
				}
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	take(3, true)
	take(14, false)
	got, err := db.CasesOfMediator(ctx, mediator, 10)
	if err != nil || len(got) != 14 {
		t.Fatalf("14 open cases and 3 closed, limit 10: %d listed, %v", len(got), err)
	}
	for _, c := range got {
		if c.Status != storage.CaseAccepted {
			t.Errorf("%s (%s) listed with 14 open cases to show", c.Number(), c.Status)
		}
	}
	got, err = db.CasesOfMediator(ctx, mediator, 20)
	if err != nil || len(got) != 17 || got[14].Status == storage.CaseAccepted {
		t.Errorf("limit 20: %d listed, %v", len(got), err)
	}
}

// WaitsEscalated: a case the administrators were alerted about while it
// waits, and no longer once a mediator accepts it (the Confirm's answer
// reads it: handlers.caseReceived).
func TestWaitsEscalated(t *testing.T) {
	ctx := context.Background()
	db, _ := clockDB(t)
	addMediator(t, db, 11, 2, "astana")
	c := newCase(t, db, 9, "astana")
	waits := func(want bool) {
		t.Helper()
		if got, err := db.WaitsEscalated(ctx, c.ID); err != nil || got != want {
			t.Fatalf("WaitsEscalated = %v, %v; want %v", got, err, want)
		}
	}
	waits(false)
	if err := db.Tx(ctx, func(tx *storage.Tx) error { _, err := tx.MarkEscalated(c.ID); return err }); err != nil {
		t.Fatal(err)
	}
	waits(true)
	if err := db.Tx(ctx, func(tx *storage.Tx) error {
		o, err := tx.CreateOffer(c.ID, 11)
		if err != nil {
			return err
		}
		_, err = tx.AcceptOffer(o.ID, 11)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	waits(false)
	if got, err := db.WaitsEscalated(ctx, c.ID+100); err != nil || got {
		t.Fatalf("a case that does not exist: %v, %v", got, err)
	}
}
