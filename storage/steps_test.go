package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/dostyq/dostyq/storage"
	"github.com/dostyq/dostyq/storage/storagetest"
)

// A step recorded in a transaction is found done, with its result, by the
// next; a second record of it fails (and so rolls back the transaction
// that would do the step twice); a transaction rolled back records
// nothing. The records go after their time (ForgetStepsBefore) and with
// their user (EraseUser).
func TestStepsDoneAreRecordedOnce(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)}
	db := storagetest.DBWithClock(t, c.Now)
	done := func(step string) (string, bool) {
		t.Helper()
		var result string
		var ok bool
		if err := db.Tx(ctx, func(tx *storage.Tx) error {
			var err error
			result, ok, err = tx.StepDone(step)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return result, ok
	}
	record := func(step string, user int64, result string) error {
		return db.Tx(ctx, func(tx *storage.Tx) error { return tx.RecordStep(step, user, result) })
	}

	if _, ok := done("event.create:50:7"); ok {
		t.Fatal("a step never recorded is done")
	}
	if err := record("event.create:50:7", 50, "12"); err != nil {
		t.Fatal(err)
	}
	if got, ok := done("event.create:50:7"); !ok || got != "12" {
		t.Errorf("recorded step: done %v, result %q; want true, \"12\"", ok, got)
	}
	if err := record("event.create:50:7", 50, "13"); err == nil {
		t.Error("a step was recorded twice")
	}
	if got, _ := done("event.create:50:7"); got != "12" {
		t.Errorf("the second record changed the result to %q", got)
	}
	rollback := db.Tx(ctx, func(tx *storage.Tx) error {
		if err := tx.RecordStep("event.message:50:8", 50, "2"); err != nil {
			return err
		}
		return storage.ErrNotFound // the step's work failed
	})
	if rollback == nil {
		t.Fatal("the failing transaction committed")
	}
	if _, ok := done("event.message:50:8"); ok {
		t.Error("a step whose transaction was rolled back is done")
	}

	c.Add(time.Hour)
	if err := record("event.message:60:9", 60, "1"); err != nil {
		t.Fatal(err)
	}
	if err := record("event.message:50:10", 50, "3"); err != nil {
		t.Fatal(err)
	}
	var forgot int64
	if err := db.Tx(ctx, func(tx *storage.Tx) error {
		var err error
		forgot, err = tx.ForgetStepsBefore(c.Now().Add(-30 * time.Minute))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if forgot != 1 {
		t.Errorf("forgot %d steps older than the cutoff, want 1", forgot)
	}
	if _, ok := done("event.create:50:7"); ok {
		t.Error("a step older than the cutoff is still done")
	}
	if _, ok := done("event.message:60:9"); !ok {
		t.Error("a step newer than the cutoff was forgotten")
	}
	if err := db.Tx(ctx, func(tx *storage.Tx) error { return tx.EraseUser(50) }); err != nil {
		t.Fatal(err)
	}
	if _, ok := done("event.message:50:10"); ok {
		t.Error("a step of an erased user is still recorded")
	}
	if _, ok := done("event.message:60:9"); !ok {
		t.Error("erasing a user forgot another user's step")
	}
}
