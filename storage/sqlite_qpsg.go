package storage

/*
// The SQLite library is go-sqlite3's, linked into the same binary (or the
// system's, with go-sqlite3's libsqlite3 tag): these are its public
// functions, declared here rather than included (the machine need not have
// sqlite3.h).
typedef struct sqlite3 sqlite3;
typedef struct sqlite3_api_routines sqlite3_api_routines;
extern int sqlite3_auto_extension(void (*entry)(void));
extern int sqlite3_db_config(sqlite3 *db, int op, ...);

#define DOSTYQ_DBCONFIG_ENABLE_QPSG 1007

// dostyq_stable_plans_off is for benchmarks only: connections opened while
// it is set keep SQLite's default (plans that follow bound values).
static volatile int dostyq_stable_plans_off = 0;

static int dostyq_stable_plans(sqlite3 *db, char **err, const sqlite3_api_routines *api) {
	(void)err;
	(void)api;
	if (dostyq_stable_plans_off) {
		return 0;
	}
	// A library without the setting (a system SQLite older than 3.20, with
	// go-sqlite3's libsqlite3 tag) still opens the database: the queries
	// run, only compiled more often. TestSQLitePlansDoNotFollowBoundValues
	// tells.
	sqlite3_db_config(db, DOSTYQ_DBCONFIG_ENABLE_QPSG, 1, (int *)0);
	return 0;
}

static int dostyq_register_stable_plans(void) {
	return sqlite3_auto_extension((void (*)(void))dostyq_stable_plans);
}

static void dostyq_set_stable_plans_off(int off) { dostyq_stable_plans_off = off; }
*/
import "C"

import "fmt"

// Every SQLite connection of the process is opened with the query planner
// stability guarantee (SQLITE_DBCONFIG_ENABLE_QPSG): a statement's plan
// never depends on the values bound to it.
//
// Without it, SQLite marks a statement to be compiled again when a bound
// value could change its plan (a LIMIT ?, a "column = ?" that only
// filters, a bound LIKE pattern, a value compared with a partial index's
// condition), and go-sqlite3 clears a statement's bindings before every
// execution, which sets that mark whatever the new values are. Most of our
// statements were compiled again at every execution, their compiled form
// kept in the statement cache (_stmt_cache_size) for nothing: 51 µs for
// OpenCaseLike on an empty table, 11 µs now (BenchmarkStablePlans).
//
// With the guarantee a plan cannot use a bound value, so a query that
// needs a partial index states the index's condition in its text (status =
// 'open', not status = ?), and a prefix search is a range, not a bound LIKE
// pattern (NewHelpOfferRef).
func init() {
	if rc := C.dostyq_register_stable_plans(); rc != 0 {
		panic(fmt.Sprintf("storage: sqlite3_auto_extension: %d", int(rc)))
	}
}

// setStablePlans turns the guarantee on or off for the SQLite connections
// opened from now on (BenchmarkStablePlans compares the two).
func setStablePlans(on bool) {
	off := C.int(1)
	if on {
		off = 0
	}
	C.dostyq_set_stable_plans_off(off)
}
