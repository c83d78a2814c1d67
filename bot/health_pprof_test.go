//go:build pprof

package bot

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// Built with -tags pprof, the health endpoint serves the heap profile.
func TestHealthServesProfilesWhenBuiltForThem(t *testing.T) {
	srv := httptest.NewServer(HealthHandler(nil, nil))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/debug/pprof/heap")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/debug/pprof/heap: %d, want 200", resp.StatusCode)
	}
}
