package app

import (
	"runtime/debug"

	"github.com/dostyq/dostyq/storage"
)

// DefaultGCPercent is the Go collector's setting for a serving bot when
// GOGC is not set: the heap may grow by half its live size between two
// collections instead of doubling. With 1,000 citizens in flight the bot
// keeps about 13 MB live; at Go's default of 100 its heap peaked at 25-29
// MB, at 50 it peaks 7-9 MB lower for no CPU per update that the load
// test can tell apart (docs/BENCHMARKS.md, eighth round).
const DefaultGCPercent = 50

// DefaultCArenas is how many arenas the C allocator may keep when
// MALLOC_ARENA_MAX is not set (storage.LimitCArenas): SQLite's memory in
// one arena per core instead of one per thread that ever ran a query.
const DefaultCArenas = 2

// TuneRuntime applies, for `dostyq serve`, the memory settings above
// unless the environment sets its own (GOGC, MALLOC_ARENA_MAX). It is
// called before the database is opened. The other commands run briefly
// and keep the runtime's defaults.
func TuneRuntime(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(DefaultGCPercent)
	}
	if getenv("MALLOC_ARENA_MAX") == "" {
		storage.LimitCArenas(DefaultCArenas)
	}
}
