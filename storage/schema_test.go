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

// schema_migrations records each migration by its shared file name on both
// databases (001_users.sql, never postgres/001_users.sql), every one of
// them once: which directory a migration's SQL comes from is not part of
// what a deployed database remembers, so a later move of SQL between the
// shared and the PostgreSQL files applies nothing again.
func TestMigrationsAreRecordedByTheirSharedName(t *testing.T) {
	dbs := storagetest.Replicas(t, 2, time.Now) // the second opens the database the first migrated
	recorded, files, err := storage.MigrationsForTest(dbs[0])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(recorded, files) {
		t.Errorf("%s recorded %v, want %v", storagetest.Dialect(), recorded, files)
	}
	if recorded, _, err = storage.MigrationsForTest(dbs[1]); err != nil || !slices.Equal(recorded, files) {
		t.Errorf("reopened: recorded %v (%v), want %v", recorded, err, files)
	}
}
