package app

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// The heap budget: after every collection the collector's setting (GOGC's
// percentage) is worked out again so that the heap may grow to the budget
// before the next one, but by no less than MinGCPercent and no more than
// MaxGCPercent of what the collection left live. With 1,000 citizens in
// flight by long polling the bot keeps 3-6 MB live: at a fixed GOGC=50 it
// collected about 24 times a second, and the collector was a third of its
// CPU; under a 12 MiB budget it collects three to four times less often.
// Behind a webhook it keeps 7-9 MB live, the budget allows little more
// than GOGC=50 did, and its peak memory stays where it was. A bot with
// more live than the budget allows collects as at GOGC=50, never more
// often: the budget is not a limit the collector would chase
// (docs/BENCHMARKS.md, fourteenth round).
const (
	MinGCPercent = DefaultGCPercent
	MaxGCPercent = 400
)

// gcPercentFor is the collector's setting for live bytes left live by the
// last collection under a budget of heap bytes: the percentage of live
// that reaches the budget, from MinGCPercent to MaxGCPercent.
func gcPercentFor(live, budget uint64) int {
	if live == 0 || budget <= live {
		return MinGCPercent
	}
	return int(min(max((budget-live)*100/live, MinGCPercent), MaxGCPercent))
}

// gcTick is an object left for the collector to find: its cleanup runs
// after the collection that finds it unreachable. It holds a pointer so
// that it is an allocation of its own (Go packs small objects without
// pointers together, and one of them would live as long as its block).
type gcTick struct{ _ *byte }

// startHeapBudget sets the collector for a heap of budget bytes now and
// after every collection, until stop is called. One tick is pending at a
// time, so the tuning never runs twice at once.
func startHeapBudget(budget uint64) (stop func()) {
	var stopped atomic.Bool
	var arm func()
	arm = func() {
		runtime.AddCleanup(&gcTick{}, func(budget uint64) {
			if !stopped.Load() {
				tuneHeap(budget)
				arm()
			}
		}, budget)
	}
	tuneHeap(budget)
	arm()
	return func() { stopped.Store(true) }
}

// tuneHeap sets the collector for the live heap of the last collection.
func tuneHeap(budget uint64) {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 {
		debug.SetGCPercent(gcPercentFor(s[0].Value.Uint64(), budget))
	}
}
