package handlers

import (
	"os"
	"testing"

	"github.com/dostyq/dostyq/storage/storagetest"
)

// The chats run on SQLite and, with TEST_DATABASE_URL set, again on
// PostgreSQL: every flow exercises the storage of both.
func TestMain(m *testing.M) { os.Exit(storagetest.RunEachDialect(m)) }
