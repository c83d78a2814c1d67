package storage_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dostyq/dostyq/storage"
	"github.com/dostyq/dostyq/storage/storagetest"
)

// commitCheck is a table whose foreign key is checked at commit
// (DEFERRABLE INITIALLY DEFERRED, on both databases): a transaction that
// writes a row pointing nowhere runs every statement and fails only at
// its commit.
const commitCheck = `CREATE TABLE commit_check (case_id BIGINT REFERENCES mediation_cases (id) DEFERRABLE INITIALLY DEFERRED)`

// A commit that fails is a database error: the metric counts it.
func TestOnErrorCountsAFailedCommit(t *testing.T) {
	db := storagetest.DB(t)
	if err := storage.ExecForTest(db, commitCheck); err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	db.OnError(func() { n.Add(1) })
	err := db.Tx(context.Background(), func(tx *storage.Tx) error {
		return tx.ExecForTest(`INSERT INTO commit_check (case_id) VALUES (424242)`)
	})
	if err == nil {
		t.Fatal("a transaction breaking a deferred foreign key committed")
	}
	t.Logf("the commit: %v", err)
	if got := n.Load(); got != 1 {
		t.Errorf("%d errors counted for a failed commit, want 1", got)
	}
}

// A commit whose caller gave up (the context cancelled before it) is not
// a database error.
func TestOnErrorLeavesOutACommitTheCallerGaveUpOn(t *testing.T) {
	db := storagetest.DB(t)
	var n atomic.Int32
	db.OnError(func() { n.Add(1) })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := db.Tx(ctx, func(tx *storage.Tx) error {
		if err := tx.ExecForTest(`INSERT INTO consents (user_id, purpose, version, agreed_at) VALUES (1, 'mediation', 'v1', ?)`, tx.Now()); err != nil {
			return err
		}
		cancel()
		return nil
	})
	if err == nil {
		t.Fatal("a transaction committed after its caller gave up")
	}
	t.Logf("the commit: %v", err)
	if got := n.Load(); got != 0 {
		t.Errorf("%d errors counted for a commit whose caller gave up, want 0", got)
	}
	if cs, err := db.Consents(context.Background(), 1); err != nil || len(cs) != 0 {
		t.Errorf("consents after the cancelled transaction: %+v, %v; want none", cs, err)
	}
}

// DescribeTarget names a database for an operator's report: a SQLite file by
// its absolute path, a PostgreSQL URL without any password.
func TestDescribeTargetNeverShowsAPassword(t *testing.T) {
	abs, err := filepath.Abs("dostyq.db")
	if err != nil {
		t.Fatal(err)
	}
	for target, want := range map[string]string{
		"dostyq.db":           "SQLite file " + abs,
		"/srv/data/dostyq.db": "SQLite file /srv/data/dostyq.db",
		"postgres://dostyq:SECRETPW@db:5432/dostyq?sslmode=disable":            "PostgreSQL postgres://dostyq@db:5432/dostyq?sslmode=disable",
		"postgresql://db/dostyq?user=dostyq&password=SECRETPW&sslmode=require": "PostgreSQL postgresql://db/dostyq?sslmode=require&user=dostyq",
		"postgres://dostyq:SECRET%zzPW@db/dostyq":                              "PostgreSQL (an address that is not a valid URL)",
	} {
		got := storage.DescribeTarget(target)
		if got != want {
			t.Errorf("DescribeTarget(%q) = %q, want %q", target, got, want)
		}
		if strings.Contains(got, "SECRET") {
			t.Errorf("DescribeTarget(%q) shows the password: %q", target, got)
		}
	}
}
