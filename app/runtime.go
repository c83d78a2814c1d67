package app

import "runtime/debug"

// DefaultGCPercent is the Go collector's setting for a serving bot when
// GOGC is not set: the heap may grow by half its live size between two
// collections instead of doubling. With 1,000 citizens in flight the bot
// keeps about 13 MB live; at Go's default of 100 its heap peaked at 25-29
// MB, at 50 it peaks 7-9 MB lower, for the collector's CPU measured in
// docs/BENCHMARKS.md (eighth round).
const DefaultGCPercent = 50

// TuneRuntime applies, for `dostyq serve`, the collector's setting above
// unless the environment sets GOGC. The other commands run briefly and
// keep Go's default. (glibc's arenas are capped for the whole binary
// before the runtime starts: arenas_glibc.go in package main.)
func TuneRuntime(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(DefaultGCPercent)
	}
}
