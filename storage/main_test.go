package storage_test

import (
	"os"
	"testing"

	"github.com/dostyq/dostyq/storage/storagetest"
)

// Every test of this package runs on SQLite and, with TEST_DATABASE_URL
// set, again on PostgreSQL.
func TestMain(m *testing.M) { os.Exit(storagetest.RunEachDialect(m)) }
