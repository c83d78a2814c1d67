package app

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/dostyq/dostyq/bot"
)

// gcPercent reads the collector's setting (SetGCPercent returns the one
// it replaces).
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func TestTuneRuntimeSetsTheCollectorUnlessGOGCIsSet(t *testing.T) {
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)

	// GOGC in the environment is the operator's: no budget moves it.
	stop := TuneRuntime(func(k string) string {
		if k == "GOGC" {
			return "100"
		}
		return ""
	}, 1)
	runtime.GC()
	settle()
	stop()
	if p := gcPercent(); p != 100 {
		t.Errorf("with GOGC=100 in the environment the collector runs at %d", p)
	}
	// No budget: the fixed setting, after collections too.
	stop = TuneRuntime(func(string) string { return "" }, 0)
	runtime.GC()
	settle()
	stop()
	if p := gcPercent(); p != DefaultGCPercent {
		t.Errorf("without GOGC nor a heap budget the collector runs at %d, want %d", p, DefaultGCPercent)
	}
}

// settle gives a cleanup queued by a collection the time to run.
func settle() {
	for range 10 {
		runtime.Gosched()
		time.Sleep(5 * time.Millisecond)
	}
}

var held []byte

// gcAfter collects with held holding mib MiB until the collector's
// setting is want(p), and returns the setting.
func gcAfter(t *testing.T, mib int, want func(p int) bool) int {
	t.Helper()
	held = make([]byte, mib<<20)
	for i := range held { // touched, so that the pages are the heap's
		held[i] = byte(i)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		settle()
		p := gcPercent()
		if want(p) || time.Now().After(deadline) {
			return p
		}
	}
}

// goalOf is the heap the Go collector lets grow before its next
// collection at percent p (runtime/mgcpacer.go, commit).
func goalOf(live, roots uint64, p int) uint64 {
	return max(live+(live+roots)*uint64(p)/100, heapMinimum*uint64(p)/100)
}

// The budget's setting keeps the collector's goal within the budget, as
// close to it as the percentage allows, unless MinGCPercent already goes
// past it.
func TestHeapBudgetsGoalStaysWithinTheBudget(t *testing.T) {
	const mib = 1 << 20
	budget := uint64(12 * mib)
	for live := uint64(0); live <= 20*mib; live += mib / 4 {
		for _, roots := range []uint64{0, 300 << 10, 2 * mib} {
			p := gcPercentFor(live, roots, budget)
			if p < MinGCPercent || p > MaxGCPercent {
				t.Fatalf("live %d, roots %d: %d %%, outside %d-%d", live, roots, p, MinGCPercent, MaxGCPercent)
			}
			goal := goalOf(live, roots, p)
			if p > MinGCPercent && goal > budget {
				t.Errorf("live %.2f MiB, roots %.2f MiB: %d %% lets the heap reach %.2f MiB, past the budget of 12",
					float64(live)/mib, float64(roots)/mib, p, float64(goal)/mib)
			}
			if p < MaxGCPercent && p < int(budget*100/heapMinimum) && goalOf(live, roots, p+1) <= budget {
				t.Errorf("live %.2f MiB, roots %.2f MiB: %d %% reaches %.2f MiB, and %d %% would still be within the budget",
					float64(live)/mib, float64(roots)/mib, p, float64(goal)/mib, p+1)
			}
		}
	}
	// With 5 MiB live and 1 MiB of roots, as a bot by long polling: 116 %,
	// not GOGC=50's 8 MiB.
	if p := gcPercentFor(5*mib, mib, budget); p != 116 {
		t.Errorf("5 MiB live, 1 MiB of roots: %d %%, want 116", p)
	}
}

// liveMiB collects and returns what is left live, in whole MiB rounded
// up: the test binary's own heap, which differs from run to run (more
// under -race, and after the package's other tests).
func liveMiB() int {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64()>>20) + 1
}

