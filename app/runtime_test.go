package app

import (
	"runtime"
	"runtime/debug"
	"testing"

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

	TuneRuntime(func(k string) string {
		if k == "GOGC" {
			return "100"
		}
		return ""
	})
	if p := gcPercent(); p != 100 {
		t.Errorf("with GOGC=100 in the environment the collector runs at %d", p)
	}
	TuneRuntime(func(string) string { return "" })
	if p := gcPercent(); p != DefaultGCPercent {
		t.Errorf("without GOGC the collector runs at %d, want %d", p, DefaultGCPercent)
	}
}

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
	})
	if runtime.MemProfileRate != 512<<10 {
		t.Errorf("with GODEBUG=memprofilerate set, the sampling rate became %d", runtime.MemProfileRate)
	}
	TuneRuntime(func(string) string { return "" })
	if want := 0; !bot.ServesProfiles() && runtime.MemProfileRate != want {
		t.Errorf("the heap profile still samples every %d bytes", runtime.MemProfileRate)
	}
	if want := 512 << 10; bot.ServesProfiles() && runtime.MemProfileRate != want {
		t.Errorf("a bot serving profiles samples every %d bytes, want %d", runtime.MemProfileRate, want)
	}
}
