package storage_test

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/dostyq/dostyq/storage"
	"github.com/dostyq/dostyq/storage/storagetest"
)

// The migrations of both dialects give the same tables and columns, so a
// migration added for SQLite without its PostgreSQL version (or the other
// way round) is caught here.
func TestSchemasOfBothDialectsMatch(t *testing.T) {
	if storagetest.Dialect() != storage.Postgres {
		t.Skip("compared in the PostgreSQL pass")
	}
	lite := storagetest.DBAt(t, filepath.Join(t.TempDir(), "d.db"), time.Now)
	pg := storagetest.Postgres(t, time.Now)
	a, err := storage.ColumnsForTest(lite)
	if err != nil {
		t.Fatal(err)
	}
	b, err := storage.ColumnsForTest(pg)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range a {
		if !slices.Contains(b, c) {
			t.Errorf("%s is in SQLite only", c)
		}
	}
	for _, c := range b {
		if !slices.Contains(a, c) {
			t.Errorf("%s is in PostgreSQL only", c)
		}
	}
	if len(a) < 50 {
		t.Errorf("only %d columns: %v", len(a), a)
	}
}
