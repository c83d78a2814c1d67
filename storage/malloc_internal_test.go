//go:build linux && cgo

package storage

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// SQLite queries run on many threads (the Go scheduler's); with the C
// allocator's arenas capped, they share the arenas there are instead of
// taking one each. Each case runs in a process of its own: an arena, once
// made, stays.
func TestLimitCArenasKeepsSQLiteQueriesInOneArena(t *testing.T) {
	if mode := os.Getenv("DOSTYQ_ARENAS_CHILD"); mode != "" {
		fmt.Printf("new-arenas=%d\n", queryFromThreads(t, mode == "limit"))
		return
	}
	if cArenas() < 0 {
		t.Skip("the C allocator is not glibc's: it has no arenas to count")
	}
	arenas := func(mode string) int {
		cmd := exec.Command(os.Args[0], "-test.run=^TestLimitCArenasKeepsSQLiteQueriesInOneArena$", "-test.count=1")
		cmd.Env = append(os.Environ(), "DOSTYQ_ARENAS_CHILD="+mode, "MALLOC_ARENA_MAX=", "TEST_DATABASE_URL=")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", mode, err, out)
		}
		_, after, ok := strings.Cut(string(out), "new-arenas=")
		if !ok {
			t.Fatalf("%s: no count in\n%s", mode, out)
		}
		n, err := strconv.Atoi(strings.Fields(after)[0])
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	free, limited := arenas("free"), arenas("limit")
	t.Logf("arenas made by the queries: %d without the cap, %d with it", free, limited)
	if limited != 0 {
		t.Errorf("with the arenas capped the queries' threads made %d new ones", limited)
	}
	if free == 0 {
		t.Errorf("without the cap the queries' threads made no arenas of their own: the test shows nothing")
	}
}

// queryFromThreads runs SQLite queries from eight threads at once and
// returns how many arenas the C allocator made meanwhile.
func queryFromThreads(t *testing.T, limit bool) int {
	before := cArenas()
	if limit && !LimitCArenas(before) {
		t.Fatal("LimitCArenas was refused")
	}
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread() // a thread of its own, as busy workers have
			<-start
			for range 50 {
				if _, err := db.CountPlaces(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	return cArenas() - before
}
