package storage_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/dostyq/dostyq/storage"
)

// testGazetteer loads the regions, the test gazetteer and the test border
// from testdata (small and stable, unlike the shipped data).
func testGazetteer(t testing.TB) *storage.Gazetteer {
	t.Helper()
	return loadGazetteer(t, "../testdata/gazetteer-test.csv", "../testdata/kazakhstan-test.csv")
}

// realGazetteer loads the shipped regions, gazetteer and border: a check
// of a real row needs the real villages.
func realGazetteer(t testing.TB) *storage.Gazetteer {
	t.Helper()
	return loadGazetteer(t, "../data/gazetteer.csv", "../data/kazakhstan.csv")
}

// loadGazetteer loads data/regions.csv with the settlements and border
// files given.
func loadGazetteer(t testing.TB, settlements, border string) *storage.Gazetteer {
	t.Helper()
	open := func(path string) *os.File {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	g, err := storage.LoadGazetteer(open("../data/regions.csv"), open(settlements))
	if err != nil {
		t.Fatal(err)
	}
	if err := g.LoadBorder(open(border)); err != nil {
		t.Fatal(err)
	}
	return g
}

func TestSearchFindsEveryNameOfATown(t *testing.T) {
	g := testGazetteer(t)
	for _, tc := range []struct {
		typed string
		want  string // English name of the first match
	}{
		{"Астана", "Astana"}, {"Nur-Sultan", "Astana"}, {"Нур-Султан", "Astana"}, {"Акмола", "Astana"}, {"Целиноград", "Astana"},
		{"Өскемен", "Oskemen"}, {"Oskemen", "Oskemen"}, {"Ust-Kamenogorsk", "Oskemen"}, {"Усть-Каменогорск", "Oskemen"},
		{"Оскемен", "Oskemen"}, // Kazakh ө typed as о
		{"Алма-Ата", "Almaty"}, {"алма ата", "Almaty"}, {"ALMATY", "Almaty"}, {"Алматы", "Almaty"},
		{"Алмати", "Almaty"}, // typo
		{"Шымкент", "Shymkent"}, {"Chimkent", "Shymkent"}, {"Shymkemt", "Shymkent"}, {"Шымкен", "Shymkent"},
		{"Орал", "Oral"}, {"Uralsk", "Oral"}, {"Уральск", "Oral"},
		{"Қонаев", "Konaev"}, {"Конаев", "Konaev"}, {"Kapchagay", "Konaev"}, {"Капчагай", "Konaev"}, {"Капшагай", "Konaev"},
		{"Семей", "Semey"}, {"Semipalatinsk", "Semey"}, {"Семипалатинск", "Semey"},
		{"Талдыкорган", "Taldykorgan"}, {"Талдықорған", "Taldykorgan"}, {"Кокшетау", "Kokshetau"},
		{"Tatulykkol", "Tatulykkol"}, {"Татулыккол", "Tatulykkol"}, // ы/ұ, ө typed as о
		// The kind of settlement and what follows a comma are left out.
		{"Шымкент қаласы", "Shymkent"}, {"г. Караганда", "Karaganda"}, {"город Караганда", "Karaganda"},
		{"Қарағанды қ.", "Karaganda"}, {"Karaganda city", "Karaganda"}, {"Караганда, Казахстан", "Karaganda"},
		{"Шымкент қаласы, Қазақстан", "Shymkent"},
		{"Карагнда, Казахстан", "Karaganda"}, // a typo before the comma
		// A district named after its town or village is searched there.
		{"Аксуский район", "Aksu"}, {"Ақсу ауданы", "Aksu"}, {"Aksu district", "Aksu"},
		{"Достыктауский р-н", "Dostyktau"}, {"Татулықкөл ауданы, Жамбыл облысы", "Tatulykkol"},
	} {
		got := g.Search(tc.typed, 5)
		if len(got) == 0 || got[0].Name["en"] != tc.want {
			t.Errorf("Search(%q) = %v, want %s first", tc.typed, names(got), tc.want)
		}
	}
}

func TestSearchExactBeforeFuzzyAndBiggerFirst(t *testing.T) {
	g := testGazetteer(t)
	got := g.Search("Ақсу", 5)
	if len(got) != 2 || got[0].Region != "pavlodar" || got[1].Region != "akmola" {
		t.Fatalf("Ақсу: %v, want the Pavlodar town then the Akmola one", names(got))
	}
	if got[0].Distance != 0 {
		t.Errorf("exact match has distance %d", got[0].Distance)
	}
	if got := g.Search("Qwertyuiop", 5); len(got) != 0 {
		t.Errorf("nonsense matched %v", names(got))
	}
	if got := g.Search("Тарраззз", 3); len(got) != 0 {
		t.Errorf("three typos matched %v", names(got))
	}
	if got := g.Suggest("Тарраззз", 3); len(got) == 0 || got[0].Name["en"] != "Taraz" {
		t.Errorf("suggestions for Тарраззз: %v, want Taraz first", names(got))
	}
	// A word of two letters typed where a town is asked ("да", "ok") is
	// no town: every short name is two or three edits from it.
	for _, q := range []string{"да", "ok", "иә", "5"} {
		if got := g.Suggest(q, 5); len(got) != 0 {
			t.Errorf("suggestions for %q: %v", q, names(got))
		}
	}
	if got := g.Suggest("Алмта", 3); len(got) == 0 || got[0].Name["en"] != "Almaty" {
		t.Errorf("suggestions for Алмта: %v, want Almaty first", names(got))
	}
}

func TestDistrictsAreToldApart(t *testing.T) {
	g := testGazetteer(t)
	for typed, want := range map[string]bool{"Толебийский район": true, "Төлеби ауданы": true, "Tole Bi district": true,
		"Сарыагашский р-н": true, "Сайрам ауд., Түркістан облысы": true, "Сайрам": false, "Районная больница": false,
		"село Аксукент": false, "Шымкент, Абайский район": false} {
		if got := storage.NamesDistrict(typed); got != want {
			t.Errorf("NamesDistrict(%q) = %v, want %v", typed, got, want)
		}
	}
	// A district named after a town finds it, as a suggestion only: the
	// town may be elsewhere (Astana's Есиль district).
	if got := g.Search("Аксуский район", 5); len(got) == 0 || got[0].Distance < 2 {
		t.Errorf("Аксуский район: %v, want Aksu two typos away", got)
	}
	// A district named after no town the gazetteer has is no place of it,
	// and its adjective's stem alone finds nothing: no guesses.
	if got := g.Search("Толебийский район", 5); len(got) != 0 {
		t.Errorf("Толебийский район matched %v", names(got))
	}
}

func TestRegionCenter(t *testing.T) {
	g := testGazetteer(t)
	if s, ok := g.RegionCenter("turkistan"); !ok || s.Name["en"] != "Turkistan" {
		t.Errorf("RegionCenter(turkistan) = %v, %v", s.Name, ok)
	}
	if _, ok := g.RegionCenter("nowhere"); ok {
		t.Error("a region that does not exist has a centre")
	}
}

func names(ms []storage.Match) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name["en"]+"/"+m.Region)
	}
	return out
}

