package storage_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dostyq/dostyq/storage/storagetest"
)

// The poller's log of getUpdates answers: what is kept comes back oldest
// first by id (10 after 9, not before), what is dropped goes in the same
// write as the next answer, and the log expires.
func TestTakenUpdatesKeptUntilDone(t *testing.T) {
	ctx := context.Background()
	s := storagetest.States(t, time.Hour)
	answer := func(id int) []byte { return []byte(fmt.Sprintf(`{"ok":true,"result":[{"update_id":%d}]}`, id)) }
	for _, id := range []int{10, 9} {
		if err := s.KeepTaken(ctx, "7", nil, id, answer(id), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.KeepTaken(ctx, "7", []int{10}, 100, answer(100), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.KeepTaken(ctx, "7", nil, 0, nil, time.Hour); err != nil { // nothing new, nothing done
		t.Fatal(err)
	}
	if err := s.KeepTaken(ctx, "7", nil, 50, answer(50), 0); err != nil { // one update, the expiry as it is
		t.Fatal(err)
	}
	ids, answers, err := s.Taken(ctx, "7", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%v %s", ids, answers); got != `[9 50 100] [{"ok":true,"result":[{"update_id":9}]} {"ok":true,"result":[{"update_id":50}]} {"ok":true,"result":[{"update_id":100}]}]` {
		t.Errorf("kept %s", got)
	}
	if other, _, _ := s.Taken(ctx, "8", time.Hour); len(other) != 0 {
		t.Errorf("another bot's log holds %v", other)
	}
	if ttl := s.Client().PTTL(ctx, s.Prefix+"taken:7").Val(); ttl <= 0 || ttl > time.Hour {
		t.Errorf("the log's TTL is %v", ttl)
	}
	// Many dropped at once (after Redis was down a while): more than
	// Redis's Lua unpacks in one call.
	many := make([]int, 9000)
	for i := range many {
		many[i] = 1000 + i
		if err := s.Client().HSet(ctx, s.Prefix+"taken:7", fmt.Sprint(many[i]), "x").Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.KeepTaken(ctx, "7", many, 0, nil, time.Hour); err != nil {
		t.Fatal(err)
	}
	if ids, _, err := s.Taken(ctx, "7", time.Hour); err != nil || fmt.Sprint(ids) != "[9 50 100]" {
		t.Errorf("after dropping 9,000: %v (%v)", ids, err)
	}
	// An answer older than the age asked for (a field nobody dropped) is
	// not handed on days later: it is deleted.
	old := fmt.Sprintf("%d %s", time.Now().Add(-2*time.Hour).UnixMilli(), answer(7))
	if err := s.Client().HSet(ctx, s.Prefix+"taken:7", "7", old).Err(); err != nil {
		t.Fatal(err)
	}
	if ids, _, err := s.Taken(ctx, "7", time.Hour); err != nil || fmt.Sprint(ids) != "[9 50 100]" {
		t.Errorf("with an answer two hours old: %v (%v)", ids, err)
	}
	if s.Client().HExists(ctx, s.Prefix+"taken:7", "7").Val() {
		t.Error("the answer two hours old is still in the log")
	}
}
