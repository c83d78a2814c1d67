package storage_test

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dostyq/dostyq/storage"
)

// FuzzGazetteerSearch types arbitrary town names: the search never panics,
// returns at most limit matches, and each is a settlement it knows.
func FuzzGazetteerSearch(f *testing.F) {
	g := testGazetteer(f)
	for _, s := range []string{"Алматы", "Almaty", "Alma-Ata", "Алмати", "Oskemen", "Усть-Каменогорск",
		"Astana", "Nur-Sultan", "Нұр-Сұлтан", "ш", "", " ", "а-а-а-а", "Достықтау", "\u202eАлматы", "🏠", "\xff\xfe",
		strings.Repeat("я", 300), "Qaraǵandy", "караганды obl", "%_*"} {
		f.Add(s, 5)
	}
	f.Fuzz(func(t *testing.T, q string, limit int) {
		limit = limit%50 + 1
		if limit < 1 {
			limit += 50
		}
		for _, ms := range [][]storage.Match{g.Search(q, limit), g.Suggest(q, limit)} {
			if len(ms) > limit {
				t.Fatalf("%d matches for limit %d", len(ms), limit)
			}
			for _, m := range ms {
				if _, ok := g.Settlement(m.ID); !ok {
					t.Fatalf("match %+v is not in the gazetteer", m)
				}
			}
		}
	})
}

// FuzzParsePlaces imports arbitrary CSV files: the parser never panics,
// reports a problem instead of taking a bad row, and every place it
// accepts has a known region and, when it has coordinates, they are in
// Kazakhstan.
func FuzzParsePlaces(f *testing.F) {
	g := testGazetteer(f)
	sample, err := os.ReadFile("../testdata/directory-test.csv")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sample)
	if lines := bytes.SplitN(sample, []byte("\n"), 4); len(lines) >= 3 {
		f.Add(bytes.Join(lines[:3], []byte("\n")))
		f.Add(bytes.ReplaceAll(bytes.Join(lines[:3], []byte("\n")), []byte(","), []byte(";")))
	}
	for _, s := range []string{"", "\ufeff", "kind\n", "kind,kind\n", "a\tb\tc\n1\t2\t3\n", "\"unterminated\n",
		"kind,external_id,region,name_ru,lat,lon\nhouse,x1,ZZZ,Дом,91,181\n",
		"kind,external_id,region,name_ru,lat,lon\nhouse,x1,almaty_city,Дом,NaN,Inf\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, file []byte) {
		places, res, err := storage.ParsePlaces(bytes.NewReader(file), g)
		if err != nil {
			return // not a CSV file with a header: refused as a whole
		}
		_ = res
		for _, p := range places {
			if _, ok := g.Region(p.Region); !ok {
				t.Fatalf("accepted a place in unknown region %q", p.Region)
			}
		}
	})
}

// FuzzImportPlaces runs whole imports into a real database: never a panic,
// and an import either writes every valid row or nothing.
func FuzzImportPlaces(f *testing.F) {
	g := testGazetteer(f)
	db := openTestDB(f)
	sample, err := os.ReadFile("../testdata/directory-test.csv")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sample, false)
	f.Add([]byte("kind,external_id\nhouse,\n"), true)
	f.Fuzz(func(t *testing.T, file []byte, skipInvalid bool) {
		if len(file) > 64<<10 {
			return
		}
		_, _ = db.ImportPlaces(context.Background(), bytes.NewReader(file), g, storage.ImportOptions{SkipInvalid: skipInvalid})
	})
}

var kzPhone = regexp.MustCompile(`^\+7 \d{3} \d{3} \d{2} \d{2}$`)

// FuzzNormalizePhone: a phone number in the directory is either refused
// or written as "+7 XXX XXX XX XX", and normalising that again changes
// nothing.
func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"+7 727 123 45 67", "8 (727) 1234567", "87271234567", "77271234567", "+7-727-123-45-67",
		"", "+", "++7", "8", "+7 727 123 45 678", "٨٧٢٧١٢٣٤٥٦٧", "+7\u00a0727\u00a0123\u00a045\u00a067", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, ok := storage.NormalizePhone(s)
		if !ok {
			return
		}
		if !kzPhone.MatchString(p) || !utf8.ValidString(p) {
			t.Fatalf("NormalizePhone(%q) = %q", s, p)
		}
		if again, ok := storage.NormalizePhone(p); !ok || again != p {
			t.Fatalf("NormalizePhone(%q) = %q, %v; want it unchanged", p, again, ok)
		}
	})
}
