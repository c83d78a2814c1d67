package storage

import (
	"io/fs"
	"os"
	"path"
	"regexp"
	"strings"
	"testing"
)

// migrationName is a migration's file name: a three-digit version, then
// the entity. The name, without the directory, is what schema_migrations
// records on both databases.
var migrationName = regexp.MustCompile(`^[0-9]{3}_[a-z0-9_]+\.sql$`)

// The two dialects run one list of migrations: every file of
// migrations/ in name order, with the file of the same name in
// migrations/postgres/ instead on PostgreSQL. This fails when the lists
// drift apart: a PostgreSQL file with no shared file of its name (it
// would never be applied), two files of one version, a PostgreSQL copy
// whose SQL is the shared file's (it should be deleted, the shared file
// runs on both), or a PostgreSQL file docs/DATA.md does not explain.
func TestMigrationListsAgree(t *testing.T) {
	shared, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	pg, err := fs.Glob(migrationFS, "migrations/postgres/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if len(shared) < 8 || len(pg) == 0 {
		t.Fatalf("migrations: %d shared, %d PostgreSQL", len(shared), len(pg))
	}
	versions := map[string]string{}
	for _, name := range shared {
		base := path.Base(name)
		if !migrationName.MatchString(base) {
			t.Errorf("%s: not NNN_name.sql", name)
			continue
		}
		if other, ok := versions[base[:3]]; ok {
			t.Errorf("%s and %s have the same version", other, base)
		}
		versions[base[:3]] = base
	}
	doc, err := os.ReadFile("../docs/DATA.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range pg {
		base := path.Base(name)
		if versions[base[:min(3, len(base))]] != base {
			t.Errorf("%s: no migrations/%s, so PostgreSQL would never apply it", name, base)
			continue
		}
		a, err := fs.ReadFile(migrationFS, "migrations/"+base)
		if err != nil {
			t.Fatal(err)
		}
		b, err := fs.ReadFile(migrationFS, name)
		if err != nil {
			t.Fatal(err)
		}
		if sqlOnly(a) == sqlOnly(b) {
			t.Errorf("%s: the same SQL as migrations/%s; delete it, the shared file runs on both", name, base)
		}
		if !strings.Contains(string(doc), "`postgres/"+base+"`") {
			t.Errorf("docs/DATA.md does not say why `postgres/%s` differs", base)
		}
	}
}

// sqlOnly is a migration without its comments and with its white space
// squeezed, for telling whether two files hold the same SQL.
func sqlOnly(buf []byte) string {
	var b strings.Builder
	for line := range strings.SplitSeq(string(buf), "\n") {
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i]
		}
		b.WriteString(strings.Join(strings.Fields(line), " "))
		b.WriteByte(' ')
	}
	return strings.Join(strings.Fields(b.String()), " ")
}
