package storage

import "context"

// ExecForTest runs raw SQL on the writer, for tests that check what the
// database itself refuses.
func ExecForTest(db *DB, query string) error {
	_, err := db.write.ExecContext(context.Background(), query)
	return err
}