func TestInKazakhstanUsesTheBorder(t *testing.T) {
	g := testGazetteer(t)
	for _, tc := range []struct {
		name     string
		lat, lon float64
		in       bool
	}{
		{"Almaty", 43.2389, 76.8897, true}, {"Astana", 51.18, 71.45, true}, {"Aktau", 43.65, 51.2, true},
		{"Oskemen", 49.97, 82.6, true}, {"Oral", 51.23, 51.37, true}, {"Shymkent", 42.3, 69.6, true},
		{"Caspian Sea", 45.0, 50.0, false}, {"Bishkek", 42.87, 74.59, false}, {"Tashkent", 41.3, 69.24, false},
		{"Omsk", 54.98, 73.37, false}, {"Gulf of Guinea", 0, 0, false}, {"Urumqi", 43.8, 87.6, false},
	} {
		if got := g.InKazakhstan(tc.lat, tc.lon); got != tc.in {
			t.Errorf("%s (%v, %v): InKazakhstan = %v, want %v", tc.name, tc.lat, tc.lon, got, tc.in)
		}
	}
}

// BenchmarkSearch searches the shipped gazetteer (data/gazetteer.csv, with
// its former names) and 3,000 made-up settlements (ten times as many) for
// exact and typo'd names.
func BenchmarkSearch(b *testing.B) {
	regions, err := os.Open("../data/regions.csv")
	if err != nil {
		b.Fatal(err)
	}
	defer regions.Close()
	towns, err := os.ReadFile("../data/gazetteer.csv")
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	letters := []rune("абвгдежзиклмнопрстуфхшыәқңғүұөі")
	csv := bytes.NewBuffer(towns)
	for i := range 3000 {
		name := make([]rune, 5+rng.IntN(8))
		for j := range name {
			name[j] = letters[rng.IntN(len(letters))]
		}
		fmt.Fprintf(csv, "%d,%s,%s,,,karaganda,48,70,%d\n", 1000000+i, string(name), string(name), 1000+i)
	}
	g, err := storage.LoadGazetteer(regions, csv)
	if err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{"Шымкент", "Shymkemt", "Усть-Каменогорск", "Алмати", "Тарррразз"} {
		b.Run(q, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				g.Search(q, 5)
			}
		})
	}
}

// A region typed by its name is the region only when it names one, of the
// kind the word typed says.
func TestRegionTyped(t *testing.T) {
	g := testGazetteer(t)
	for typed, want := range map[string]string{"Алматы облысы": "almaty", "Almaty Region": "almaty", "Алматы обл.": "almaty",
		"г. Алматы": "almaty-city", "Туркистан облысы": "turkistan", "Туркестанская область": "turkistan",
		"Алматы": "", "Шымкент облысы": "", "Qwerty": ""} {
		if got := storage.RegionTyped(g, typed); got != want {
			t.Errorf("RegionTyped(%q) = %q, want %q", typed, got, want)
		}
	}
}
