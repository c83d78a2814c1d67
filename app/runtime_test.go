package app

import (
	"runtime/debug"
	"testing"
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