// The heap budget follows what each collection leaves live: a heap well
// below the budget may grow by more than MinGCPercent, the more the less
// is live; one past it grows by MinGCPercent, as with the fixed setting.
// The budget is set above the test binary's own heap.
func TestHeapBudgetFollowsTheLiveHeap(t *testing.T) {
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	defer func() { held = nil }()

	held = nil
	budgetMB := liveMiB() + 64
	budget := uint64(budgetMB) << 20
	stop := TuneRuntime(func(string) string { return "" }, budgetMB)
	defer stop()
	// The setting is the budget's for each live heap once a collection
	// has run: wait for that (the tick runs after the collection).
	tuned := func(p int) bool { want, ok := gcPercentNow(budget); return ok && p == want }
	some := gcAfter(t, 16, tuned)
	if !tuned(some) || some <= MinGCPercent {
		t.Errorf("with 16 MiB held, 48 under the budget, the collector runs at %d, want the budget's and more than %d", some, MinGCPercent)
	}
	if p := gcAfter(t, 80, tuned); !tuned(p) || p != MinGCPercent {
		t.Errorf("with 80 MiB held, past the budget, the collector runs at %d, want %d", p, MinGCPercent)
	}
	none := gcAfter(t, 0, tuned)
	if !tuned(none) || none <= some {
		t.Errorf("with nothing held the collector runs at %d, want the budget's and more than with 16 MiB held (%d)", none, some)
	}
	// Stopped, it leaves the setting as it was.
	stop()
	settle()
	if p := gcAfter(t, 80, func(int) bool { return true }); p != none {
		t.Errorf("after stop, 80 MiB held moved the collector from %d to %d", none, p)
	}
}

// What the budget is for: with the same live heap, the heap may grow
// between two collections by several times what the fixed GOGC=50 lets
// it, so the same allocations take that many times fewer collections. The
// budget is four times the live heap (about 300 %). The room is asserted,
// not the count of collections: that one also depends on how fast the
// collector's marking keeps up, which a busy machine slows (logged).
func TestHeapBudgetCollectsLessOftenThanTheFixedSetting(t *testing.T) {
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	defer func() { held = nil }()

	held = make([]byte, 4<<20)
	budgetMB := 4 * liveMiB()
	run := func(budgetMB int) (room, cycles uint64) {
		stop := TuneRuntime(func(string) string { return "" }, budgetMB)
		defer stop()
		want := func(p int) bool {
			if budgetMB == 0 {
				return p == DefaultGCPercent
			}
			q, ok := gcPercentNow(uint64(budgetMB) << 20)
			return ok && p == q
		}
		gcAfter(t, 4, want)
		s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}, {Name: "/gc/heap/live:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
		metrics.Read(s)
		room, start := s[0].Value.Uint64()-s[1].Value.Uint64(), s[2].Value.Uint64()
		for range 200_000 { // 200 MiB in requests of 1 KiB, as a bot's are
			sink = make([]byte, 1024)
		}
		metrics.Read(s)
		return room, s[2].Value.Uint64() - start
	}
	fixedRoom, fixed := run(0)
	budgetRoom, budget := run(budgetMB)
	t.Logf("4 MiB held: room %.1f MiB at GOGC=50 and %.1f under a %d MiB budget; 200 MiB allocated in %d and %d collections",
		float64(fixedRoom)/(1<<20), float64(budgetRoom)/(1<<20), budgetMB, fixed, budget)
	if budgetRoom < 2*fixedRoom {
		t.Errorf("under a %d MiB budget the heap may grow by %d bytes between collections, at GOGC=50 by %d: want at least twice",
			budgetMB, budgetRoom, fixedRoom)
	}
}

var sink []byte

// A bot that serves no profiles keeps no heap profile either, unless
// GODEBUG asks for one; one built with -tags pprof keeps sampling.
func TestTuneRuntimeStopsTheHeapProfileOfABotWithoutProfiles(t *testing.T) {
	before, gc := runtime.MemProfileRate, debug.SetGCPercent(100)
	defer func() { runtime.MemProfileRate = before; debug.SetGCPercent(gc) }()

	runtime.MemProfileRate = 512 << 10
	TuneRuntime(func(k string) string {
		if k == "GODEBUG" {
			return "memprofilerate=4096"
		}
		return ""
	}, 0)
	if runtime.MemProfileRate != 512<<10 {
		t.Errorf("with GODEBUG=memprofilerate set, the sampling rate became %d", runtime.MemProfileRate)
	}
	TuneRuntime(func(string) string { return "" }, 0)
	if want := 0; !bot.ServesProfiles() && runtime.MemProfileRate != want {
		t.Errorf("the heap profile still samples every %d bytes", runtime.MemProfileRate)
	}
	if want := 512 << 10; bot.ServesProfiles() && runtime.MemProfileRate != want {
		t.Errorf("a bot serving profiles samples every %d bytes, want %d", runtime.MemProfileRate, want)
	}
}
