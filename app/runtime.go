package app

import (
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/dostyq/dostyq/bot"
)

// DefaultGCPercent is the Go collector's setting for a serving bot when
// GOGC is not set: the heap may grow by half its live size between two
// collections instead of doubling. With 1,000 citizens in flight the bot
// keeps about 13 MB live; at Go's default of 100 its heap peaked at 25-29
// MB, at 50 it peaks 7-9 MB lower, for the collector's CPU measured in
// docs/BENCHMARKS.md (eighth round).
const DefaultGCPercent = 50

// TuneRuntime applies, for `dostyq serve`, the collector's setting above
// unless the environment sets GOGC, and stops the heap profile's sampling
// in a bot that serves no profiles (built without -tags pprof; unless
// GODEBUG sets memprofilerate): its records are kept in a hash table of
// 1.4 MB whose pages the sampled allocation stacks touch one by one (1.5 MB
// of the bot's peak at 1,000 citizens in flight). The other commands run
// briefly and keep Go's defaults. (glibc's arenas are capped for the whole
// binary before the runtime starts: arenas_glibc.go in package main.)
func TuneRuntime(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(DefaultGCPercent)
	}
	if !bot.ServesProfiles() && !strings.Contains(getenv("GODEBUG"), "memprofilerate=") {
		runtime.MemProfileRate = 0
	}
}
