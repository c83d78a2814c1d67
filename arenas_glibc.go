//go:build linux && cgo

package main

/*
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

// SQLite allocates with malloc from whichever thread the Go scheduler
// runs a query on, and glibc gives every such thread an arena of its own,
// up to eight per core, each keeping what is freed into it. The cap is set
// before the Go runtime starts its threads (a constructor runs before
// main): set later, it leaves the arenas already made (4 more at the bot's
// start, 2.3 MB of its peak at 1,000 citizens in flight). An operator's
// MALLOC_ARENA_MAX or GLIBC_TUNABLES=glibc.malloc.arena_max=N, read by
// glibc itself, wins.
__attribute__((constructor)) static void dostyq_cap_arenas(void) {
#if defined(__GLIBC__) && defined(M_ARENA_MAX)
	const char *tunables = getenv("GLIBC_TUNABLES");
	if (getenv("MALLOC_ARENA_MAX") == NULL && (tunables == NULL || strstr(tunables, "glibc.malloc.arena_max") == NULL)) {
		mallopt(M_ARENA_MAX, 2);
	}
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

// cArenas is how many arenas glibc's allocator has (-1 when the C library
// is another).
func cArenas() int { return int(C.dostyq_arenas()) }
