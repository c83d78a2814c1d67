//go:build !pprof

package bot

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// The shipped build serves no profiles (-tags pprof adds them).
func TestHealthServesNoProfiles(t *testing.T) {
	srv := httptest.NewServer(HealthHandler(nil, nil))
	defer srv.Close()
	if code, _ := get(t, srv, "/debug/pprof/heap"); code != http.StatusNotFound {
		t.Errorf("/debug/pprof/heap: %d, want 404", code)
	}
}
