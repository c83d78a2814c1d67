package main

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

	"github.com/dostyq/dostyq/storage"
)

// The dostyq binary keeps SQLite's memory in at most two glibc arenas,
// however many threads run queries, unless MALLOC_ARENA_MAX or
// GLIBC_TUNABLES says otherwise. Each case runs in a process of its own (an arena, once made,
// stays), which runs SQLite queries from eight threads at once.
func TestSQLiteMemoryStaysInTwoArenas(t *testing.T) {
	if os.Getenv("DOSTYQ_ARENAS_CHILD") != "" {
		fmt.Printf("arenas=%d\n", arenasAfterQueries(t))
		return
	}
	if cArenas() < 0 {
		t.Skip("the C library is not glibc: it has no arenas to count")
	}
	var base []string // this environment without the operator's settings
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MALLOC_ARENA_MAX=") && !strings.HasPrefix(kv, "GLIBC_TUNABLES=") {
			base = append(base, kv)
		}
	}
	arenas := func(env ...string) int {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSQLiteMemoryStaysInTwoArenas$", "-test.count=1")
		cmd.Env = append(append(base, "DOSTYQ_ARENAS_CHILD=1"), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", env, err, out)
		}
		_, after, ok := strings.Cut(string(out), "arenas=")
		if !ok {
			t.Fatalf("%v: no count in\n%s", env, out)
		}
		n, err := strconv.Atoi(strings.Fields(after)[0])
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	capped := arenas()
	t.Logf("arenas after queries from 8 threads: %d capped", capped)
	if capped > 2 {
		t.Errorf("without MALLOC_ARENA_MAX the C allocator has %d arenas, want at most 2", capped)
	}
	// The operator's setting, either way glibc reads it, wins.
	for _, env := range []string{"MALLOC_ARENA_MAX=64", "GLIBC_TUNABLES=glibc.malloc.arena_max=64"} {
		if free := arenas(env); free <= 2 {
			t.Errorf("with %s the threads made no arenas of their own (%d)", env, free)
		}
	}
}

// arenasAfterQueries runs SQLite queries from eight threads at once and
// returns how many arenas the C allocator has then.
func arenasAfterQueries(t *testing.T) int {
	ctx := context.Background()
	db, err := storage.Open(ctx, filepath.Join(t.TempDir(), "a.db"))
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
	return cArenas()
}
