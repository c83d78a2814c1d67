package storage

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// walPages is the size of path's write-ahead log in 4 KiB pages.
func walPages(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size() / 4096
}

// writeRows commits n small transactions.
func writeRows(t *testing.T, db *DB, from, n int) {
	t.Helper()
	ctx := context.Background()
	pad := strings.Repeat("x", 600)
	for i := from; i < from+n; i++ {
		if _, err := db.write.ExecContext(ctx, `INSERT INTO users (id, lang, first_seen, last_seen) VALUES (?, 'kk', ?, ?)`,
			int64(1_000_000+i), time.Now(), time.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := db.write.ExecContext(ctx, `INSERT INTO audit_log (actor_id, action, subject, at) VALUES (?, 'test', ?, ?)`,
			int64(i), pad, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
}

// openCheckpointing opens a database in a temporary directory whose
// checkpointer runs every interval; path is its file.
func openCheckpointing(t *testing.T, every time.Duration) (db *DB, path string) {
	t.Helper()
	old := checkpointEvery
	checkpointEvery = every
	defer func() { checkpointEvery = old }()
	path = filepath.Join(t.TempDir(), "dostyq.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return db, path
}

// A commit never copies the write-ahead log into the database file (it
// would hold up every write queued behind it); the checkpointer does, and
// the log is then reused instead of growing.
func TestCommitsLeaveCheckpointsToTheCheckpointer(t *testing.T) {
	onePass(t)
	db, path := openCheckpointing(t, time.Hour) // the loop stays out of the first part
	defer db.Close()

	writeRows(t, db, 0, 1500)
	// SQLite's own checkpoint would have run in a commit at 1,000 pages
	// and the next writes would have reused the log from its start (it
	// holds 1,014 pages then; about 11,000 without).
	grown := walPages(t, path)
	if grown <= 2000 {
		t.Fatalf("the log holds %d pages after 3,000 commits: a commit checkpointed", grown)
	}
	if err := db.checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	writeRows(t, db, 1500, 200)
	if now := walPages(t, path); now > grown {
		t.Fatalf("the log grew from %d to %d pages after a checkpoint: it was not reused", grown, now)
	}
	var n int
	if err := db.read.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM users WHERE id >= 1000000`).Scan(&n); err != nil || n != 1700 {
		t.Fatalf("%d users read back (%v), want 1700", n, err)
	}
}

// The checkpointer runs on its own while the database is open, and
// stops with it.
func TestCheckpointerRunsUntilClose(t *testing.T) {
	onePass(t)
	db, path := openCheckpointing(t, 20*time.Millisecond)
	// Writes in rounds, each after the checkpointer had time to run: the
	// log stays far below what 3,000 commits without checkpoints fill.
	// (Without, 10 rounds fill about 2,200 pages.)
	for round := 0; round < 10; round++ {
		writeRows(t, db, round*30, 30)
		time.Sleep(60 * time.Millisecond)
	}
	if pages := walPages(t, path); pages > 1000 {
		t.Fatalf("the log holds %d pages: the checkpointer did not run", pages)
	}
	done := db.checkpointsDone
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	default:
		t.Fatal("the checkpointer still runs after Close")
	}
}

// Under writes that never pause, the log still restarts from its start
// after each checkpoint instead of growing: the checkpointer finishes from
// the writing connection, where nothing commits meanwhile. Copied from a
// reading connection alone, the log grows with every commit (285,000 to
// 307,000 pages in 3 s with -race; the writer's own checkpoint at 10,000
// pages, the backstop, is turned off for the test). Restarted, its
// largest was 3,600 to 9,000 pages, also on a loaded machine: the bound,
// 50,000, leaves room for a slower machine and still tells the two apart.
func TestCheckpointerKeepsTheLogSmallUnderSteadyWrites(t *testing.T) {
	onePass(t)
	db, path := openCheckpointing(t, 20*time.Millisecond)
	defer db.Close()
	if _, err := db.write.ExecContext(context.Background(), `PRAGMA wal_autocheckpoint=0`); err != nil {
		t.Fatal(err)
	}
	var most int64
	for i, end := 0, time.Now().Add(3*time.Second); time.Now().Before(end); i += 20 {
		writeRows(t, db, i, 20)
		most = max(most, walPages(t, path))
	}
	t.Logf("the log's largest: %d pages", most)
	if most > 50000 {
		t.Fatalf("the log reached %d pages under steady writes: it was not restarted", most)
	}
}

// BenchmarkWriteCommits commits small transactions (a user and an audit
// line) and reports the commits' 99th percentile and slowest, with
// SQLite's own checkpoint in the commit that fills the log (as before
// the checkpointer) and with the checkpointer.
func BenchmarkWriteCommits(b *testing.B) {
	for _, mode := range []string{"checkpoint-in-commit", "checkpointer"} {
		b.Run(mode, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "dostyq.db")
			db, err := Open(context.Background(), path)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			ctx := context.Background()
			if mode == "checkpoint-in-commit" {
				if _, err := db.write.ExecContext(ctx, `PRAGMA wal_autocheckpoint=1000`); err != nil {
					b.Fatal(err)
				}
			}
			pad := strings.Repeat("x", 600)
			took := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				err := db.inTx(ctx, func(tx *sqlTx) error {
					if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, lang, first_seen, last_seen) VALUES (?, 'kk', ?, ?)`,
						int64(1_000_000+i), start, start); err != nil {
						return err
					}
					_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (actor_id, action, subject, at) VALUES (?, 'bench', ?, ?)`, int64(i), pad, start)
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)*99/100].Microseconds()), "p99-µs")
			b.ReportMetric(float64(took[len(took)-1].Microseconds()), "max-µs")
		})
	}
}
