//go:build linux && cgo

package storage

/*
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

static int dostyq_arena_max(int n) {
#if defined(__GLIBC__) && defined(M_ARENA_MAX)
	return mallopt(M_ARENA_MAX, n);
#else
	return 0;
#endif
}

static int dostyq_arenas(void) {
#if defined(__GLIBC__)
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL) {
		return -1;
	}
	malloc_info(0, f);
	fclose(f);
	int n = 0;
	for (char *p = buf; (p = strstr(p, "<heap nr=")) != NULL; p++) {
		n++;
	}
	free(buf);
	return n;
#else
	return -1;
#endif
}
*/
import "C"

// LimitCArenas caps the C allocator's arenas at n (glibc's M_ARENA_MAX,
// what MALLOC_ARENA_MAX sets) and reports whether it could. SQLite
// allocates with malloc from whichever thread the Go scheduler runs the
// query on, and glibc gives every such thread an arena of its own, up to
// eight per core, each keeping the memory freed into it: under load 11
// arenas held 10 MB for what one arena holds in 6 (docs/BENCHMARKS.md,
// eighth round). Call it before the database is opened.
func LimitCArenas(n int) bool {
	return C.dostyq_arena_max(C.int(n)) == 1
}

// cArenas is how many arenas the C allocator has (-1 when it cannot tell).
func cArenas() int {
	return int(C.dostyq_arenas())
}
