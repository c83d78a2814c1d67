package storage_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/dostyq/dostyq/storage"
	"github.com/dostyq/dostyq/storage/storagetest"
)

// stateHarness is one StateStore under the contract suite, with a way to
// let time pass for it.
type stateHarness struct {
	store storage.StateStore
	// advance moves the store's clock forward. It is nil for a real Redis,
	// whose clock cannot be moved: expiry is then checked through the TTL
	// Redis reports for the key.
	advance func(time.Duration)
	// pttl returns the time to live Redis holds for a key of the store.
	pttl func(key string) time.Duration
}

const contractTTL = time.Hour

// stateStores returns the stores the contract runs against: the in-memory
// store, Redis on an embedded miniredis, and the real Redis at REDIS_URL
// when one is configured (.ci/run always configures one).
func stateStores() map[string]func(t *testing.T) stateHarness {
	m := map[string]func(t *testing.T) stateHarness{
		"memory": func(t *testing.T) stateHarness {
			var mu sync.Mutex
			now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			return stateHarness{
				store:   storage.NewMemoryStateStore(contractTTL, clock),
				advance: func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() },
			}
		},
		"miniredis": func(t *testing.T) stateHarness {
			mr := miniredis.RunT(t)
			rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
			s := storage.NewRedisStateStore(rdb, contractTTL)
			t.Cleanup(func() { s.Close() })
			return stateHarness{store: s, advance: mr.FastForward,
				pttl: func(key string) time.Duration { return mr.TTL(s.Prefix + key) }}
		},
	}
	if os.Getenv("REDIS_URL") != "" {
		m["redis"] = func(t *testing.T) stateHarness {
			s := storagetest.States(t, contractTTL)
			return stateHarness{store: s, pttl: func(key string) time.Duration {
				return s.Client().PTTL(context.Background(), s.Prefix+key).Val()
			}}
		}
	}
	// The same stores with the per-update commands auto-pipelined, as the
	// bot runs them (REDIS_AUTOPIPELINE, on by default).
	for _, name := range []string{"miniredis", "redis"} {
		open, ok := m[name]
		if !ok {
			continue
		}
		m[name+", auto-pipelined"] = func(t *testing.T) stateHarness {
			h := open(t)
			rs := h.store.(*storage.RedisStateStore)
			if err := rs.AutoPipeline(storagetest.PipeClient(rs.Client())); err != nil {
				t.Fatal(err)
			}
			return h
		}
	}
	return m
}

func TestStateStoreContract(t *testing.T) {
	storagetest.OnePass(t)
	for name, open := range stateStores() {
		t.Run(name, func(t *testing.T) {
			t.Run("unknown user has the zero state", func(t *testing.T) { testStateUnknown(t, open(t)) })
			t.Run("update then get", func(t *testing.T) { testStateRoundTrip(t, open(t)) })
			t.Run("failed update stores nothing", func(t *testing.T) { testStateUpdateError(t, open(t)) })
			t.Run("concurrent updates all land", func(t *testing.T) { testStateConcurrent(t, open(t)) })
			t.Run("racing identical updates both land", func(t *testing.T) { testStateIdenticalRace(t, open(t)) })
			t.Run("state expires after its TTL", func(t *testing.T) { testStateTTL(t, open(t)) })
			t.Run("delete", func(t *testing.T) { testStateDelete(t, open(t)) })
			t.Run("first seen once", func(t *testing.T) { testFirstSeen(t, open(t)) })
			t.Run("count in a fixed window", func(t *testing.T) { testCount(t, open(t)) })
			t.Run("count and get in one", func(t *testing.T) { testCountGet(t, open(t)) })
			t.Run("update from a snapshot", func(t *testing.T) { testUpdateSnapshot(t, open(t)) })
		})
	}
}

func testStateUnknown(t *testing.T, h stateHarness) {
	st, err := h.store.Get(context.Background(), 424242)
	if err != nil {
		t.Fatal(err)
	}
	if st.Flow != "" || st.Step != "" || len(st.Data) != 0 || len(st.History) != 0 || st.Version != 0 {
		t.Fatalf("unknown user: got %+v, want the zero state", st)
	}
}

