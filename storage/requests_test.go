package storage_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dostyq/dostyq/storage"
)

func newHelp(user int64, kind string) storage.HelpRequest {
	return storage.HelpRequest{UserID: user, Kind: kind, FamilySize: 3, Description: "d", Region: "astana", Phone: "+77011234567"}
}

func TestHelpRequestOneOpenPerKindAndOneOwner(t *testing.T) {
	ctx := context.Background()
	db, _ := clockDB(t)
	var req storage.HelpRequest
	err := db.Tx(ctx, func(tx *storage.Tx) (err error) { req, err = tx.CreateHelpRequest(newHelp(10, "food")); return })
	if err != nil || req.Number() != "C-000001" || req.Status != storage.HelpOpen {
		t.Fatalf("create: %+v, %v", req, err)
	}
	err = db.Tx(ctx, func(tx *storage.Tx) error { _, err := tx.CreateHelpRequest(newHelp(10, "food")); return err })
	if !errors.Is(err, storage.ErrOpenRequest) {
		t.Fatalf("second open food request: %v", err)
	}
	if err := db.Tx(ctx, func(tx *storage.Tx) error { _, err := tx.CreateHelpRequest(newHelp(10, "medicine")); return err }); err != nil {
		t.Fatalf("another kind: %v", err)
	}
	// The database itself refuses a second open request of a kind.
	if err := storage.ExecForTest(db, `INSERT INTO help_requests (user_id, kind, family_size, description, region, phone,
		status, created_at, updated_at) VALUES (10, 'food', 1, 'x', 'astana', '+77011234567', 'open', '2026-01-01', '2026-01-01')`); err == nil {
		t.Fatal("the database accepted a second open food request")
	}

	// Racing takes: one owner.
	var wg sync.WaitGroup
	var mu sync.Mutex
	owners, refused := 0, 0
	for c := int64(21); c <= 40; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := db.Tx(ctx, func(tx *storage.Tx) error { _, err := tx.TakeHelpRequest(1, c, "C"); return err })
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				owners++
			case errors.Is(err, storage.ErrRequestTaken):
				refused++
			default:
				t.Errorf("take: %v", err)
			}
		}()
	}
	wg.Wait()
	if owners != 1 || refused != 19 {
		t.Fatalf("%d owners, %d refused", owners, refused)
	}
	req, _ = db.HelpRequest(ctx, 1)
	owner := *req.CoordinatorID

	// Only the owner closes it, once.
	err = db.Tx(ctx, func(tx *storage.Tx) error {
		_, err := tx.CloseHelpRequest(1, owner+100, storage.HelpFulfilled, "")
		return err
	})
	if !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("close by another: %v", err)
	}
	if err := db.Tx(ctx, func(tx *storage.Tx) error {
		_, err := tx.CloseHelpRequest(1, owner, storage.HelpFulfilled, "ok")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	err = db.Tx(ctx, func(tx *storage.Tx) error {
		_, err := tx.CloseHelpRequest(1, owner, storage.HelpUnfulfilled, "no")
		return err
	})
	if !errors.Is(err, storage.ErrRequestClosed) {
		t.Fatalf("second close: %v", err)
	}
	// Closed, a new food request can be made; withdrawing is for its author.
	if err := db.Tx(ctx, func(tx *storage.Tx) error { _, err := tx.CreateHelpRequest(newHelp(10, "food")); return err }); err != nil {
		t.Fatalf("new request after closing: %v", err)
	}
	err = db.Tx(ctx, func(tx *storage.Tx) error { _, err := tx.WithdrawHelpRequest(3, 11); return err })
	if !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("withdraw by another user: %v", err)
	}
}

