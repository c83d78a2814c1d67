package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dostyq/dostyq/app"
	"github.com/dostyq/dostyq/data"
	"github.com/dostyq/dostyq/storage"
)

func TestImportCommand(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"DATABASE_PATH": filepath.Join(dir, "dostyq.db")}
	getenv := func(k string) string { return env[k] }
	file := filepath.Join(dir, "places.csv")
	const header = "kind,external_id,name_kk,name_ru,name_en,region,locality,level,address_kk,address_ru,address_en,lat,lon,phone,hours,website,ethnic_group,languages\n"
	good := "house,a1,Достық үйі,,,astana,,,,,,51.17,71.43,,,,,\n"
	importFile := func(content string, flags ...string) (int, string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		var out, errOut bytes.Buffer
		code := run(context.Background(), append(append([]string{"import"}, flags...), file), strings.NewReader(""), &out, &errOut, getenv)
		return code, out.String() + errOut.String()
	}
	code, out := importFile(header + good + "house,a2,Достық үйі,,,astana,,,,,,71.43,51.17,,,,,\n")
	if code != 1 || !strings.Contains(out, "line 3, column lat: latitude and longitude are swapped") || !strings.Contains(out, "nothing imported") {
		t.Fatalf("bad file: exit %d\n%s", code, out)
	}
	code, out = importFile(header+good+"house,a2,Достық үйі,,,astana,,,,,,71.43,51.17,,,,,\n", "--dry-run", "--skip-invalid")
	if code != 0 || !strings.Contains(out, "dry run, nothing written") || !strings.Contains(out, "1 added") {
		t.Fatalf("dry run: exit %d\n%s", code, out)
	}
	code, out = importFile(header + good)
	if code != 0 || !strings.Contains(out, "1 rows, 1 added, 0 updated, 0 unchanged, 0 removed, 0 rejected") {
		t.Fatalf("good file: exit %d\n%s", code, out)
	}
	code, out = importFile(header + good)
	if code != 0 || !strings.Contains(out, "0 added, 0 updated, 1 unchanged") {
		t.Fatalf("again: exit %d\n%s", code, out)
	}
}

func TestSampleDirectoryLoadsIntoAnEmptyDirectoryOnly(t *testing.T) {
	ctx := context.Background()
	gaz, err := app.LoadGazetteer()
	if err != nil {
		t.Fatal(err)
	}
	db, err := storage.Open(ctx, filepath.Join(t.TempDir(), "dostyq.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := 0
	if buf, err := data.FS.ReadFile("directory-sample.csv"); err == nil {
		want = strings.Count(strings.TrimSpace(string(buf)), "\n") // rows after the header
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := app.LoadSampleDirectory(ctx, db, gaz, log); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.CountPlaces(ctx); n != want {
		t.Errorf("%d places after the first start, want the %d sample rows", n, want)
	}
	// A directory with places (the real one) is left alone.
	if _, err := db.ImportPlaces(ctx, strings.NewReader("kind,external_id,name_kk,name_ru,name_en,region,locality,level,address_kk,address_ru,address_en,lat,lon,phone,hours,website,ethnic_group,languages\n"+
		"house,real-1,Достық үйі,,,astana,,,,,,51.17,71.43,,,,,\n"), gaz, storage.ImportOptions{Replace: true}); err != nil {
		t.Fatal(err)
	}
	if err := app.LoadSampleDirectory(ctx, db, gaz, log); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.CountPlaces(ctx); n != 1 {
		t.Errorf("%d places after a restart with a real directory, want 1", n)
	}
}