func testStateRoundTrip(t *testing.T, h stateHarness) {
	ctx := context.Background()
	got, err := h.store.Update(ctx, 7, func(s *storage.State) error {
		s.Flow, s.Step = "mediation", "kind"
		s.History = append(s.History, "consent")
		s.Set("kind", "neighbours")
		s.Set("note", "Көршілер — соседи 🏠")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 1 {
		t.Errorf("version after first update = %d, want 1", got.Version)
	}
	st, err := h.store.Get(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	if st.Flow != "mediation" || st.Step != "kind" || st.Get("kind") != "neighbours" ||
		st.Get("note") != "Көршілер — соседи 🏠" || len(st.History) != 1 || st.History[0] != "consent" {
		t.Fatalf("stored state came back as %+v", st)
	}
	if other, _ := h.store.Get(ctx, 8); other.Flow != "" {
		t.Fatalf("user 8 sees user 7's state: %+v", other)
	}
	// A second update sees the first one's answers.
	st, err = h.store.Update(ctx, 7, func(s *storage.State) error {
		if s.Get("kind") != "neighbours" {
			return errors.New("previous answer lost")
		}
		s.Step = "where"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Version != 2 || st.Step != "where" {
		t.Fatalf("second update: %+v", st)
	}
}

func testStateUpdateError(t *testing.T, h stateHarness) {
	ctx := context.Background()
	if _, err := h.store.Update(ctx, 7, func(s *storage.State) error { s.Step = "a"; return nil }); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	_, err := h.store.Update(ctx, 7, func(s *storage.State) error { s.Step = "b"; return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("Update returned %v, want the error of fn", err)
	}
	if st, _ := h.store.Get(ctx, 7); st.Step != "a" {
		t.Fatalf("failed update was stored: step %q", st.Step)
	}
}

func testStateConcurrent(t *testing.T, h stateHarness) {
	ctx := context.Background()
	const writers = 50
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := h.store.Update(ctx, 9, func(s *storage.State) error {
				n, _ := strconv.Atoi(s.Get("n"))
				s.Set("n", strconv.Itoa(n+1))
				s.Set("w"+strconv.Itoa(i), "x")
				return nil
			})
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent update: %v", err)
		}
	}
	st, err := h.store.Get(ctx, 9)
	if err != nil {
		t.Fatal(err)
	}
	if st.Get("n") != strconv.Itoa(writers) || st.Version != writers {
		t.Errorf("after %d concurrent increments: n = %s, version = %d", writers, st.Get("n"), st.Version)
	}
	for i := 0; i < writers; i++ {
		if st.Get("w"+strconv.Itoa(i)) != "x" {
			t.Errorf("the answer of writer %d was lost", i)
		}
	}
}

func testStateTTL(t *testing.T, h stateHarness) {
	ctx := context.Background()
	if _, err := h.store.Update(ctx, 11, func(s *storage.State) error { s.Flow = "charity"; return nil }); err != nil {
		t.Fatal(err)
	}
	if h.advance == nil {
		ttl := h.pttl("state:11")
		if ttl <= contractTTL-time.Minute || ttl > contractTTL {
			t.Fatalf("state key TTL = %v, want about %v", ttl, contractTTL)
		}
		return
	}
	h.advance(contractTTL - time.Minute)
	// An update renews the TTL.
	if _, err := h.store.Update(ctx, 11, func(s *storage.State) error { s.Step = "kind"; return nil }); err != nil {
		t.Fatal(err)
	}
	h.advance(contractTTL - time.Minute)
	if st, _ := h.store.Get(ctx, 11); st.Flow != "charity" || st.Step != "kind" {
		t.Fatalf("state gone before its TTL since the last update: %+v", st)
	}
	h.advance(2 * time.Minute)
	st, err := h.store.Get(ctx, 11)
	if err != nil {
		t.Fatal(err)
	}
	if st.Flow != "" || st.Step != "" {
		t.Fatalf("state still there after its TTL: %+v", st)
	}
}

func testStateDelete(t *testing.T, h stateHarness) {
	ctx := context.Background()
	for _, id := range []int64{12, 13} {
		if _, err := h.store.Update(ctx, id, func(s *storage.State) error { s.Flow = "f"; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.store.Delete(ctx, 12); err != nil {
		t.Fatal(err)
	}
	if st, _ := h.store.Get(ctx, 12); st.Flow != "" {
		t.Fatalf("deleted state still there: %+v", st)
	}
	if st, _ := h.store.Get(ctx, 13); st.Flow != "f" {
		t.Fatalf("deleting user 12 touched user 13: %+v", st)
	}
	if err := h.store.Delete(ctx, 999); err != nil {
		t.Fatalf("deleting an unknown user: %v", err)
	}
}

func testFirstSeen(t *testing.T, h stateHarness) {
	ctx := context.Background()
	for i, want := range []bool{true, false, false} {
		got, err := h.store.FirstSeen(ctx, "update:100", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("call %d: FirstSeen = %v, want %v", i+1, got, want)
		}
	}
	if got, _ := h.store.FirstSeen(ctx, "update:101", time.Hour); !got {
		t.Fatal("another key is not seen yet")
	}
	if h.advance == nil {
		if ttl := h.pttl("seen:update:100"); ttl <= 0 || ttl > time.Hour {
			t.Fatalf("seen key TTL = %v, want at most 1h", ttl)
		}
		return
	}
	h.advance(time.Hour + time.Second)
	if got, _ := h.store.FirstSeen(ctx, "update:100", time.Hour); !got {
		t.Fatal("a key is seen again for the first time after its TTL")
	}
}

func testCount(t *testing.T, h stateHarness) {
	ctx := context.Background()
	for want := int64(1); want <= 3; want++ {
		n, err := h.store.Count(ctx, "flood:5", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Fatalf("count %d: got %d", want, n)
		}
	}
	if n, _ := h.store.Count(ctx, "flood:6", time.Minute); n != 1 {
		t.Fatalf("another key starts at %d, want 1", n)
	}
	if h.advance == nil {
		if ttl := h.pttl("count:flood:5"); ttl <= 0 || ttl > time.Minute {
			t.Fatalf("counter TTL = %v, want at most the 1m window", ttl)
		}
		return
	}
	// The window is fixed: counting does not extend it.
	h.advance(50 * time.Second)
	if n, _ := h.store.Count(ctx, "flood:5", time.Minute); n != 4 {
		t.Fatalf("inside the window: got %d, want 4", n)
	}
	h.advance(11 * time.Second)
	if n, _ := h.store.Count(ctx, "flood:5", time.Minute); n != 1 {
		t.Fatalf("after the window: got %d, want 1 (a new window)", n)
	}
}

func testCountGet(t *testing.T, h stateHarness) {
	ctx := context.Background()
	n, st, _, err := storage.CountGet(ctx, h.store, "flood:7", time.Minute, 7)
	if err != nil || n != 1 || st.Flow != "" || st.Version != 0 {
		t.Fatalf("first: %d %+v %v, want 1, the zero state", n, st, err)
	}
	if _, err := h.store.Update(ctx, 7, func(s *storage.State) error { s.Flow = "houses"; s.Set("k", "v"); return nil }); err != nil {
		t.Fatal(err)
	}
	n, st, _, err = storage.CountGet(ctx, h.store, "flood:7", time.Minute, 7)
	if err != nil || n != 2 || st.Flow != "houses" || st.Get("k") != "v" || st.Version != 1 {
		t.Fatalf("second: %d %+v %v, want 2 and the stored state", n, st, err)
	}
	if n, _ := h.store.Count(ctx, "flood:7", time.Minute); n != 3 {
		t.Fatalf("Count after CountGet: %d, want 3 (the same counter)", n)
	}
	if h.advance == nil {
		if ttl := h.pttl("count:flood:7"); ttl <= 0 || ttl > time.Minute {
			t.Fatalf("counter TTL = %v, want at most the 1m window", ttl)
		}
		return
	}
	h.advance(50 * time.Second)
	if n, _, _, _ := storage.CountGet(ctx, h.store, "flood:7", time.Minute, 7); n != 4 {
		t.Fatalf("inside the window: got %d, want 4", n)
	}
	h.advance(11 * time.Second)
	if n, _, _, _ := storage.CountGet(ctx, h.store, "flood:7", time.Minute, 7); n != 1 {
		t.Fatalf("after the window: got %d, want 1 (a new window)", n)
	}
}

func testUpdateSnapshot(t *testing.T, h stateHarness) {
	ctx := context.Background()
	// A user without a state: the snapshot says so, and the write from it lands.
	st, snap, err := storage.GetSnapshot(ctx, h.store, 8)
	if err != nil {
		t.Fatal(err)
	}
	st, snap, err = storage.UpdateSnapshot(ctx, h.store, 8, snap, func(s *storage.State) error {
		if s.Version != st.Version {
			t.Errorf("fn got version %d, want %d", s.Version, st.Version)
		}
		s.Flow = "mediation"
		return nil
	})
	if err != nil || st.Version != 1 {
		t.Fatalf("first write: %+v %v", st, err)
	}
	// Written from the snapshot it returned.
	if st, snap, err = storage.UpdateSnapshot(ctx, h.store, 8, snap, func(s *storage.State) error { s.Step = "describe"; return nil }); err != nil || st.Version != 2 {
		t.Fatalf("second write: %+v %v", st, err)
	}
	// Another writer gets in: the write from the stale snapshot must not
	// overwrite it, but start again from what is stored.
	if _, err := h.store.Update(ctx, 8, func(s *storage.State) error { s.Set("other", "1"); return nil }); err != nil {
		t.Fatal(err)
	}
	calls := 0
	st, _, err = storage.UpdateSnapshot(ctx, h.store, 8, snap, func(s *storage.State) error { calls++; s.Set("mine", "1"); return nil })
	if err != nil {
		t.Fatal(err)
	}
	got, err := h.store.Get(ctx, 8)
	if err != nil {
		t.Fatal(err)
	}
	if got.Get("other") != "1" || got.Get("mine") != "1" || got.Step != "describe" || got.Version != 4 || st.Version != 4 {
		t.Fatalf("after a concurrent writer: %+v (returned %+v), want both changes, version 4", got, st)
	}
	if _, isSnap := h.store.(storage.SnapshotStore); isSnap && calls != 2 {
		t.Fatalf("fn called %d times, want 2 (the stale snapshot, then the stored state)", calls)
	}
	// Deleted behind a snapshot: the write starts from no state.
	_, snap, _ = storage.GetSnapshot(ctx, h.store, 8)
	if err := h.store.Delete(ctx, 8); err != nil {
		t.Fatal(err)
	}
	if st, _, err = storage.UpdateSnapshot(ctx, h.store, 8, snap, func(s *storage.State) error { return nil }); err != nil || st.Version != 1 || st.Flow != "" {
		t.Fatalf("after a delete: %+v %v, want a fresh state, version 1", st, err)
	}
}

// testStateIdenticalRace: two updates that read the same state and make
// the same new one from it (the same button pressed twice, a counter) both
// take effect, one after the other: the second is a conflict, not taken for
// the first one's write sent again.
func testStateIdenticalRace(t *testing.T, h stateHarness) {
	ctx := context.Background()
	read := make(chan struct{}, 2)
	both := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			_, err := h.store.Update(ctx, 11, func(s *storage.State) error {
				if first { // both writers read the same state before either writes
					first = false
					read <- struct{}{}
					<-both
				}
				n, _ := strconv.Atoi(s.Get("n"))
				s.Set("n", strconv.Itoa(n+1))
				return nil
			})
			errs <- err
		}()
	}
	// A store that runs one update at a time (the in-memory one) lets
	// the second read only after the first write: do not wait for it.
	<-read
	select {
	case <-read:
	case <-time.After(500 * time.Millisecond):
	}
	once.Do(func() { close(both) })
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	st, err := h.store.Get(ctx, 11)
	if err != nil {
		t.Fatal(err)
	}
	if st.Get("n") != "2" || st.Version != 2 {
		t.Fatalf("two identical racing updates: n = %s, version %d; want 2 and 2", st.Get("n"), st.Version)
	}
}

// BenchmarkStateLoadSaveSnapshot is what a step of a conversation costs in
// Redis now: the flood counter and the state in one round trip
// (CountGet), then the write from the snapshot (UpdateSnapshot).
func BenchmarkStateLoadSaveSnapshot(b *testing.B) {
	s := storagetest.States(b, time.Hour)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := int64(i%100 + 1)
		_, _, snap, err := s.CountGet(ctx, "flood:"+strconv.FormatInt(id, 10), time.Minute, id)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := s.UpdateSnapshot(ctx, id, snap, func(st *storage.State) error {
			st.Flow, st.Step = "mediation", "describe"
			st.Set("kind", "family")
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStateStepsParallel is the steps of BenchmarkStateLoadSaveSnapshot
// from 256 goroutines at once, as the bot's workers issue them, with each
// command sent on its own and auto-pipelined (REDIS_AUTOPIPELINE). Its
// ns/op is per step of one goroutine; compare the two in one run.
func BenchmarkStateStepsParallel(b *testing.B) {
	for _, auto := range []bool{false, true} {
		b.Run(map[bool]string{false: "each-on-its-own", true: "auto-pipelined"}[auto], func(b *testing.B) {
			s := storagetest.States(b, time.Hour)
			if auto {
				if err := s.AutoPipeline(storagetest.PipeClient(s.Client())); err != nil {
					b.Fatal(err)
				}
			}
			ctx := context.Background()
			var next atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(128) // 256 goroutines with GOMAXPROCS=2
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				id := next.Add(1)
				key := "flood:" + strconv.FormatInt(id, 10)
				for pb.Next() {
					_, _, snap, err := s.CountGet(ctx, key, time.Minute, id)
					if err != nil {
						b.Fatal(err)
					}
					if _, _, err := s.UpdateSnapshot(ctx, id, snap, func(st *storage.State) error {
						st.Flow, st.Step = "mediation", "describe"
						return nil
					}); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkStateLoadSave is what a step of a conversation costs in Redis
// (REDIS_URL, else miniredis): the state loaded, then updated.
func BenchmarkStateLoadSave(b *testing.B) {
	s := storagetest.States(b, time.Hour)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := int64(i%100 + 1)
		if _, err := s.Get(ctx, id); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Update(ctx, id, func(st *storage.State) error {
			st.Flow, st.Step = "mediation", "describe"
			st.Set("kind", "family")
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
}

// forRedisStores runs fn on each Redis store of stateStores (miniredis,
// REDIS_URL, each auto-pipelined too).
func forRedisStores(t *testing.T, fn func(t *testing.T, h stateHarness, s *storage.RedisStateStore)) {
	for name, open := range stateStores() {
		if name == "memory" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			h := open(t)
			fn(t, h, h.store.(*storage.RedisStateStore))
		})
	}
}

// TestSeenCountGet checks the three reads at the start of an update in one
// script: a first update id is marked, counted and gets the state; a
// repeated one is neither counted nor read.
func TestSeenCountGet(t *testing.T) {
	forRedisStores(t, func(t *testing.T, h stateHarness, s *storage.RedisStateStore) {
		ctx := context.Background()
		first, n, st, _, _, err := s.SeenCountGet(ctx, "upd:1:900", time.Hour, "flood:9", time.Minute, 9)
		if err != nil || !first || n != 1 || st.Flow != "" {
			t.Fatalf("first update: %v %d %+v %v", first, n, st, err)
		}
		if _, err := s.Update(ctx, 9, func(st *storage.State) error { st.Flow = "houses"; return nil }); err != nil {
			t.Fatal(err)
		}
		first, n, _, _, _, err = s.SeenCountGet(ctx, "upd:1:900", time.Hour, "flood:9", time.Minute, 9)
		if err != nil || first || n != 0 {
			t.Fatalf("repeated update: %v %d %v, want not first and not counted", first, n, err)
		}
		if again, _ := s.FirstSeen(ctx, "upd:1:900", time.Hour); again {
			t.Fatal("FirstSeen does not see the key SeenCountGet set")
		}
		first, n, st, snap, _, err := s.SeenCountGet(ctx, "upd:1:901", time.Hour, "flood:9", time.Minute, 9)
		if err != nil || !first || n != 2 || st.Flow != "houses" || st.Version != 1 {
			t.Fatalf("next update: %v %d %+v %v, want counted 2 and the stored state", first, n, st, err)
		}
		if st, _, err = s.UpdateSnapshot(ctx, 9, snap, func(st *storage.State) error { st.Step = "town"; return nil }); err != nil || st.Version != 2 {
			t.Fatalf("write from its snapshot: %+v %v", st, err)
		}
		if ttl := h.pttl("seen:upd:1:901"); ttl <= 0 || ttl > time.Hour {
			t.Fatalf("seen key TTL = %v, want at most 1h", ttl)
		}
		if ttl := h.pttl("count:flood:9"); ttl <= 0 || ttl > time.Minute {
			t.Fatalf("counter TTL = %v, want at most the 1m window", ttl)
		}
	})
}

// Under a chat's lock (replicas) a mark means "in
// progress" until SeenDone: the next holder of the chat's lock takes over an
// update whose replica died before finishing it, and skips one that was
// done. Both FirstSeen and SeenCountGet, and the TTL is kept.
func TestSeenUnderChatLock(t *testing.T) {
	forRedisStores(t, func(t *testing.T, h stateHarness, s *storage.RedisStateStore) {
		ctx, unlock, err := s.LockChat(context.Background(), "chat:5", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		defer unlock()
		for i, want := range []bool{true, true} {
			if got, err := s.FirstSeen(ctx, "upd:1:1", time.Hour); err != nil || got != want {
				t.Fatalf("FirstSeen %d of an update in progress = %v %v, want %v (taken over)", i+1, got, err, want)
			}
		}
		if err := s.SeenDone(ctx, "upd:1:1", time.Hour); err != nil {
			t.Fatal(err)
		}
		if got, err := s.FirstSeen(ctx, "upd:1:1", time.Hour); err != nil || got {
			t.Fatalf("FirstSeen of a done update = %v %v, want a repeat", got, err)
		}
		if got, _, _, _, _, err := s.SeenCountGet(ctx, "upd:1:1", time.Hour, "flood:5", time.Minute, 5); err != nil || got {
			t.Fatalf("SeenCountGet of a done update = %v %v, want a repeat", got, err)
		}

		first, n, _, _, moved, err := s.SeenCountGet(ctx, "upd:1:2", time.Hour, "flood:5", time.Minute, 5)
		if err != nil || !first || n != 1 || moved {
			t.Fatalf("new update: %v %d %v %v", first, n, moved, err)
		}
		first, n, _, _, moved, err = s.SeenCountGet(ctx, "upd:1:2", time.Hour, "flood:5", time.Minute, 5)
		if err != nil || !first || n != 2 || moved {
			t.Fatalf("update in progress, delivered again: %v %d moved %v %v, want taken over, counted, state not moved", first, n, moved, err)
		}
		// Its replica wrote the user's state, then died.
		if _, err := s.Update(ctx, 5, func(st *storage.State) error { st.Flow, st.Step = "mediation", "kind"; return nil }); err != nil {
			t.Fatal(err)
		}
		first, _, st, _, moved, err := s.SeenCountGet(ctx, "upd:1:2", time.Hour, "flood:5", time.Minute, 5)
		if err != nil || !first || !moved || st.Step != "kind" {
			t.Fatalf("update in progress whose replica moved the state on: %v moved %v %+v %v, want taken over and moved", first, moved, st, err)
		}
		if err := s.SeenDone(ctx, "upd:1:2", time.Hour); err != nil {
			t.Fatal(err)
		}
		if first, _, _, _, _, _ = s.SeenCountGet(ctx, "upd:1:2", time.Hour, "flood:5", time.Minute, 5); first {
			t.Fatal("a done update handled again")
		}
		if ttl := h.pttl("seen:upd:1:2"); ttl <= 0 || ttl > time.Hour {
			t.Fatalf("seen key TTL after done = %v, want at most 1h", ttl)
		}
		if err := s.SeenDone(ctx, "upd:1:3", time.Hour); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.FirstSeen(ctx, "upd:1:3", time.Hour); !got {
			t.Fatal("SeenDone of an update never marked made it a repeat")
		}

		// Without the chat lock a mark in progress may be a live
		// replica's: it means seen, and the new mark is final.
		plain := context.Background()
		if first, _, _, _, _, err := s.SeenCountGet(ctx, "upd:1:5", time.Hour, "flood:5", time.Minute, 5); err != nil || !first {
			t.Fatalf("new update under the lock: %v %v", first, err)
		}
		if got, _ := s.FirstSeen(plain, "upd:1:5", time.Hour); got {
			t.Fatal("without the lock an update in progress was taken over")
		}
		if first, _, _, _, _, _ := s.SeenCountGet(plain, "upd:1:5", time.Hour, "flood:5", time.Minute, 5); first {
			t.Fatal("without the lock an update in progress was taken over (SeenCountGet)")
		}
		if got, _ := s.FirstSeen(plain, "upd:1:6", time.Hour); !got {
			t.Fatal("new update without the lock not first")
		}
		if got, _ := s.FirstSeen(ctx, "upd:1:6", time.Hour); got {
			t.Fatal("a mark made without the lock was taken over")
		}

		// One process, no lock: any mark means seen.
		if got, _ := s.FirstSeen(plain, "upd:1:4", time.Hour); !got {
			t.Fatal("new update not first")
		}
		if got, _ := s.FirstSeen(plain, "upd:1:4", time.Hour); got {
			t.Fatal("without the lock a repeat was handled")
		}
	})
}

// The context LockChat returns is cancelled with ErrChatLockLost when the
// lock is lost while held (here: taken from under its holder), so that a
// replica stops handling an update another one may now take over; and its
// done mark is then not written.
func TestChatLockLostCancelsTheWork(t *testing.T) {
	storagetest.OnePass(t)
	forRedisStores(t, func(t *testing.T, h stateHarness, s *storage.RedisStateStore) {
		held, unlock, err := s.LockChat(context.Background(), "chat:7", 300*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		defer unlock()
		if first, err := s.FirstSeen(held, "upd:1:70", time.Hour); err != nil || !first {
			t.Fatalf("first: %v %v", first, err)
		}
		// Another holder now has the lock (its lease ran out meanwhile).
		if err := s.Client().Set(context.Background(), s.Prefix+"lock:chat:7", "someone-else", time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-held.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("the work under a lost lock was not cancelled")
		}
		if !errors.Is(context.Cause(held), storage.ErrChatLockLost) {
			t.Fatalf("cause = %v, want ErrChatLockLost", context.Cause(held))
		}
		if err := s.SeenDone(held, "upd:1:70", time.Hour); err != nil {
			t.Fatal(err)
		}
		other, unlockOther, err := s.LockChat(context.Background(), "chat:8", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		defer unlockOther()
		if first, _ := s.FirstSeen(other, "upd:1:70", time.Hour); !first {
			t.Fatal("the lost holder's done mark was written: the update cannot be taken over")
		}
	})
}
