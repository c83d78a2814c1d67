package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/jmoiron/sqlx"
)

// Backup writes a consistent copy of the database to path with VACUUM INTO,
// while the bot goes on reading and writing: the copy holds every row
// committed before it started. path must not exist yet.
func (db *DB) Backup(ctx context.Context, path string) error {
	if db.dialect != SQLite {
		return errors.New("storage: backup: PostgreSQL is backed up with pg_dump")
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("storage: backup: %s already exists", path)
	}
	if _, err := db.read.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		return fmt.Errorf("storage: backup to %s: %w", path, err)
	}
	return nil
}

// CheckFile opens the SQLite file at path read-only and runs an integrity
// check on it.
func CheckFile(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	db, err := sqlx.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	var result string
	if err := db.GetContext(ctx, &result, `PRAGMA integrity_check`); err != nil {
		return fmt.Errorf("storage: check %s: %w", path, err)
	}
	if result != "ok" {
		return fmt.Errorf("storage: check %s: %s", path, result)
	}
	var n int
	if err := db.GetContext(ctx, &n, `SELECT COUNT(*) FROM schema_migrations`); err != nil {
		return fmt.Errorf("storage: %s is not a Dostyq database: %w", path, err)
	}
	return nil
}

// Restore checks the backup at from and copies it to the database path to,
// removing the old database's WAL and shared-memory files. The bot must be
// stopped. An existing database is only replaced when force is set.
func Restore(ctx context.Context, from, to string, force bool) error {
	if err := CheckFile(ctx, from); err != nil {
		return err
	}
	if _, err := os.Stat(to); err == nil && !force {
		return fmt.Errorf("storage: restore: %s exists; stop the bot and give --force to replace it", to)
	}
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	tmp, err := os.CreateTemp(filepath.Dir(to), ".restore-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, src); err != nil {
		tmp.Close()
		return err
	}
	if err := errors.Join(tmp.Sync(), tmp.Close()); err != nil {
		return err
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(to + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return os.Rename(tmp.Name(), to)
}
