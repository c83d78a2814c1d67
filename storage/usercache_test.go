package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/dostyq/dostyq/storage"
	"github.com/dostyq/dostyq/storage/storagetest"
)

// With the users cache on, every write to a user is seen by the very next
// read in the same process: the language chosen, the user erased (the
// next update creates them again), last_seen still written every
// LastSeenEvery.
func TestUserCacheSeesEveryWriteAtOnce(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)}
	db := storagetest.DBWithClock(t, clk.Now)
	db.CacheUsers(storage.LastSeenEvery)

	u, created, err := db.TouchUser(ctx, 7, "ru")
	if err != nil || !created || u.Lang != "ru" {
		t.Fatalf("first touch: %+v %v %v", u, created, err)
	}
	if u, created, err = db.TouchUser(ctx, 7, "en"); err != nil || created || u.Lang != "ru" {
		t.Fatalf("second touch: %+v %v %v", u, created, err)
	}

	if err := db.SetUserLang(ctx, 7, "kk"); err != nil {
		t.Fatal(err)
	}
	if u, _, err = db.TouchUser(ctx, 7, "en"); err != nil || u.Lang != "kk" || !u.LangChosen {
		t.Fatalf("after the language switch: %+v %v", u, err)
	}
	if got, err := db.User(ctx, 7); err != nil || got.Lang != "kk" {
		t.Fatalf("User after the switch: %+v %v", got, err)
	}

	// last_seen is still written once LastSeenEvery has passed.
	clk.mu.Lock()
	clk.t = clk.t.Add(storage.LastSeenEvery + time.Second)
	clk.mu.Unlock()
	if u, _, err = db.TouchUser(ctx, 7, "en"); err != nil || !u.LastSeen.Equal(clk.Now()) {
		t.Fatalf("last_seen after %v: %+v %v (now %v)", storage.LastSeenEvery, u, err, clk.Now())
	}

	if err := db.Tx(ctx, func(tx *storage.Tx) error { return tx.EraseUser(7) }); err != nil {
		t.Fatal(err)
	}
	if _, err := db.User(ctx, 7); err == nil {
		t.Fatal("User after EraseUser: still there")
	}
	if u, created, err = db.TouchUser(ctx, 7, "en"); err != nil || !created || u.Lang != "en" || u.LangChosen {
		t.Fatalf("touch after EraseUser: %+v created %v %v; want a new user", u, created, err)
	}
}

// A rolled-back write invalidates too (harmless), and a write that fails
// leaves the cache right.
func TestUserCacheRollback(t *testing.T) {
	ctx := context.Background()
	db := storagetest.DB(t)
	db.CacheUsers(storage.LastSeenEvery)
	if _, _, err := db.TouchUser(ctx, 8, "ru"); err != nil {
		t.Fatal(err)
	}
	errStop := context.Canceled
	err := db.Tx(ctx, func(tx *storage.Tx) error {
		if err := tx.EraseUser(8); err != nil {
			return err
		}
		return errStop
	})
	if err != errStop {
		t.Fatalf("Tx: %v", err)
	}
	if u, created, err := db.TouchUser(ctx, 8, "en"); err != nil || created || u.Lang != "ru" {
		t.Fatalf("after a rolled-back erase: %+v %v %v", u, created, err)
	}
}

// The cache is one process's: a second handle on the same database (another
// replica) does not invalidate it. That is why serve turns it on only when
// one process handles the updates, and why roles are never cached: a role
// revoked through another handle is seen at once.
func TestUserCacheIsPerProcessAndRolesAreNotCached(t *testing.T) {
	ctx := context.Background()
	dbs := storagetest.Replicas(t, 2, time.Now)
	a, b := dbs[0], dbs[1]
	a.CacheUsers(storage.LastSeenEvery)
	if _, _, err := a.TouchUser(ctx, 9, "ru"); err != nil {
		t.Fatal(err)
	}
	if err := b.Tx(ctx, func(tx *storage.Tx) error { return tx.GrantRole(9, storage.RoleMediator, 1) }); err != nil {
		t.Fatal(err)
	}
	if ok, err := a.HasRole(ctx, 9, storage.RoleMediator); err != nil || !ok {
		t.Fatalf("role granted through the other handle: %v %v", ok, err)
	}
	if err := b.Tx(ctx, func(tx *storage.Tx) error { _, err := tx.RevokeRole(9, storage.RoleMediator); return err }); err != nil {
		t.Fatal(err)
	}
	if ok, err := a.HasRole(ctx, 9, storage.RoleMediator); err != nil || ok {
		t.Fatalf("role revoked through the other handle still seen: %v %v", ok, err)
	}

	if err := b.SetUserLang(ctx, 9, "kk"); err != nil {
		t.Fatal(err)
	}
	if u, _, _ := a.TouchUser(ctx, 9, "ru"); u.Lang != "ru" {
		t.Fatalf("the cache saw another handle's write (%q): then this test no longer explains why replicas turn it off", u.Lang)
	}
	a.CacheUsers(0)
	if u, _, err := a.TouchUser(ctx, 9, "ru"); err != nil || u.Lang != "kk" {
		t.Fatalf("cache off: %+v %v", u, err)
	}
}
