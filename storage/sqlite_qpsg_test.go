package storage

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// openSQLiteForTest opens a new SQLite database in a temporary directory.
func openSQLiteForTest(t testing.TB) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "dostyq.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// queryPlan is SQLite's EXPLAIN QUERY PLAN of query with args, on the
// reading pool (read) or on the writer.
func queryPlan(t *testing.T, db *DB, read bool, query string, args ...any) string {
	t.Helper()
	pool := db.write
	if read {
		pool = db.read
	}
	var rows []struct {
		ID     int    `db:"id"`
		Parent int    `db:"parent"`
		NotUse int    `db:"notused"`
		Detail string `db:"detail"`
	}
	if err := pool.SelectContext(context.Background(), &rows, "EXPLAIN QUERY PLAN "+query, args...); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		out = append(out, r.Detail)
	}
	return strings.Join(out, " | ")
}

// Every SQLite connection, reading or writing, plans a statement without
// looking at the values bound to it (the planner stability guarantee): a
// LIKE with a bound prefix pattern is not turned into a range of the
// index. Such a plan is the only kind go-sqlite3 can keep compiled, since
// it clears a statement's bindings before each execution.
func TestSQLitePlansDoNotFollowBoundValues(t *testing.T) {
	db := openSQLiteForTest(t)
	query := `SELECT COUNT(*) FROM outbox WHERE ref LIKE ? AND ref <> ''`
	for _, read := range []bool{false, true} {
		plan := queryPlan(t, db, read, query, "help:1:2:%")
		if strings.Contains(plan, "ref>? AND ref<?") {
			t.Errorf("read pool %v: the plan follows the bound pattern: %s", read, plan)
		}
	}
}

// NewHelpOfferRef's count is a seek in the index of refs, not a scan of
// the outbox, under the guarantee.
func TestHelpOfferRefCountSeeksTheIndex(t *testing.T) {
	db := openSQLiteForTest(t)
	plan := queryPlan(t, db, false, helpOfferRefCountSQLite, "help:1:2:", "help:1:2;")
	if !strings.Contains(plan, "SEARCH outbox USING INDEX outbox_ref_prefix (ref>? AND ref<?)") {
		t.Fatalf("plan: %s", plan)
	}
}

// The count of NewHelpOfferRef is LIKE 'help:R:C:%': the offers of that
// request to that coordinator, in any case, and not those of request R to
// coordinator C0 or of request R0.
func TestNewHelpOfferRefCountsOnlyItsPrefix(t *testing.T) {
	db := openSQLiteForTest(t)
	ctx := context.Background()
	now := time.Now().UTC()
	for _, ref := range []string{"help:1:2:1", "HELP:1:2:2", "help:1:20:1", "help:11:2:1", "help:1:2", "help:1:3:1"} {
		if _, err := db.write.ExecContext(ctx, `INSERT INTO outbox (chat_id, text, keyboard, protect, ref, edit_ref, created_at, next_attempt_at)
			VALUES (2, 'x', '', FALSE, ?, '', ?, ?)`, ref, now, now); err != nil {
			t.Fatal(err)
		}
	}
	var ref string
	if err := db.Tx(ctx, func(tx *Tx) (err error) {
		ref, err = tx.NewHelpOfferRef(1, 2)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if ref != "help:1:2:3" {
		t.Fatalf("ref %q, want help:1:2:3 (two offers of request 1 to coordinator 2 before it)", ref)
	}
}

// BenchmarkStablePlans runs two of the mediation request's queries inside
// a writing transaction on an empty database, with SQLite's default
// planning (the statement compiled again at each execution: go-sqlite3
// clears the bindings) and with the planner stability guarantee, in the
// same run.
//
//	go test -run '^$' -bench BenchmarkStablePlans ./storage
func BenchmarkStablePlans(b *testing.B) {
	citizen := int64(4242)
	c := Case{ID: 5, CitizenID: &citizen, Kind: "family", Region: "astana", Lang: "kk"}
	for _, mode := range []struct {
		name string
		on   bool
	}{{"default", false}, {"stable", true}} {
		setStablePlans(mode.on)
		db := openSQLiteForTest(b)
		setStablePlans(true)
		for _, q := range []struct {
			name string
			run  func(tx *Tx) error
		}{
			{"OpenCaseLike", func(tx *Tx) error { _, _, err := tx.OpenCaseLike(&c, tx.Now()); return err }},
			{"NextMediator", func(tx *Tx) error { _, _, err := tx.NextMediator(&c); return err }},
		} {
			b.Run(mode.name+"/"+q.name, func(b *testing.B) {
				err := db.Tx(context.Background(), func(tx *Tx) error {
					for b.Loop() {
						if err := q.run(tx); err != nil {
							return err
						}
					}
					return errBenchDone
				})
				if !errors.Is(err, errBenchDone) {
					b.Fatal(err)
				}
			})
		}
	}
}

var errBenchDone = errors.New("done")

// The sender's queries for due messages read the index of pending
// messages by chat, not the whole outbox in id order, and need no sort.
func TestDueOutboxReadsOnlyPendingMessages(t *testing.T) {
	db := openSQLiteForTest(t)
	now := time.Now().UTC()
	for name, q := range map[string]struct {
		sql  string
		args []any
	}{
		"DueOutbox":   {dueOutboxSQL, []any{now, 100}},
		"ClaimOutbox": {claimOutboxSQL, []any{now, now, 100}},
	} {
		plan := queryPlan(t, db, name == "DueOutbox", q.sql, q.args...)
		if plan != "SEARCH o USING INTEGER PRIMARY KEY (rowid=?) | LIST SUBQUERY 1 | SCAN p USING INDEX outbox_chat" {
			t.Errorf("%s: %s", name, plan)
		}
	}
}
