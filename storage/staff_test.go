package storage_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/dostyq/dostyq/storage"
	"github.com/dostyq/dostyq/storage/storagetest"
)

// clock is a movable clock for tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func clockDB(t *testing.T) (*storage.DB, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)}
	return storagetest.DBWithClock(t, c.Now), c
}

func TestInviteIsSingleUseEvenWhenRaced(t *testing.T) {
	ctx := context.Background()
	db, _ := clockDB(t)
	inv, err := db.CreateInvite(ctx, storage.RoleMediator, 100)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make([]error, 10)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = db.Tx(ctx, func(tx *storage.Tx) error {
				_, err := tx.RedeemInvite(inv.Code, int64(200+i))
				return err
			})
		}(i)
	}
	wg.Wait()
	won := 0
	for i, err := range results {
		switch {
		case err == nil:
			won++
			if ok, _ := db.HasRole(ctx, int64(200+i), storage.RoleMediator); !ok {
				t.Errorf("winner %d is not a mediator", 200+i)
			}
		case !errors.Is(err, storage.ErrInviteUsed):
			t.Errorf("loser got %v, want ErrInviteUsed", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d users redeemed one invite, want 1", won)
	}
	staff, err := db.Staff(ctx, storage.RoleMediator)
	if err != nil || len(staff) != 1 {
		t.Fatalf("mediators %v, err %v; want exactly one", staff, err)
	}
}

func TestInviteExpiresAfterSevenDays(t *testing.T) {
	ctx := context.Background()
	db, c := clockDB(t)
	inv, err := db.CreateInvite(ctx, storage.RoleCoordinator, 100)
	if err != nil {
		t.Fatal(err)
	}
	c.Add(7*24*time.Hour + time.Second)
	err = db.Tx(ctx, func(tx *storage.Tx) error { _, err := tx.RedeemInvite(inv.Code, 5); return err })
	if !errors.Is(err, storage.ErrInviteExpired) {
		t.Fatalf("redeem after 7 days: %v, want ErrInviteExpired", err)
	}
	if ok, _ := db.HasRole(ctx, 5, storage.RoleCoordinator); ok {
		t.Error("an expired invite granted the role")
	}
	err = db.Tx(ctx, func(tx *storage.Tx) error { _, err := tx.RedeemInvite("invnosuchcode", 5); return err })
	if !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("unknown code: %v, want ErrNotFound", err)
	}
}

func TestStaffProfileRoundTripAndRevoke(t *testing.T) {
	ctx := context.Background()
	db, _ := clockDB(t)
	err := db.Tx(ctx, func(tx *storage.Tx) error {
		if err := tx.GrantRole(7, storage.RoleMediator, 1); err != nil {
			return err
		}
		if err := tx.SaveStaffProfile(storage.StaffProfile{UserID: 7, DisplayName: "Aigerim", MaxOpen: 3,
			Regions: []string{"astana", "abai"}, Languages: []string{"ru", "kk"}, Kinds: []string{"family"}}); err != nil {
			return err
		}
		_, err := tx.SetOnDuty(7, true)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := db.StaffProfile(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	if p.DisplayName != "Aigerim" || p.MaxOpen != 3 || !p.OnDuty || len(p.Regions) != 2 || p.Regions[0] != "abai" ||
		len(p.Languages) != 2 || len(p.Kinds) != 1 || !p.Complete() {
		t.Fatalf("profile read back as %+v", p)
	}
	// Saving the profile again keeps the duty status.
	if err := db.SaveStaffProfile(ctx, storage.StaffProfile{UserID: 7, DisplayName: "Aigerim", Regions: []string{"astana"}, Languages: []string{"kk"}}); err != nil {
		t.Fatal(err)
	}
	if p, _ = db.StaffProfile(ctx, 7); !p.OnDuty || len(p.Regions) != 1 || p.MaxOpen != storage.DefaultMaxOpen {
		t.Fatalf("after resave %+v", p)
	}
	err = db.Tx(ctx, func(tx *storage.Tx) error {
		had, err := tx.RevokeRole(7, storage.RoleMediator)
		if !had {
			t.Error("revoke reported the role missing")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if p, _ = db.StaffProfile(ctx, 7); p.DisplayName != "" || len(p.Regions) != 0 {
		t.Fatalf("profile outlived the last role: %+v", p)
	}
}

func TestConsentsAreRecordedWithVersion(t *testing.T) {
	ctx := context.Background()
	db, _ := clockDB(t)
	if _, err := db.AddConsent(ctx, 9, "mediation", "1"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := db.HasConsent(ctx, 9, "mediation", "1"); !ok {
		t.Error("consent to version 1 not found")
	}
	if ok, _ := db.HasConsent(ctx, 9, "mediation", "2"); ok {
		t.Error("consent to version 1 counted for version 2")
	}
	cs, err := db.Consents(ctx, 9)
	if err != nil || len(cs) != 1 || cs[0].AgreedAt.IsZero() {
		t.Fatalf("consents %+v, err %v", cs, err)
	}
}
