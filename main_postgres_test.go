package main

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dostyq/dostyq/storage/storagetest"
)

// With DATABASE_URL the whole program runs on PostgreSQL: the sample
// directory is loaded, a second run on the same database remembers the
// language, and backup refuses (pg_dump does it). Skipped without
// TEST_DATABASE_URL.
func TestChatOnPostgres(t *testing.T) {
	env := map[string]string{"DATABASE_URL": storagetest.PostgresURL(t), "DATABASE_PATH": "/nonexistent/never.db"}
	code, out, errOut := runMain(t, env, "/start\n/language\n@press Русский\nДома дружбы\n@location 43.2389 76.8897\n", "chat", "--lang", "en")
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	if !strings.Contains(out, "Теперь язык — русский.") || !strings.Contains(out, "📍") {
		t.Errorf("output:\n%s", out)
	}
	code, out, _ = runMain(t, env, "/about\n", "chat", "--lang", "en")
	if code != 0 || !strings.Contains(out, "Ассамблея народа Казахстана") {
		t.Errorf("second run forgot the language (exit %d):\n%s", code, out)
	}
	code, _, errOut = runMain(t, env, "", "backup", t.TempDir()+"/b.db")
	if code == 0 || !strings.Contains(errOut, "pg_dump") {
		t.Errorf("backup on PostgreSQL: exit %d, stderr:\n%s", code, errOut)
	}
	if strings.Contains(errOut, env["DATABASE_URL"]) {
		t.Errorf("the database URL was printed")
	}
}

// A PostgreSQL that cannot be reached, or a URL that cannot be read, stops
// the program without printing the password of DATABASE_URL.
func TestDatabaseURLPasswordNeverPrinted(t *testing.T) {
	for _, u := range []string{
		"postgres://dostyq:SECRETPW@127.0.0.1:1/dostyq?connect_timeout=2",
		"postgres://dostyq:SECRETPW@127.0.0.1:1/dostyq?sslmode=bogus",
	} {
		code, out, errOut := runMain(t, map[string]string{"DATABASE_URL": u}, "/start\n", "chat")
		if code == 0 {
			t.Errorf("%s: exit 0", u)
		}
		if strings.Contains(out+errOut, "SECRETPW") {
			t.Errorf("the password was printed:\n%s%s", out, errOut)
		}
		// Nor in a command's usage, printed for -h or a mistyped flag.
		for _, args := range [][]string{{"chat", "-h"}, {"chat", "--usr", "2"}, {"import", "-h"}, {"import", "--dryrun", "x.csv"}} {
			_, out, errOut := runMain(t, map[string]string{"DATABASE_URL": u}, "", args...)
			if strings.Contains(out+errOut, "SECRETPW") || !strings.Contains(out+errOut, "-db") {
				t.Errorf("%v: the usage printed the password, or no usage:\n%s%s", args, out, errOut)
			}
		}
	}
}

// An import into PostgreSQL (--db) names the database in its report without
// the password. Skipped without TEST_DATABASE_URL.
func TestImportReportNamesPostgresWithoutPassword(t *testing.T) {
	u, err := url.Parse(storagetest.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	secret, ok := u.User.Password()
	if !ok {
		// A password the server need not ask for (trust authentication).
		secret = "SECRETPW"
		u.User = url.UserPassword(u.User.Username(), secret)
	}
	file := filepath.Join(t.TempDir(), "places.csv")
	if err := os.WriteFile(file, []byte("kind,external_id,name_kk,name_ru,name_en,region,locality,level,address_kk,address_ru,address_en,lat,lon,phone,hours,website,ethnic_group,languages\n"+
		"house,a1,Достық үйі,,,astana,,,,,,51.17,71.43,,,,,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DATABASE_PATH": "/nonexistent/never.db"}
	code, out, errOut := runMain(t, env, "", "import", "--db", u.String(), file)
	if code != 0 || !strings.Contains(out, "(imported into PostgreSQL postgres://"+u.User.Username()+"@"+u.Host+u.Path+"?") {
		t.Errorf("exit %d:\n%s%s", code, out, errOut)
	}
	if strings.Contains(out+errOut, secret) {
		t.Errorf("the password was printed:\n%s%s", out, errOut)
	}
}
