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
	if code != 1 || !strings.Contains(out, "line 3, column lat: latitude and longitude swapped?") || !strings.Contains(out, "nothing imported") {
		t.Fatalf("bad file: exit %d\n%s", code, out)
	}
	code, out = importFile(header+good+"house,a2,Достық үйі,,,astana,,,,,,71.43,51.17,,,,,\n", "--dry-run", "--skip-invalid")
	if code != 0 || !strings.Contains(out, "dry run, nothing written") || !strings.Contains(out, "1 added") {
		t.Fatalf("dry run: exit %d\n%s", code, out)
	}
	code, out = importFile(header + good)
	if code != 0 || !strings.Contains(out, "1 row, 1 added, 0 updated, 0 unchanged, 0 removed, 0 rejected") {
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
	// Every sample place is near a town of its region: no warnings.
	buf, err := data.FS.ReadFile("directory-sample.csv")
	if err != nil {
		t.Fatal(err)
	}
	if _, res, err := storage.ParsePlaces(bytes.NewReader(buf), gaz); err != nil || res.Rejected != 0 || len(res.Warnings) != 0 {
		t.Errorf("sample directory: %v, %d rejected, warnings %v", err, res.Rejected, res.Warnings)
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

// --db chooses the database over DATABASE_PATH and DATABASE_URL, and every
// report, a dry run's too, names the database it checked or wrote.
func TestImportDBFlagAndReportNameTheDatabase(t *testing.T) {
	dir := t.TempDir()
	envDB, flagDB := filepath.Join(dir, "env.db"), filepath.Join(dir, "flag.db")
	file := filepath.Join(dir, "places.csv")
	const header = "kind,external_id,name_kk,name_ru,name_en,region,locality,level,address_kk,address_ru,address_en,lat,lon,phone,hours,website,ethnic_group,languages\n"
	if err := os.WriteFile(file, []byte(header+"house,a1,Достық үйі,,,astana,,,,,,51.17,71.43,,,,,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DATABASE_PATH": envDB}
	// A dry run against a database that is not there (a mistyped path)
	// is refused, and creates nothing.
	code, out, errOut := runMain(t, env, "", "import", "--dry-run", file)
	if code == 0 || !strings.Contains(out+errOut, "no database at SQLite file "+envDB) {
		t.Errorf("dry run on a missing database: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(envDB); !os.IsNotExist(err) {
		t.Errorf("the dry run created %s (%v)", envDB, err)
	}
	created, err := storage.Open(context.Background(), envDB)
	if err != nil {
		t.Fatal(err)
	}
	created.Close()
	code, out, errOut = runMain(t, env, "", "import", "--dry-run", file)
	if code != 0 || !strings.Contains(out, "dry run, nothing written; checked against SQLite file "+envDB+")") {
		t.Errorf("dry run on DATABASE_PATH: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runMain(t, env, "", "import", "--db", flagDB, file)
	if code != 0 || !strings.Contains(out, "(imported into SQLite file "+flagDB+", a new file): 1 row, 1 added") {
		t.Errorf("--db: exit %d\n%s%s", code, out, errOut)
	}
	// --db wins over DATABASE_URL too, which here could not be reached.
	env["DATABASE_URL"] = "postgres://dostyq:SECRETPW@127.0.0.1:1/dostyq?connect_timeout=2"
	code, out, errOut = runMain(t, env, "", "import", "--dry-run", "--db", flagDB, file)
	if code != 0 || !strings.Contains(out, "checked against SQLite file "+flagDB+")") || !strings.Contains(out, "1 unchanged") {
		t.Errorf("--db over DATABASE_URL: exit %d\n%s%s", code, out, errOut)
	}
	// A relative path is named as the absolute path it opened.
	t.Chdir(dir)
	code, out, errOut = runMain(t, map[string]string{}, "", "import", "--dry-run", "--db", "flag.db", "places.csv")
	if code != 0 || !strings.Contains(out, "checked against SQLite file "+flagDB+")") {
		t.Errorf("relative --db: exit %d\n%s%s", code, out, errOut)
	}
	// A file with an invalid row names the database it left alone.
	if err := os.WriteFile(file, []byte(header+"house,a2,,,,astana,,,,,,51.17,71.43,,,,,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runMain(t, env, "", "import", "--db", flagDB, file)
	if code != 1 || !strings.Contains(out, "nothing imported into SQLite file "+flagDB+".") {
		t.Errorf("invalid file: exit %d\n%s%s", code, out, errOut)
	}
	db, err := storage.Open(context.Background(), envDB)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n, _ := db.CountPlaces(context.Background()); n != 0 {
		t.Errorf("DATABASE_PATH has %d places; the import went to --db", n)
	}
}

// A warning is printed with its line, before the summary that counts it:
// here a place of West Kazakhstan region (Zhanibek) with its latitude and
// longitude swapped, which puts it in Atyrau region, inside Kazakhstan.
func TestImportCommandPrintsWarnings(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "places.csv")
	const header = "kind,external_id,name_kk,name_ru,name_en,region,locality,level,address_kk,address_ru,address_en,lat,lon,phone,hours,website,ethnic_group,languages\n"
	if err := os.WriteFile(file, []byte(header+"house,a1,Достық үйі,,,astana,,,,,,51.17,71.43,,,,,\n"+
		"house,a2,Достық үйі,,,west-kazakhstan,,,,,,46.84626,49.42278,,,,,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runMain(t, map[string]string{}, "", "import", "--db", filepath.Join(dir, "dostyq.db"), file)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		file + ": warning: line 3, column region: 46.84626, 49.42278 is ",
		"the nearest town of West Kazakhstan Region (west-kazakhstan) the bot knows",
		"wrong region or wrong coordinates? Or latitude and longitude swapped? 49.42278, 46.84626 is 0 km from Zhanibek\n",
		"2 rows, 2 added, 0 updated, 0 unchanged, 0 removed, 0 rejected, 1 warning (imported as written: check it)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
