package storagetest

import (
	"context"
	"net/url"
	"os"
	"testing"
)

// The PostgreSQL pass's schemas come migrated, one to each test, and none
// of the tests' is left in the database once the pass is over.
func TestSchemasMadeAheadAreMigratedAndDroppedAfterThePass(t *testing.T) {
	if os.Getenv(PostgresEnv) == "" {
		t.Skipf("%s not set", PostgresEnv)
	}
	var pool schemaPool
	pool.start()
	var names []string
	for range 3 {
		t.Run("test", func(t *testing.T) {
			name, ok := pool.take(t)
			if !ok {
				t.Fatal("no schema from a running pool")
			}
			names = append(names, name)
			u, err := schemaURL(name)
			if err != nil {
				t.Fatal(err)
			}
			if q, _ := url.Parse(u); q.Query().Get("search_path") != name {
				t.Fatalf("URL %s does not use schema %s", u, name)
			}
			db, err := admin()
			if err != nil {
				t.Fatal(err)
			}
			var n int
			if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM `+name+`.schema_migrations`).Scan(&n); err != nil || n == 0 {
				t.Fatalf("schema %s: %d migrations recorded (%v)", name, n, err)
			}
		})
	}
	if err := pool.stop(); err != nil {
		t.Fatal(err)
	}
	if _, ok := pool.take(t); ok {
		t.Fatal("a stopped pool gave a schema")
	}
	db, err := admin()
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 3 || names[0] == names[1] || names[1] == names[2] {
		t.Fatalf("schemas %v", names)
	}
	var left int
	if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ANY($1)`, names).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("%d of the schemas %v are left after the pass", left, names)
	}
}
