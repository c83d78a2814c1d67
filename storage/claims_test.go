package storage_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dostyq/dostyq/storage"
	"github.com/dostyq/dostyq/storage/storagetest"
)

// Two replicas on one database claim the outbox at once: every message is
// claimed (and so sent) exactly once, and each chat's messages are sent in
// the order they were written.
func TestTwoReplicasClaimEachOutboxMessageOnce(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)}
	dbs := storagetest.Replicas(t, 2, c.Now)
	const chats, perChat = 40, 5
	err := dbs[0].Tx(ctx, func(tx *storage.Tx) error {
		for i := range perChat {
			for chat := range chats {
				if _, err := tx.Enqueue(storage.OutboxMessage{ChatID: int64(1000 + chat), Text: fmt.Sprint(i)}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	claims := map[int64]int{}
	sent := map[int64][]string{} // chat: texts in the order sent
	var wg sync.WaitGroup
	for r, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for idle := 0; idle < 3; {
				due, err := db.ClaimOutbox(ctx, c.Now(), time.Minute, 7)
				if err != nil {
					t.Errorf("replica %d: %v", r, err)
					return
				}
				if len(due) == 0 {
					idle++
					time.Sleep(time.Millisecond)
					continue
				}
				idle = 0
				for _, m := range due {
					mu.Lock()
					claims[m.ID]++
					sent[m.ChatID] = append(sent[m.ChatID], m.Text)
					mu.Unlock()
					if err := db.OutboxSent(ctx, m.ID, int(m.ID)); err != nil {
						t.Errorf("replica %d: %v", r, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()

	if len(claims) != chats*perChat {
		t.Errorf("%d messages claimed, want %d", len(claims), chats*perChat)
	}
	for id, n := range claims {
		if n != 1 {
			t.Errorf("message %d claimed %d times", id, n)
		}
	}
	for chat, texts := range sent {
		if fmt.Sprint(texts) != "[0 1 2 3 4]" {
			t.Errorf("chat %d: sent in the order %v", chat, texts)
		}
	}
	if n, err := dbs[1].PendingOutbox(ctx); err != nil || n != 0 {
		t.Errorf("pending %d, %v", n, err)
	}
}

// A claim keeps the message from the other replica until it runs out (the
// replica that claimed it died) or is released; an attempt recorded ends it.
func TestOutboxClaimRunsOutAndIsReleased(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)}
	dbs := storagetest.Replicas(t, 2, c.Now)
	dbs[0].Tx(ctx, func(tx *storage.Tx) error {
		_, err := tx.Enqueue(storage.OutboxMessage{ChatID: 1, Text: "a"})
		return err
	})
	claim := func(db *storage.DB) int {
		t.Helper()
		due, err := db.ClaimOutbox(ctx, c.Now(), time.Minute, 10)
		if err != nil {
			t.Fatal(err)
		}
		return len(due)
	}
	if claim(dbs[0]) != 1 || claim(dbs[1]) != 0 {
		t.Fatal("a claimed message was claimed again")
	}
	c.Add(61 * time.Second)
	if claim(dbs[1]) != 1 {
		t.Fatal("the claim of a dead replica did not run out")
	}
	due, _ := dbs[1].DueOutbox(ctx, c.Now(), 10)
	if err := dbs[1].ReleaseOutbox(ctx, due[0].ID); err != nil {
		t.Fatal(err)
	}
	if claim(dbs[0]) != 1 {
		t.Fatal("a released message could not be claimed")
	}
	if err := dbs[0].OutboxRetry(ctx, due[0].ID, c.Now(), "500"); err != nil {
		t.Fatal(err)
	}
	if claim(dbs[1]) != 1 {
		t.Fatal("a retried message stayed claimed")
	}
}

// Two replicas on one database claim and fire due timers at once: every
// timer is claimed once and fires once.
func TestTwoReplicasFireEachTimerOnce(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)}
	dbs := storagetest.Replicas(t, 2, c.Now)
	const timers = 150
	err := dbs[0].Tx(ctx, func(tx *storage.Tx) error {
		for i := range timers {
			if err := tx.ScheduleTimer("test", fmt.Sprint(i), c.Now().Add(time.Duration(i)*time.Second)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Add(timers * time.Second)

	var mu sync.Mutex
	claims, fired := map[int64]int{}, map[string]int{}
	var wg sync.WaitGroup
	for r, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for idle := 0; idle < 3; {
				due, err := db.ClaimTimers(ctx, c.Now(), time.Minute, 9)
				if err != nil {
					t.Errorf("replica %d: %v", r, err)
					return
				}
				if len(due) == 0 {
					idle++
					time.Sleep(time.Millisecond)
					continue
				}
				idle = 0
				for _, tm := range due {
					mu.Lock()
					claims[tm.ID]++
					mu.Unlock()
					err := db.Tx(ctx, func(tx *storage.Tx) error {
						ok, err := tx.FireTimer(tm.ID)
						if ok {
							mu.Lock()
							fired[tm.Ref]++
							mu.Unlock()
						}
						return err
					})
					if err != nil {
						t.Errorf("replica %d: %v", r, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if len(claims) != timers || len(fired) != timers {
		t.Errorf("%d timers claimed, %d fired, want %d", len(claims), len(fired), timers)
	}
	for id, n := range claims {
		if n != 1 {
			t.Errorf("timer %d claimed %d times", id, n)
		}
	}
	for ref, n := range fired {
		if n != 1 {
			t.Errorf("timer %s fired %d times", ref, n)
		}
	}
}

// On SQLite (one bot process) a restart ends the claims of the process
// that died, so its notifications go out at once; on PostgreSQL other
// replicas' claims are live and stay.
func TestReleaseStaleClaimsAtStart(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)}
	db := storagetest.DBWithClock(t, c.Now)
	db.Tx(ctx, func(tx *storage.Tx) error {
		_, err := tx.Enqueue(storage.OutboxMessage{ChatID: 1, Text: "a"})
		return err
	})
	if due, err := db.ClaimOutbox(ctx, c.Now(), time.Minute, 10); err != nil || len(due) != 1 {
		t.Fatalf("claim: %v, %v", due, err)
	}
	n, err := db.ReleaseStaleClaims(ctx)
	if err != nil {
		t.Fatal(err)
	}
	due, err := db.ClaimOutbox(ctx, c.Now(), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	switch db.Dialect() {
	case storage.SQLite:
		if n != 1 || len(due) != 1 {
			t.Errorf("released %d, then claimable %d; want 1 and 1", n, len(due))
		}
	default:
		if n != 0 || len(due) != 0 {
			t.Errorf("PostgreSQL: released %d, then claimable %d; want 0 and 0", n, len(due))
		}
	}
}