func TestCoordinatorHelpRequestsListsTheirsFirst(t *testing.T) {
	ctx := context.Background()
	db, _ := clockDB(t)
	for i, r := range []string{"astana", "abai", "astana", "astana"} {
		h := newHelp(int64(10+i), "food")
		h.Region = r
		if err := db.Tx(ctx, func(tx *storage.Tx) error { _, err := tx.CreateHelpRequest(h); return err }); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Tx(ctx, func(tx *storage.Tx) error { _, err := tx.TakeHelpRequest(4, 21, "D"); return err }); err != nil {
		t.Fatal(err)
	}
	if err := db.Tx(ctx, func(tx *storage.Tx) error { _, err := tx.TakeHelpRequest(3, 22, "E"); return err }); err != nil {
		t.Fatal(err)
	}
	got, err := db.CoordinatorHelpRequests(ctx, 21, []string{"astana"}, 10)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, r := range got {
		ids = append(ids, r.ID)
	}
	if len(ids) != 2 || ids[0] != 4 || ids[1] != 1 {
		t.Fatalf("coordinator 21 sees %v, want [4 1] (theirs, then open of their region)", ids)
	}
}

// HelpRequestsAwaiting (the hint to a coordinator typing): the requests
// they took, then those offered to them in a region they serve now, each
// group with its own limit.
func TestHelpRequestsAwaitingEachGroupInItsRegions(t *testing.T) {
	ctx := context.Background()
	db, _ := clockDB(t)
	const coord = 21
	if err := db.Tx(ctx, func(tx *storage.Tx) error {
		if err := tx.SaveStaffProfile(storage.StaffProfile{UserID: coord, DisplayName: "Dana", Regions: []string{"astana"}, Languages: []string{"en"}}); err != nil {
			return err
		}
		for i, region := range []string{"astana", "astana", "astana", "astana", "abai", "astana"} {
			h := newHelp(int64(10+i), "food")
			h.Region = region
			r, err := tx.CreateHelpRequest(h)
			if err != nil {
				return err
			}
			if i < 5 { // the sixth is offered to nobody
				if _, err := tx.AddHelpOffer(r.ID, coord, fmt.Sprintf("help:%d:%d:1", r.ID, coord)); err != nil {
					return err
				}
			}
			if i < 2 {
				if _, err := tx.TakeHelpRequest(r.ID, coord, "Dana"); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		limit int
		want  []int64
	}{
		{10, []int64{1, 2, 3, 4}}, // 5: abai, a region Dana no longer serves; 6: not offered to her
		{1, []int64{1, 3}},        // one of each group, not the two she took
	} {
		got, err := db.HelpRequestsAwaiting(ctx, coord, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, r := range got {
			ids = append(ids, r.ID)
		}
		if !slices.Equal(ids, tc.want) {
			t.Errorf("limit %d: %v awaiting, want %v", tc.limit, ids, tc.want)
		}
	}
}

func TestHelpRequestsAnonymisedAfterRetentionAndForgotten(t *testing.T) {
	ctx := context.Background()
	db, clk := clockDB(t)
	for _, kind := range []string{"food", "medicine"} {
		if err := db.Tx(ctx, func(tx *storage.Tx) error { _, err := tx.CreateHelpRequest(newHelp(10, kind)); return err }); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Tx(ctx, func(tx *storage.Tx) error { _, err := tx.WithdrawHelpRequest(1, 10); return err }); err != nil {
		t.Fatal(err)
	}
	clk.Add(24 * time.Hour)
	var n int64
	if err := db.Tx(ctx, func(tx *storage.Tx) (err error) { n, err = tx.AnonymiseHelpRequests(clk.Now()); return }); err != nil || n != 1 {
		t.Fatalf("anonymised %d, %v; want 1", n, err)
	}
	r1, _ := db.HelpRequest(ctx, 1)
	r2, _ := db.HelpRequest(ctx, 2)
	if r1.Phone != "" || r1.Description != "" || r1.Kind != "food" || r2.Phone == "" {
		t.Fatalf("after anonymising: closed %+v, open %+v", r1, r2)
	}
	var active []storage.HelpRequest
	if err := db.Tx(ctx, func(tx *storage.Tx) (err error) { active, err = tx.ForgetHelpRequests(10); return }); err != nil {
		t.Fatal(err)
	}
	if len(active) != 1 || active[0].ID != 2 {
		t.Fatalf("forget returned %+v", active)
	}
	if left, _ := db.UserHelpRequests(ctx, 10, 10); len(left) != 0 {
		t.Fatalf("user still has requests: %+v", left)
	}
	if r2, _ = db.HelpRequest(ctx, 2); r2.Phone != "" || r2.Status != storage.HelpWithdrawn {
		t.Fatalf("forgotten request: %+v", r2)
	}
}

// ReleaseHelpRequests reopens exactly the requests the coordinator has
// taken and not closed, oldest first, without owner and offers; their
// closed requests, and other coordinators' requests and offers, stay.
func TestReleaseHelpRequestsReopensOnlyTheTakenOnes(t *testing.T) {
	ctx := context.Background()
	db, c := clockDB(t)
	const coord, other = 950001, 950002
	var ids []int64
	for i, kind := range []string{"food", "medicine", "clothing", "household", "education"} {
		if err := db.Tx(ctx, func(tx *storage.Tx) error {
			r, err := tx.CreateHelpRequest(newHelp(int64(10+i), kind))
			if err != nil {
				return err
			}
			ids = append(ids, r.ID)
			for _, co := range []int64{coord, other} {
				if _, err := tx.AddHelpOffer(r.ID, co, fmt.Sprintf("help:%d:%d:1", r.ID, co)); err != nil {
					return err
				}
			}
			owner := int64(coord)
			if i == 3 {
				owner = other
			}
			if i == 4 {
				return nil // still open
			}
			if _, err := tx.TakeHelpRequest(r.ID, owner, "Coordinator"); err != nil {
				return err
			}
			if i == 2 {
				_, err = tx.CloseHelpRequest(r.ID, owner, storage.HelpFulfilled, "done")
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	c.Add(time.Hour)
	var released []storage.HelpRequest
	offers := map[int64][]storage.HelpOffer{}
	if err := db.Tx(ctx, func(tx *storage.Tx) error {
		var err error
		if released, err = tx.ReleaseHelpRequests(coord); err != nil {
			return err
		}
		for _, id := range ids {
			if offers[id], err = tx.HelpOffers(id); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(released) != 2 || released[0].ID != ids[0] || released[1].ID != ids[1] {
		t.Fatalf("released %+v, want requests %d and %d", released, ids[0], ids[1])
	}
	for _, r := range released {
		stored, err := db.HelpRequest(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != storage.HelpOpen || r.CoordinatorID != nil || r.CoordinatorName != "" || r.TakenAt != nil ||
			!r.UpdatedAt.Equal(c.Now()) || r.Description != "d" || !reflect.DeepEqual(r, stored) {
			t.Errorf("released %+v,\nstored   %+v", r, stored)
		}
		if len(offers[r.ID]) != 0 {
			t.Errorf("request %d keeps its offers %+v", r.ID, offers[r.ID])
		}
	}
	for i, want := range map[int]string{2: storage.HelpFulfilled, 3: storage.HelpTaken, 4: storage.HelpOpen} {
		r, err := db.HelpRequest(ctx, ids[i])
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != want || len(offers[ids[i]]) != 2 || r.UpdatedAt.Equal(c.Now()) {
			t.Errorf("request %d: %s, %d offers, updated %v; want %s, 2 offers, untouched", r.ID, r.Status, len(offers[ids[i]]), r.UpdatedAt, want)
		}
	}
	if err := db.Tx(ctx, func(tx *storage.Tx) error {
		again, err := tx.ReleaseHelpRequests(coord)
		if len(again) != 0 {
			t.Errorf("released again: %+v", again)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}
