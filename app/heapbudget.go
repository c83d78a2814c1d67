package app

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// The heap budget: after every collection the collector's setting (GOGC's
// percentage) is worked out again so that the heap may grow to the budget
// before the next one, but by no less than MinGCPercent and no more than
// MaxGCPercent. With 1,000 citizens in flight by long polling the bot
// keeps 3-6 MB live: at a fixed GOGC=50 it collected about 24 times a
// second, and the collector was a third of its CPU; under a 12 MiB budget
// it collects about half as often (78 against 171 times in run A). Behind
// a webhook it keeps 7-9 MB live, the budget allows little more than
// GOGC=50 did, and its peak memory stays where it was. A bot with more live than the budget allows
// collects as at GOGC=50, never more often: the budget is not a limit the
// collector would chase (docs/BENCHMARKS.md, fourteenth round).
const (
	MinGCPercent = DefaultGCPercent
	MaxGCPercent = 400
)

// heapMinimum is the least heap the Go collector lets grow at GOGC=100
// (the runtime's defaultHeapMinimum; it scales with the percentage).
const heapMinimum = 4 << 20

// gcPercentFor is the collector's setting that lets the heap reach budget
// bytes after a collection that left live bytes live and found roots
// bytes of goroutine stacks and globals to scan. Go's goal for the next
// collection is live + (live+roots)×percent/100, and never under
// heapMinimum×percent/100: the percentage is the largest whose goal is
// within the budget, from MinGCPercent to MaxGCPercent.
func gcPercentFor(live, roots, budget uint64) int {
	if budget <= live {
		return MinGCPercent
	}
	p := uint64(MaxGCPercent)
	if live+roots > 0 {
		p = (budget - live) * 100 / (live + roots)
	}
	p = min(p, budget*100/heapMinimum, MaxGCPercent)
	return int(max(p, MinGCPercent))
}

// gcTick is an object left for the collector to find: its cleanup runs
// after the collection that finds it unreachable. It holds a pointer so
// that it is an allocation of its own (Go packs small objects without
// pointers together, and one of them would live as long as its block).
type gcTick struct{ _ *byte }

// startHeapBudget sets the collector for a heap of budget bytes now and
// after every collection, until stop is called: after stop returns, the
// setting is no longer changed. One tick is pending at a time.
func startHeapBudget(budget uint64) (stop func()) {
	var mu sync.Mutex
	stopped := false
	var arm func()
	arm = func() {
		runtime.AddCleanup(&gcTick{}, func(budget uint64) {
			mu.Lock()
			defer mu.Unlock()
			if !stopped {
				tuneHeap(budget)
				arm()
			}
		}, budget)
	}
	tuneHeap(budget)
	arm()
	return func() {
		mu.Lock()
		stopped = true
		mu.Unlock()
	}
}

// tuneHeap sets the collector for what the last collection found.
func tuneHeap(budget uint64) {
	if p, ok := gcPercentNow(budget); ok {
		debug.SetGCPercent(p)
	}
}

// gcPercentNow is gcPercentFor what the last collection left live and
// found to scan; false if the runtime does not tell.
func gcPercentNow(budget uint64) (int, bool) {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/scan/stack:bytes"}, {Name: "/gc/scan/globals:bytes"}}
	metrics.Read(s)
	for _, v := range s {
		if v.Value.Kind() != metrics.KindUint64 {
			return 0, false
		}
	}
	return gcPercentFor(s[0].Value.Uint64(), s[1].Value.Uint64()+s[2].Value.Uint64(), budget), true
}
