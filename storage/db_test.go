package storage_test

import (
	"context"
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
