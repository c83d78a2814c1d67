package storage_test

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dostyq/dostyq/storage"
	"github.com/dostyq/dostyq/storage/storagetest"
)

// A backup taken while users are being written holds every user committed
// before it started, and restores into a working database.
func TestBackupUnderWriteLoadHoldsCommittedRows(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := storagetest.DBAt(t, filepath.Join(dir, "live.db"), time.Now)

	var committed [4]atomic.Int64 // per writer: the highest user id whose write returned
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := int64(1); ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := i*4 + int64(w)
				if _, _, err := db.TouchUser(ctx, id, "ru"); err != nil {
					t.Errorf("write during backup: %v", err)
					return
				}
				committed[w].Store(id)
			}
		}(w)
	}
	for committed[0].Load() < 400 {
		time.Sleep(time.Millisecond)
	}
	var before [4]int64
	for w := range before {
		before[w] = committed[w].Load()
	}
	backup := filepath.Join(dir, "backup.db")
	if err := db.Backup(ctx, backup); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()

	if err := db.Backup(ctx, backup); err == nil {
		t.Error("a second backup over an existing file succeeded")
	}
	if err := storage.CheckFile(ctx, backup); err != nil {
		t.Fatal(err)
	}
	restored := filepath.Join(dir, "restored.db")
	if err := storage.Restore(ctx, backup, restored, false); err != nil {
		t.Fatal(err)
	}
	copyDB := storagetest.DBAt(t, restored, time.Now)
	// Each writer commits its ids in order, so all its ids up to the last
	// one it saw committed were in the database when the backup started.
	for w, last := range before {
		for id := int64(4 + w); id <= last; id += 4 {
			if _, err := copyDB.User(ctx, id); err != nil {
				t.Fatalf("user %d committed before the backup is missing: %v", id, err)
			}
		}
	}
	if err := storage.Restore(ctx, backup, restored, false); err == nil {
		t.Error("restore over an existing database without force succeeded")
	}
}
