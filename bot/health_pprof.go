//go:build pprof

package bot

import (
	"net/http"
	"net/http/pprof"
)

// A bot built with -tags pprof serves Go's profiles on METRICS_ADDR under
// /debug/pprof/ (docs/OPERATIONS.md, "Profiling"): for measuring, never in
// the shipped image (net/http/pprof would grow every bot's executable, and
// its pages are resident memory).
func init() {
	debugHandlers = func(mux *http.ServeMux) {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
}
