package storage

import (
	"context"
	"io/fs"
	"path"
)

// ExecForTest runs raw SQL on the writer, for tests that check what the
// database itself refuses.
func ExecForTest(db *DB, query string) error {
	_, err := db.write.ExecContext(context.Background(), query)
	return err
}

// ColumnsForTest lists the columns of every table, table by table in name
// order, as "table.column", for comparing the schemas of the dialects.
func ColumnsForTest(db *DB) ([]string, error) {
	ctx := context.Background()
	var cols []string
	var err error
	if db.dialect == Postgres {
		err = db.read.SelectContext(ctx, &cols, `SELECT table_name || '.' || column_name FROM information_schema.columns
			WHERE table_schema = current_schema() ORDER BY table_name, column_name`)
	} else {
		err = db.read.SelectContext(ctx, &cols, `SELECT m.name || '.' || p.name FROM sqlite_master m, pragma_table_info(m.name) p
			WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.name`)
	}
	return cols, err
}

// MigrationsForTest lists the migrations db has recorded as applied and
// the shared migration files, both by name in order.
func MigrationsForTest(db *DB) (recorded, files []string, err error) {
	if err := db.read.SelectContext(context.Background(), &recorded, `SELECT name FROM schema_migrations ORDER BY name`); err != nil {
		return nil, nil, err
	}
	files, err = fs.Glob(migrationFS, "migrations/*.sql")
	for i := range files {
		files[i] = path.Base(files[i])
	}
	return recorded, files, err
}
