package storage_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/dostyq/dostyq/storage"
)

func TestOutboxKeepsEachChatInOrderAndRollsBackWithTheChange(t *testing.T) {
	ctx := context.Background()
	db, c := clockDB(t)
	err := db.Tx(ctx, func(tx *storage.Tx) error {
		for _, m := range []storage.OutboxMessage{{ChatID: 1, Text: "a1"}, {ChatID: 2, Text: "b1"}, {ChatID: 1, Text: "a2"}} {
			if _, err := tx.Enqueue(m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A transaction that fails leaves no message behind.
	_ = db.Tx(ctx, func(tx *storage.Tx) error {
		tx.Enqueue(storage.OutboxMessage{ChatID: 3, Text: "lost"})
		return context.Canceled
	})
	due, err := db.DueOutbox(ctx, c.Now(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 2 || due[0].Text != "a1" || due[1].Text != "b1" {
		t.Fatalf("due %+v, want a1 and b1 (a2 waits behind a1)", due)
	}
	// a1 fails: a2 still waits, until a1 is sent.
	if err := db.OutboxRetry(ctx, due[0].ID, c.Now().Add(time.Minute), "500"); err != nil {
		t.Fatal(err)
	}
	if err := db.OutboxSent(ctx, due[1].ID, 77); err != nil {
		t.Fatal(err)
	}
	if due, _ = db.DueOutbox(ctx, c.Now(), 10); len(due) != 0 {
		t.Fatalf("due %+v, want nothing before the retry time", due)
	}
	c.Add(time.Minute)
	if due, _ = db.DueOutbox(ctx, c.Now(), 10); len(due) != 1 || due[0].Text != "a1" || due[0].Attempts != 1 {
		t.Fatalf("due %+v, want a1 again", due)
	}
	db.OutboxSent(ctx, due[0].ID, 78)
	if due, _ = db.DueOutbox(ctx, c.Now(), 10); len(due) != 1 || due[0].Text != "a2" {
		t.Fatalf("due %+v, want a2", due)
	}
	if n, _ := db.PendingOutbox(ctx); n != 1 {
		t.Fatalf("pending %d, want 1", n)
	}
}

func TestTimerFiresOnceAndCanBeRescheduledOrCancelled(t *testing.T) {
	ctx := context.Background()
	db, c := clockDB(t)
	err := db.Tx(ctx, func(tx *storage.Tx) error {
		if err := tx.ScheduleTimer("offer", "1", c.Now().Add(time.Hour)); err != nil {
			return err
		}
		// Rescheduling replaces, it does not add a second timer.
		if err := tx.ScheduleTimer("offer", "1", c.Now().Add(2*time.Hour)); err != nil {
			return err
		}
		if err := tx.ScheduleTimer("offer", "2", c.Now().Add(time.Hour)); err != nil {
			return err
		}
		return tx.CancelTimer("offer", "2")
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Add(time.Hour)
	if due, _ := db.DueTimers(ctx, c.Now(), 10); len(due) != 0 {
		t.Fatalf("due after 1h: %+v", due)
	}
	c.Add(time.Hour)
	due, _ := db.DueTimers(ctx, c.Now(), 10)
	if len(due) != 1 || due[0].Ref != "1" {
		t.Fatalf("due after 2h: %+v", due)
	}
	for i, want := range []bool{true, false} {
		var fired bool
		db.Tx(ctx, func(tx *storage.Tx) error { var err error; fired, err = tx.FireTimer(due[0].ID); return err })
		if fired != want {
			t.Fatalf("fire #%d: %v, want %v", i+1, fired, want)
		}
	}
	if due, _ := db.DueTimers(ctx, c.Now(), 10); len(due) != 0 {
		t.Fatalf("a fired timer is still due: %+v", due)
	}
}

func TestAuditLogIsAppendOnly(t *testing.T) {
	ctx := context.Background()
	db, _ := clockDB(t)
	if err := db.Audit(ctx, 5, "case.view", "M-000001"); err != nil {
		t.Fatal(err)
	}
	if err := db.Audit(ctx, 6, "case.view", "M-000002"); err != nil {
		t.Fatal(err)
	}
	log, err := db.AuditLog(ctx, "M-000001", 10)
	if err != nil || len(log) != 1 || log[0].ActorID != 5 {
		t.Fatalf("audit of M-000001: %+v, err %v", log, err)
	}
	if err := storage.ExecForTest(db, `UPDATE audit_log SET actor_id = 1`); err == nil {
		t.Error("the database let an audit entry be changed")
	}
	if err := storage.ExecForTest(db, `DELETE FROM audit_log`); err == nil {
		t.Error("the database let an audit entry be deleted")
	}
	if log, _ = db.AuditLog(ctx, "", 10); len(log) != 2 {
		t.Fatalf("audit log has %d entries, want 2", len(log))
	}
}

// The outbox backlog (a metric operators alert on) counts what waits and
// how long the oldest has waited; sent messages leave it.
func TestOutboxBacklogCountsWaitingAndTheOldestAge(t *testing.T) {
	ctx := context.Background()
	db, c := clockDB(t)
	if n, age, err := db.OutboxBacklog(ctx); err != nil || n != 0 || age != 0 {
		t.Fatalf("empty outbox: %d, %v, %v", n, age, err)
	}
	enqueue := func(text string) {
		t.Helper()
		if err := db.Tx(ctx, func(tx *storage.Tx) error {
			_, err := tx.Enqueue(storage.OutboxMessage{ChatID: 1, Text: text})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	enqueue("first")
	c.t = c.t.Add(3 * time.Minute)
	enqueue("second")
	c.t = c.t.Add(2 * time.Minute)
	n, age, err := db.OutboxBacklog(ctx)
	if err != nil || n != 2 || age != 5*time.Minute {
		t.Fatalf("backlog: %d, oldest %v, %v; want 2, 5m", n, age, err)
	}
	due, err := db.DueOutbox(ctx, c.Now(), 10)
	if err != nil || len(due) == 0 {
		t.Fatal(due, err)
	}
	if err := db.OutboxSent(ctx, due[0].ID, 77); err != nil {
		t.Fatal(err)
	}
	if n, age, err := db.OutboxBacklog(ctx); err != nil || n != 1 || age != 2*time.Minute {
		t.Fatalf("after one sent: %d, oldest %v, %v; want 1, 2m", n, age, err)
	}
}

// EnqueueAll writes 237 messages in batches of 100, 10 and 1, every one
// once, in order, with its fields; nothing when there is nothing.
func TestEnqueueAllWritesEveryMessageInOrder(t *testing.T) {
	ctx := context.Background()
	db, c := clockDB(t)
	var ms []storage.OutboxMessage
	for i := range 237 {
		ms = append(ms, storage.OutboxMessage{ChatID: int64(1000 + i), Text: "m" + strconv.Itoa(i),
			Keyboard: "k" + strconv.Itoa(i), Protect: i%2 == 0, Ref: "r" + strconv.Itoa(i)})
	}
	if err := db.Tx(ctx, func(tx *storage.Tx) error {
		if err := tx.EnqueueAll(nil); err != nil {
			return err
		}
		return tx.EnqueueAll(ms)
	}); err != nil {
		t.Fatal(err)
	}
	due, err := db.DueOutbox(ctx, c.Now(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != len(ms) {
		t.Fatalf("%d messages in the outbox, want %d", len(due), len(ms))
	}
	for i, m := range due {
		w := ms[i]
		if m.ChatID != w.ChatID || m.Text != w.Text || m.Keyboard != w.Keyboard || m.Protect != w.Protect || m.Ref != w.Ref ||
			m.EditRef != "" || !m.CreatedAt.Equal(c.Now()) || !m.NextAttemptAt.Equal(c.Now()) || !m.Pending() {
			t.Fatalf("message %d is %+v, want %+v", i, m, w)
		}
		if i > 0 && m.ID <= due[i-1].ID {
			t.Fatalf("message %d has id %d after %d", i, m.ID, due[i-1].ID)
		}
	}
}
