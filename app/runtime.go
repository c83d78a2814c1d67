package app

import (
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/dostyq/dostyq/bot"
)

// DefaultGCPercent is the Go collector's setting for a serving bot when
// neither GOGC nor a heap budget is set, and the least the heap budget
// sets: the heap may grow by half its live size between two collections
// instead of doubling. In the eighth round, with 13 MB live at 1,000
// citizens in flight, Go's default of 100 peaked at 25-29 MB of heap and 50
// at 7-9 MB less, for the collector's CPU (docs/BENCHMARKS.md).
const DefaultGCPercent = 50

// TuneRuntime applies, for `dostyq serve`, the collector's setting unless
// the environment sets GOGC: a heap budget of budgetMB MiB (bot.Config's
// HeapBudgetMB; startHeapBudget), or with 0 the fixed DefaultGCPercent.
// It also stops the heap profile's sampling in a bot that serves no
// profiles (built without -tags pprof; unless GODEBUG sets
// memprofilerate): its records are kept in a hash table of 1.4 MB whose
// pages the sampled allocation stacks touch one by one (1.5 MB of the
// bot's peak at 1,000 citizens in flight). The other commands run briefly
// and keep Go's defaults. (glibc's arenas are capped for the whole binary
// before the runtime starts: arenas_glibc.go in package main.) stop ends
// the heap budget's tuning, leaving the setting as it last was.
func TuneRuntime(getenv func(string) string, budgetMB int) (stop func()) {
	stop = func() {}
	if getenv("GOGC") == "" {
		debug.SetGCPercent(DefaultGCPercent)
		if budgetMB > 0 {
			stop = startHeapBudget(uint64(budgetMB) << 20)
		}
	}
	if !bot.ServesProfiles() && !strings.Contains(getenv("GODEBUG"), "memprofilerate=") {
		runtime.MemProfileRate = 0
	}
	return stop
}
