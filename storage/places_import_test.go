package storage_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/dostyq/dostyq/storage"
	"github.com/dostyq/dostyq/storage/storagetest"
)

func openTestDB(t testing.TB) *storage.DB { t.Helper(); return storagetest.DB(t) }

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

const header = "kind,external_id,name_kk,name_ru,name_en,region,locality,level,address_kk,address_ru,address_en,lat,lon,phone,hours,website,ethnic_group,languages\n"

// fiveMistakes has one mistake of each kind the issue names, and one more
// of the others.
const fiveMistakes = header +
	"house,h1,Достық үйі,Дом дружбы,House of Friendship,almaty-city,Алматы,,,,,43.25,76.93,+7 000 000 00 01,09:00–18:00,,,\n" +
	"palace,h2,Сарай,Дворец,Palace,astana,,,,,,51.18,71.45,,,,,\n" + // line 3: unknown kind
	"house,h3,,,,astana,,,,,,51.18,71.45,,,,,\n" + // line 4: no name
	"house,h4,Достық үйі,,,shymkent,,,,,,69.6,42.3,,,,,\n" + // line 5: swapped coordinates
	"house,h5,Достық үйі,,,atyrau,,,,,,45.0,50.0,,,,,\n" + // line 6: in the Caspian Sea
	"house,h6,Достық үйі,,,astana,,,,,,51.18,71.45,call us,,,,\n" + // line 7: phone
	"council_mothers,c1,Аналар кеңесі,,,kostanay,,,,,,53.2,63.6,,,,,\n" + // line 8: no level
	"house,h7,Достық үйі,,,nowhere,,,,,,51.18,71.45,,,,,\n" + // line 9: region
	"house,h1,Достық үйі,,,astana,,,,,,51.18,71.45,,,,,\n" + // line 10: duplicate id
	"house,h8,Достық үйі\n" // line 11: column count

func TestImportReportsEveryMistakeAndWritesNothing(t *testing.T) {
	db, g := openTestDB(t), testGazetteer(t)
	res, err := db.ImportPlaces(context.Background(), strings.NewReader(fiveMistakes), g, storage.ImportOptions{})
	if !errors.Is(err, storage.ErrInvalidFile) {
		t.Fatalf("err = %v, want ErrInvalidFile", err)
	}
	var got []string
	for _, p := range res.Problems {
		got = append(got, p.String())
	}
	report := strings.Join(got, "\n")
	for _, want := range []string{
		"line 3, column kind: unknown kind", "line 4, column name_kk: no name",
		"line 5, column lat: latitude and longitude swapped? 69.6, 42.3 is outside Kazakhstan, 42.3, 69.6 is inside", "line 6, column lat: 45.0, 50.0 is outside Kazakhstan",
		"line 7, column phone:", "line 8, column level:", "line 9, column region:",
		"line 10, column external_id: house \"h1\" is already on line 2", "line 11: 3 columns, the header has 18",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if res.Rejected != 9 || res.Written {
		t.Errorf("rejected %d written %v, want 9 and false", res.Rejected, res.Written)
	}
	if n, _ := db.CountPlaces(context.Background()); n != 0 {
		t.Errorf("%d places written from a file with mistakes", n)
	}

	// --skip-invalid imports the one good row.
	res, err = db.ImportPlaces(context.Background(), strings.NewReader(fiveMistakes), g, storage.ImportOptions{SkipInvalid: true})
	if err != nil || res.Added != 1 || res.Rejected != 9 {
		t.Fatalf("skip invalid: %+v, %v", res, err)
	}
}

func TestImportFixedFileIsIdempotent(t *testing.T) {
	db, g := openTestDB(t), testGazetteer(t)
	ctx := context.Background()
	csv, err := os.ReadFile("../testdata/directory-test.csv")
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.ImportPlaces(ctx, bytes.NewReader(csv), g, storage.ImportOptions{})
	if err != nil || res.Added == 0 || res.Rejected != 0 {
		t.Fatalf("first import: %+v, %v", res, err)
	}
	first, _ := db.CountPlaces(ctx)
	res, err = db.ImportPlaces(ctx, bytes.NewReader(csv), g, storage.ImportOptions{})
	if err != nil || res.Added != 0 || res.Updated != 0 || res.Unchanged != first || res.Written {
		t.Fatalf("second import: %+v, %v", res, err)
	}
	if n, _ := db.CountPlaces(ctx); n != first {
		t.Errorf("%d places after importing twice, %d after once", n, first)
	}
}

func TestImportFileVariants(t *testing.T) {
	db, g := openTestDB(t), testGazetteer(t)
	ctx := context.Background()
	// A BOM, semicolons, a decimal comma, spaces around values, a phone in
	// the 8-prefix form, then an update of the same place and a new one.
	semi := "\ufeff" + strings.ReplaceAll(header, ",", ";") +
		"house ; a1 ; Достық үйі ;;; astana ;;;;;; 51,18 ; 71,45 ; 8 (700) 000-00-01 ;;;;\n"
	res, err := db.ImportPlaces(ctx, strings.NewReader(semi), g, storage.ImportOptions{})
	if err != nil || res.Added != 1 {
		t.Fatalf("semicolon file: %+v, %v", res, err)
	}
	hits, _, err := db.NearestPlaces(ctx, storage.PlaceQuery{Kinds: []string{storage.KindHouse}, Lat: 51, Lon: 71, Limit: 5})
	if err != nil || len(hits) != 1 || hits[0].Phone != "+7 700 000 00 01" || hits[0].NameKK != "Достық үйі" || hits[0].Lat != 51.18 {
		t.Fatalf("imported place: %+v, %v", hits, err)
	}
	upd := header + "house,a1,Жаңа атау,,,astana,,,,,,51.18,71.45,,,,,\nhouse,a2,Екінші,,,astana,,,,,,51.2,71.4,,,,,\n"
	res, err = db.ImportPlaces(ctx, strings.NewReader(upd), g, storage.ImportOptions{DryRun: true})
	if err != nil || res.Added != 1 || res.Updated != 1 || res.Written {
		t.Fatalf("dry run: %+v, %v", res, err)
	}
	if n, _ := db.CountPlaces(ctx); n != 1 {
		t.Fatalf("dry run wrote: %d places", n)
	}
	res, err = db.ImportPlaces(ctx, strings.NewReader(upd), g, storage.ImportOptions{})
	if err != nil || res.Added != 1 || res.Updated != 1 {
		t.Fatalf("update: %+v, %v", res, err)
	}
	// The index the bot searches sees the update.
	hits, _, _ = db.NearestPlaces(ctx, storage.PlaceQuery{Kinds: []string{storage.KindHouse}, Lat: 51.18, Lon: 71.45, Limit: 5})
	if len(hits) != 2 || hits[0].NameKK != "Жаңа атау" {
		t.Fatalf("after update: %+v", hits)
	}
	res, err = db.ImportPlaces(ctx, strings.NewReader(header+"house,a2,Екінші,,,astana,,,,,,51.2,71.4,,,,,\n"), g, storage.ImportOptions{Replace: true})
	if err != nil || res.Removed != 1 {
		t.Fatalf("replace: %+v, %v", res, err)
	}
	if n, _ := db.CountPlaces(ctx); n != 1 {
		t.Fatalf("replace left %d places", n)
	}
	// A file with an invalid row never replaces the directory, so that the
	// place of that row is not removed.
	res, err = db.ImportPlaces(ctx, strings.NewReader(header+"house,a3,Үшінші,,,astana,,,,,,51.2,71.4,,,,,\nhouse,a2,,,,astana,,,,,,51.2,71.4,,,,,\n"), g,
		storage.ImportOptions{Replace: true, SkipInvalid: true})
	if !errors.Is(err, storage.ErrInvalidFile) || res.Removed != 0 {
		t.Fatalf("replace with an invalid row: %+v, %v", res, err)
	}
}

// generated3000 is a directory file of 3,000 rows, every 100th with a
// mistake.
func generated3000() (string, int) {
	var b strings.Builder
	b.WriteString(header)
	bad := 0
	for i := range 3000 {
		kind := storage.PlaceKinds[i%len(storage.PlaceKinds)]
		level := ""
		if storage.IsCouncil(kind) {
			level = "district"
		}
		lat, lon := 46.0+float64(i%500)/100, 66.0+float64(i%1000)/100
		row := fmt.Sprintf("%s,g%d,Атауы %d,Название %d,Name %d,karaganda,,%s,,,,%.4f,%.4f,+7 000 000 %02d %02d,,,,kk|ru\n",
			kind, i, i, i, i, level, lat, lon, i/100%100, i%100)
		if i%100 == 99 {
			bad++
			switch i / 100 % 5 {
			case 0:
				row = strings.Replace(row, kind, "castle", 1)
			case 1:
				row = strings.Replace(row, "+7 000", "+1 000", 1)
			case 2:
				row = strings.Replace(row, "karaganda", "moon", 1)
			case 3:
				row = fmt.Sprintf("%s,g%d,Атауы,,,karaganda,,%s,,,,%.4f,%.4f,,,,,\n", kind, i, level, lon, lat)
			case 4:
				prev := storage.PlaceKinds[(i-1)%len(storage.PlaceKinds)]
				level = ""
				if storage.IsCouncil(prev) {
					level = "district"
				}
				row = fmt.Sprintf("%s,g%d,Атауы,,,karaganda,,%s,,,,%.4f,%.4f,,,,,\n", prev, i-1, level, lat, lon)
			}
		}
		b.WriteString(row)
	}
	return b.String(), bad
}

func TestImport3000RowsWithMistakes(t *testing.T) {
	db, g := openTestDB(t), testGazetteer(t)
	csv, bad := generated3000()
	ctx := context.Background()
	res, err := db.ImportPlaces(ctx, strings.NewReader(csv), g, storage.ImportOptions{})
	if !errors.Is(err, storage.ErrInvalidFile) || res.Rejected != bad || len(res.Problems) < bad {
		t.Fatalf("strict: rejected %d of %d bad, err %v", res.Rejected, bad, err)
	}
	res, err = db.ImportPlaces(ctx, strings.NewReader(csv), g, storage.ImportOptions{SkipInvalid: true})
	if err != nil || res.Added != 3000-bad || res.Rejected != bad {
		t.Fatalf("skip invalid: %+v, %v", res, err)
	}
	if n, _ := db.CountPlaces(ctx); n != 3000-bad {
		t.Errorf("%d places, want %d", n, 3000-bad)
	}
}

func BenchmarkImport3000(b *testing.B) {
	g := testGazetteer(b)
	csv, _ := generated3000()
	for b.Loop() {
		db := openTestDB(b)
		if _, err := db.ImportPlaces(context.Background(), strings.NewReader(csv), g, storage.ImportOptions{SkipInvalid: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// fiveMistakesFixed is fiveMistakes with every mistake corrected, as the
// administrator sends it back.
const fiveMistakesFixed = header +
	"house,h1,Достық үйі,Дом дружбы,House of Friendship,almaty-city,Алматы,,,,,43.25,76.93,+7 000 000 00 01,09:00–18:00,,,\n" +
	"house,h2,Сарай,Дворец,Palace,astana,,,,,,51.18,71.45,,,,,\n" +
	"house,h3,Достық үйі,,,astana,,,,,,51.17,71.44,,,,,\n" +
	"house,h4,Достық үйі,,,shymkent,,,,,,42.3,69.6,,,,,\n" +
	"house,h5,Достық үйі,,,atyrau,,,,,,47.1,51.9,,,,,\n" +
	"house,h6,Достық үйі,,,astana,,,,,,51.16,71.43,+7 7172 00 00 00,,,,\n" +
	"council_mothers,c1,Аналар кеңесі,,,kostanay,,district,,,,53.2,63.6,,,,,\n" +
	"house,h7,Достық үйі,,,astana,,,,,,51.15,71.42,,,,,\n" +
	"house,h9,Достық үйі,,,astana,,,,,,51.14,71.41,,,,,\n" +
	"house,h8,Достық үйі,,,astana,,,,,,51.13,71.40,,,,,\n"

// The file of mistakes, corrected, imports whole; importing it again
// changes nothing.
func TestImportFiveMistakesFixed(t *testing.T) {
	db, g := openTestDB(t), testGazetteer(t)
	ctx := context.Background()
	res, err := db.ImportPlaces(ctx, strings.NewReader(fiveMistakesFixed), g, storage.ImportOptions{})
	if err != nil || res.Added != 10 || res.Rejected != 0 || !res.Written {
		t.Fatalf("fixed file: %+v, %v", res, err)
	}
	res, err = db.ImportPlaces(ctx, strings.NewReader(fiveMistakesFixed), g, storage.ImportOptions{})
	if err != nil || res.Added != 0 || res.Updated != 0 || res.Unchanged != 10 || res.Written {
		t.Fatalf("imported again: %+v, %v", res, err)
	}
	if n, _ := db.CountPlaces(ctx); n != 10 {
		t.Errorf("%d places, want 10", n)
	}
}

// What an office worker's spreadsheet may save instead of a UTF-8 CSV is
// refused as a whole, saying how to save it, and nothing is written: a
// Windows-1251 file (its Cyrillic would be stored as bytes no citizen can
// read), UTF-16 ("Unicode Text"), a workbook renamed .csv, an empty file.
// A cell too long for a message is a row's mistake, its report short.
func TestImportRefusesWhatIsNotUTF8CSV(t *testing.T) {
	db, g := openTestDB(t), testGazetteer(t)
	good := "house,h1,Достық үйі,Дом дружбы,House of Friendship,almaty-city,Алматы,,,,,43.25,76.93,,,,,\n"
	cp1251 := []byte(header + good)
	cp1251 = append(cp1251, []byte("house,h2,,")...)
	cp1251 = append(cp1251, 0xc4, 0xee, 0xec) // "Дом" in Windows-1251
	cp1251 = append(cp1251, []byte(",,astana,,,,,,51.18,71.45,,,,,\n")...)
	utf16 := []byte{0xff, 0xfe, 'k', 0, 'i', 0, 'n', 0, 'd', 0}
	for name, tc := range map[string]struct {
		file []byte
		want string
	}{
		"windows-1251": {cp1251, "line 3 is not UTF-8 text (a file saved as Windows-1251?): save it from the spreadsheet as \"CSV UTF-8"},
		"utf-16":       {utf16, "the file is UTF-16"},
		"xlsx":         {[]byte("PK\x03\x04\x14\x00\x06\x00"), "this is a spreadsheet workbook (.xlsx)"},
		"empty":        {[]byte(""), "the file is empty"},
		"bom only":     {[]byte("\ufeff"), "the file is empty"},
	} {
		_, err := db.ImportPlaces(context.Background(), bytes.NewReader(tc.file), g, storage.ImportOptions{SkipInvalid: true})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	if n, _ := db.CountPlaces(context.Background()); n != 0 {
		t.Errorf("%d places written", n)
	}

	long := strings.Repeat("ж", 10000)
	res, err := db.ImportPlaces(context.Background(), strings.NewReader(header+good+
		"house,h3,Достық үйі,,,astana,,,,,,51.18,71.45,,"+long+",,,\n"), g, storage.ImportOptions{})
	if !errors.Is(err, storage.ErrInvalidFile) || len(res.Problems) != 1 ||
		!strings.Contains(res.Problems[0].String(), "line 3, column hours: 10000 characters; at most 300") || len(res.Problems[0].String()) > 400 {
		t.Errorf("a 10,000-character cell: %v %+v", err, res.Problems)
	}
}

// --replace with a file of no places is refused: it would empty the
// directory (and the next start would fill it with the sample places).
func TestImportReplaceWithNoPlacesKeepsTheDirectory(t *testing.T) {
	db, g := openTestDB(t), testGazetteer(t)
	good := "house,h1,Достық үйі,Дом дружбы,House of Friendship,almaty-city,Алматы,,,,,43.25,76.93,,,,,\n"
	if _, err := db.ImportPlaces(context.Background(), strings.NewReader(header+good), g, storage.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := db.ImportPlaces(context.Background(), strings.NewReader(header), g, storage.ImportOptions{Replace: true})
	if err == nil || !strings.Contains(err.Error(), "would remove the whole directory") {
		t.Errorf("--replace with a header alone: %v", err)
	}
	if n, _ := db.CountPlaces(context.Background()); n != 1 {
		t.Errorf("%d places after a refused --replace, want 1", n)
	}
}

// A coordinate that is not a plain decimal number, or a row split by an
// unquoted decimal comma, is rejected with a reason that says what is
// wrong and how to write it; a quoted decimal comma is read as a point.
func TestImportCoordinateReasonsSayHowToFixThem(t *testing.T) {
	g := testGazetteer(t)
	row := func(lat, lon string) string {
		return "house,h1,Достық үйі,,,almaty-city,,,,,," + lat + "," + lon + ",,,,,\n"
	}
	for _, tc := range []struct{ row, want string }{
		{row("NaN", "76.8897"), "line 2, column lat: latitude must be a number like 43.2975; NaN is not a number"},
		{row("43.2389", "Inf"), "line 2, column lon: longitude must be a number like 76.9286; Inf is not a number"},
		{row("-infinity", "76.8897"), "line 2, column lat: latitude must be a number like 43.2975; -infinity is not a number"},
		{row("4.32389e1", "76.8897"), `line 2, column lat: latitude must be a number like 43.2975; "4.32389e1" is not a number`},
		{row("0x2bp0", "76.8897"), `line 2, column lat: latitude must be a number like 43.2975; "0x2bp0" is not a number`},
		{row("", "76.8897"), "line 2, column lat: latitude is empty: write it in decimal degrees, like 43.2975"},
		{row("43°14′20″", "76.8897"), "line 2, column lat: latitude must be a number in decimal degrees like 43.2975, not degrees and minutes"},
		{row("432389", "76.8897"), "line 2, column lat: latitude must be between -90 and 90 degrees; 432389 is not: a lost decimal point? write it like 43.2975"},
		{row("0", "0"), "line 2, column lat: 0, 0 is outside Kazakhstan (in the Atlantic): coordinates left as zero?"},
		{row("76.8897", "43.2389"), "line 2, column lat: latitude and longitude swapped? 76.8897, 43.2389 is outside Kazakhstan, 43.2389, 76.8897 is inside"},
		{row("43,2389", "76.8897"), "line 2: this row has 1 more column than the header: a decimal comma in an unquoted number (43,2389)? write 43.2389 or quote the cell (\"43,2389\")"},
		{row("43,2389", "76,8897"), "line 2: this row has 2 more columns than the header: a decimal comma in an unquoted number (43,2389 and 76,8897)? write 43.2389 or quote the cell"},
		{"house,h1,Достық үйі, Алматы,,,almaty-city,,,,,,43.2389,76.8897,,,,,\n", "line 2: this row has 1 more column than the header: a comma inside an unquoted cell? put the cell in double quotes"},
		{strings.ReplaceAll(row("43.2389", "76.8897"), ",", ";"), "line 2: 1 column, the header has 18: this line is separated by semicolons, the header by commas"},
		{"house,h1,Достық үйі\n", "line 2: 3 columns, the header has 18: a cell is missing"},
		{"house,h1,\"Достық үйі,,,almaty-city,,,,,,43.2389,76.8897,,,,,\n", "line 2: 3 columns, the header has 18: an unclosed double quote? the cell \"Достық үйі,,,almaty-city,,,,,,…\" runs on"},
		// A quoted name with a comma, one cell missing at the end: no quote to blame.
		{"house,h1,\"Достық үйі, Алматы\",,,almaty-city,,,,,,43.2389,76.8897,,,,\n", "line 2: 17 columns, the header has 18: a cell is missing"},
		{row("42.5", "50.5"), "line 2, column lat: 42.5, 50.5 is outside Kazakhstan as the bot's outline of its border has it (accurate to a few km; in the Caspian Sea or a neighbouring country)"},
		{row("-43.2389", "76.8897"), "line 2, column lat: -43.2389, 76.8897 is outside Kazakhstan: check both numbers; in Kazakhstan the latitude is 41 to 55"},
	} {
		_, res, err := storage.ParsePlaces(strings.NewReader(header+tc.row), g)
		if err != nil || res.Rejected != 1 || len(res.Problems) != 1 || !strings.Contains(res.Problems[0].String(), tc.want) {
			t.Errorf("%q: %v %+v\nwant %q", tc.row, err, res.Problems, tc.want)
		}
	}
	// A quote left open on one row takes the next line into it: the
	// report names both lines, so that the second is not lost unnamed.
	// Closed on the next line (a quoted name there), or never.
	open := "house,h1,\"Достық үйі,,,almaty-city,,,,,,43.2389,76.8897,,,,,\n"
	h2 := "house,h2,\"Достық үйі\",,,almaty-city,,,,,,43.2389,76.8897,,,,,\n"
	h3 := "house,h3,Достық үйі,,,almaty-city,,,,,,43.2389,76.8897,,,,,\n"
	for _, tc := range []struct {
		rows  string
		lines string
		valid int
	}{{open + h2 + h3, "2-3", 1}, {open + h3 + h3, "2-4", 0}} {
		places, res, err := storage.ParsePlaces(strings.NewReader(header+tc.rows), g)
		if err != nil || len(places) != tc.valid || len(res.Problems) != 1 ||
			!strings.HasPrefix(res.Problems[0].String(), "lines "+tc.lines) ||
			!strings.Contains(res.Problems[0].String(), "(lines "+tc.lines+" were read as this one row: a double quote opened on line 2 runs on over the line break)") {
			t.Errorf("a quote open over a line break: %+v %+v %v", places, res.Problems, err)
		}
	}
	// A quote left open in an address takes the next row in: refused.
	places, res, err := storage.ParsePlaces(strings.NewReader(header+
		"house,h4,Достық үйі,,,almaty-city,,,\"Абай көшесі, 12,,,43.2389,76.8897,,,,,\n"+
		"house,h5,Достық үйі,,,almaty-city,,,\"Абай көшесі, 14\",,,43.2389,76.8897,,,,,\n"), g)
	if err != nil || len(places) != 0 || len(res.Problems) == 0 ||
		!strings.HasPrefix(res.Problems[0].String(), "lines 2-3, column address_kk: holds a line break (lines 2-3 were read as this one row") {
		t.Errorf("a quote open in an address: %+v %+v %v", places, res.Problems, err)
	}
	// A row over two lines refused for another reason: no word of quotes.
	_, res, _ = storage.ParsePlaces(strings.NewReader(header+"house,h4,Достық үйі,,,almaty-city,,,\"Абай көшесі,\n12\",,,43.2389,76.8897,12345,,,,\n"), g)
	if len(res.Problems) != 1 || strings.Contains(res.Problems[0].String(), "double quote") || !strings.HasPrefix(res.Problems[0].String(), "lines 2-3, column phone") {
		t.Errorf("a bad phone on a row of two lines: %+v", res.Problems)
	}
	// An address written over two lines in a spreadsheet cell is fine.
	if places, res, err := storage.ParsePlaces(strings.NewReader(header+"house,h4,Достық үйі,,,almaty-city,,,\"Абай көшесі,\n12\",,,43.2389,76.8897,,,,,\n"+h3), g); err != nil || len(places) != 2 || res.Rejected != 0 || places[0].AddressKK != "Абай көшесі,\n12" {
		t.Errorf("an address over two lines: %+v %+v %v", places, res.Problems, err)
	}
	// Quoted, a decimal comma is a decimal point (docs/DIRECTORY.md).
	places, res, err = storage.ParsePlaces(strings.NewReader(header+row(`"43,2389"`, `"76,8897"`)), g)
	if err != nil || res.Rejected != 0 || len(places) != 1 || places[0].Lat != 43.2389 || places[0].Lon != 76.8897 {
		t.Errorf("quoted decimal commas: %+v %+v %v", places, res, err)
	}
}

// A point far from every town of its stated region, and near a town of
// another, is imported as written with a warning that names the row: the
// gazetteer knows towns, not regions' borders, so it cannot be sure.
func TestImportWarnsOfAPointFarFromItsRegion(t *testing.T) {
	db, g := openTestDB(t), testGazetteer(t)
	file := header +
		"house,w1,Достық үйі,,,turkistan,,,,,,52.2873,76.9674,,,,,\n" + // in Pavlodar
		"house,w2,Достық үйі,,,turkistan,,,,,,43.2973,68.2517,,,,,\n" + // in Turkistan
		"house,w3,Достық үйі,,,pavlodar,,,,,,52.0402,76.9274,,,,,\n" // Aksu, Pavlodar region
	res, err := db.ImportPlaces(context.Background(), strings.NewReader(file), g, storage.ImportOptions{})
	if err != nil || res.Added != 3 || res.Rejected != 0 || len(res.Warnings) != 1 {
		t.Fatalf("%+v, %v", res, err)
	}
	w := res.Warnings[0].String()
	for _, want := range []string{
		"line 2, column region: 52.2873, 76.9674 is ", " km from Turkistan, the nearest town of Turkistan Region (turkistan) the bot knows, and ",
		" km from Pavlodar in Pavlodar Region: wrong region or wrong coordinates?",
	} {
		if !strings.Contains(w, want) {
			t.Errorf("warning lacks %q:\n%s", want, w)
		}
	}
}

// A town on the border a little outside the bot's outline of it (accurate
// to a few km) is imported with a warning; a point well across the border
// is still refused.
func TestImportAcceptsATownOnTheBorderWithAWarning(t *testing.T) {
	g := testGazetteer(t)
	f, err := os.Open("../data/kazakhstan.csv") // the real outline, not the test's
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := g.LoadBorder(f); err != nil {
		t.Fatal(err)
	}
	file := header +
		"house,b1,Достық үйі,,,turkistan,,,,,,41.4716,69.37421,,,,,\n" + // Zhibek Zholy, on the Uzbek border
		"house,b2,Достық үйі,,,zhambyl,,,,,,42.7466,73.4767,,,,,\n" + // by Granitogorsk, on the Kyrgyz border
		"house,b3,Достық үйі,,,turkistan,,,,,,41.3111,69.2797,,,,,\n" // Tashkent
	places, res, err := storage.ParsePlaces(strings.NewReader(file), g)
	if err != nil || len(places) != 2 || res.Rejected != 1 || len(res.Warnings) != 2 {
		t.Fatalf("%+v %+v, %v", places, res, err)
	}
	for i, w := range res.Warnings {
		if !strings.Contains(w.String(), fmt.Sprintf("line %d, column lat: ", i+2)) ||
			!strings.Contains(w.String(), " km outside the bot's outline of Kazakhstan's border, which is accurate to a few km: imported as written") {
			t.Errorf("warning %d: %s", i, w)
		}
	}
	if p := res.Problems[0].String(); !strings.HasPrefix(p, "line 4, column lat: 41.3111, 69.2797 is outside Kazakhstan as the bot's outline") {
		t.Errorf("Tashkent: %s", p)
	}
	// A location shared there counts as Kazakhstan's the same way.
	for _, tc := range []struct {
		lat, lon float64
		want     bool
	}{{41.4716, 69.37421, true}, {43.2389, 76.8897, true}, {41.3111, 69.2797, false}, {-33.87, 151.21, false}, {0, 0, false}} {
		if got := g.OnKazakhstanSide(tc.lat, tc.lon); got != tc.want {
			t.Errorf("OnKazakhstanSide(%v, %v) = %v", tc.lat, tc.lon, got)
		}
	}
}

// A region written in capitals is its code; a region's name names the code
// to write; anything else lists the codes (the file of them is inside the
// program, out of an administrator's reach).
func TestImportRegionReasonsNameTheCode(t *testing.T) {
	g := testGazetteer(t)
	row := func(region string) string {
		return "house,h1,Достық үйі,,," + region + ",,,,,,47.1167,51.8833,,,,,\n"
	}
	places, res, err := storage.ParsePlaces(strings.NewReader(header+row("ATYRAU")), g)
	if err != nil || len(places) != 1 || places[0].Region != "atyrau" {
		t.Errorf("ATYRAU: %+v %+v %v", places, res.Problems, err)
	}
	for region, want := range map[string]string{
		"Алматинская область": `line 2, column region: "Алматинская область" is the name of a region: write its code, almaty`,
		"Atyrau Region":       `line 2, column region: "Atyrau Region" is the name of a region: write its code, atyrau`,
		"Алматы":              `line 2, column region: "Алматы" names more than one region: write the code of one, almaty-city or almaty`,
		"Narnia":              `line 2, column region: unknown region code "Narnia": the codes are astana, almaty-city, `,
		"Almaty":              `line 2, column region: "Almaty" names more than one region: write the code of one, almaty or almaty-city`,
		"Алматы қаласы":       `line 2, column region: "Алматы қаласы" is the name of a region: write its code, almaty-city`,
	} {
		_, res, err := storage.ParsePlaces(strings.NewReader(header+row(region)), g)
		if err != nil || len(res.Problems) == 0 || !strings.HasPrefix(res.Problems[0].String(), want) {
			t.Errorf("%s: %+v %v\nwant %s", region, res.Problems, err, want)
		}
	}
}

// In the west latitudes and longitudes are both 46 to 53: a swapped point
// is in Kazakhstan, often near some town of the row's region. A row that
// names its locality is refused when the point is far from it and the
// swapped point near; far from it either way, it is imported with a
// warning.
func TestImportChecksThePointAgainstTheLocality(t *testing.T) {
	g := realGazetteer(t)
	row := func(id, locality, lat, lon string) string {
		return "house," + id + ",,Дом дружбы Казталовка,,west-kazakhstan," + locality + ",,,,," + lat + "," + lon + ",,,,,\n"
	}
	places, res, err := storage.ParsePlaces(strings.NewReader(header+
		row("hf-kaztalovka", "Казталовка", "48.68294", "49.76319")+ // swapped
		row("hf-kaztalovka-2", "Казталовка", "49.76319", "48.68294")+ // right
		row("hf-kaztalovka-3", "Казталовка", "51.2333", "51.3667")+ // in Oral
		row("hf-kaztalovka-4", "", "48.68294", "49.76319")+ // no locality: nothing to check against
		// By the diagonal, where swapping moves a point little: 51 km from
		// Oral, 49 km swapped, is no swap (a warning, not a refusal).
		row("hf-oral-south", "Орал", "50.7874", "51.4256")), g)
	if err != nil || len(places) != 4 || res.Rejected != 1 || len(res.Problems) != 1 || len(res.Warnings) != 2 {
		t.Fatalf("%+v %+v, %v", places, res, err)
	}
	if p := res.Problems[0].String(); !strings.HasPrefix(p, "line 2, column lat: latitude and longitude swapped? 48.68294, 49.76319 is 144 km from Kaztalovka, the row's locality (\"Казталовка\"), and 49.76319, 48.68294 is 1 km from Kaztalovka") {
		t.Errorf("swapped: %s", p)
	}
	if w := res.Warnings[0].String(); !strings.HasPrefix(w, "line 4, column locality: 51.2333, 51.3667 is 250 km from Kaztalovka, the row's locality (\"Казталовка\") in West Kazakhstan Region: wrong locality or wrong coordinates?") {
		t.Errorf("far: %s", w)
	}
}

// An import of the real directory removes the sample places (so that the
// bot stops saying "sample data") in its transaction, and a dry run counts
// them; an import with Sample, or of sample rows alone, leaves them.
func TestImportOfTheRealDirectoryRemovesTheSample(t *testing.T) {
	db, g := openTestDB(t), testGazetteer(t)
	ctx := context.Background()
	sample := header +
		"house,sample-house-astana,Достық үйі,,,astana,,,,,,51.18,71.45,,,,,\n" +
		"house,sample-house-almaty,Достық үйі,,,almaty-city,,,,,,43.25,76.93,,,,,\n" +
		"house,hf-astana,Достық үйі,,,astana,,,,,,51.17,71.44,,,,,\n" // the real directory's id, marked sample
	if _, err := db.ImportPlaces(ctx, strings.NewReader(sample), g, storage.ImportOptions{Sample: true}); err != nil {
		t.Fatal(err)
	}
	// More sample rows: the sample stays whole.
	res, err := db.ImportPlaces(ctx, strings.NewReader(header+"house,sample-house-oral,Достық үйі,,,west-kazakhstan,,,,,,51.22,51.37,,,,,\n"), g, storage.ImportOptions{})
	if err != nil || res.SampleRemoved != 0 || res.Added != 1 {
		t.Fatalf("sample rows: %+v, %v", res, err)
	}
	real := header +
		"house,hf-astana,Астана Достық үйі,,,astana,,,,,,51.17,71.44,,,,,\n" +
		"house,hf-shymkent,Шымкент Достық үйі,,,shymkent,,,,,,42.32,69.59,,,,,\n"
	res, err = db.ImportPlaces(ctx, strings.NewReader(real), g, storage.ImportOptions{DryRun: true})
	if err != nil || res.SampleRemoved != 3 || res.Added != 1 || res.Updated != 1 || res.Written {
		t.Fatalf("dry run: %+v, %v", res, err)
	}
	if n, _ := db.CountPlaces(ctx); n != 4 {
		t.Fatalf("the dry run left %d places, want 4", n)
	}
	res, err = db.ImportPlaces(ctx, strings.NewReader(real), g, storage.ImportOptions{})
	if err != nil || res.SampleRemoved != 3 || res.Added != 1 || res.Updated != 1 || res.Removed != 0 || !res.Written {
		t.Fatalf("import: %+v, %v", res, err)
	}
	hits, _, err := db.NearestPlaces(ctx, storage.PlaceQuery{Kinds: []string{storage.KindHouse}, Lat: 48, Lon: 70, Limit: 10})
	if err != nil || len(hits) != 2 {
		t.Fatalf("after the import: %+v, %v", hits, err)
	}
	for _, h := range hits {
		if h.Sample {
			t.Errorf("%s is still sample data", h.ExternalID)
		}
	}
	// A sample import over the real directory removes nothing.
	res, err = db.ImportPlaces(ctx, strings.NewReader(sample), g, storage.ImportOptions{Sample: true})
	if err != nil || res.SampleRemoved != 0 || res.Removed != 0 {
		t.Fatalf("sample over the real directory: %+v, %v", res, err)
	}
	if n, _ := db.CountPlaces(ctx); n != 4 {
		t.Errorf("%d places, want 4", n)
	}
}

// What a spreadsheet leaves in a file is read as meant: an empty row
// (",,,,") is a blank line; empty columns with no name after the last one
// are ignored while empty; non-breaking spaces in a phone number are
// spaces; an empty part of a phone list is nothing.
func TestImportIgnoresSpreadsheetLeftovers(t *testing.T) {
	g := testGazetteer(t)
	file := strings.TrimSuffix(header, "\n") + ",,\n" +
		"house,x1,Достық үйі,,,astana,,,,,,51.18,71.45,+7\u00a0701\u00a0000\u00a000\u00a021|,,,,,,\n" +
		",,,,,,,,,,,,,,,,,,,\n" +
		",,,,,,,,,\n" +
		"house,x2,Достық үйі,,,astana,,,,,,51.17,71.44,+7\u202f701\u202f000\u202f00\u202f22 | 8 701 000 00 23,,,,,,\n" +
		"house,x3,Достық үйі,,,astana,,,,,,51.16,71.43,,,,,,,note\n"
	places, res, err := storage.ParsePlaces(strings.NewReader(file), g)
	if err != nil || res.Rows != 3 || len(places) != 2 || res.Rejected != 1 || len(res.Problems) != 1 {
		t.Fatalf("%+v %+v, %v", places, res, err)
	}
	if places[0].Phone != "+7 701 000 00 21" || places[1].Phone != "+7 701 000 00 22|+7 701 000 00 23" {
		t.Errorf("phones %q, %q", places[0].Phone, places[1].Phone)
	}
	// A value under a column with no name is no leftover.
	if p := res.Problems[0].String(); p != `line 6: column 20 has no name in the header, but this row has "note" in it: name the column in the header or clear the cell` {
		t.Errorf("a value under no name: %s", p)
	}
}

// A Kazakhstan number is +7 and ten digits, the first 6 or 7: Moscow's
// and Russia's mobiles share the country code only. The made-up numbers of
// test files (+7 000 000 …) are imported with a warning.
func TestImportRefusesPhonesOfOtherCountries(t *testing.T) {
	g := testGazetteer(t)
	row := func(phone string) string {
		return header + "house,p1,Достық үйі,,,astana,,,,,,51.18,71.45," + phone + ",,,,\n"
	}
	for phone, want := range map[string]string{
		"+7 495 000 00 10":                  `line 2, column phone: "+7 495 000 00 10" is not a Kazakhstan phone number: +7 495 is Russia's; Kazakhstan numbers begin +7 7 or +7 6`,
		"+7 900 000 00 11":                  `line 2, column phone: "+7 900 000 00 11" is not a Kazakhstan phone number: +7 900 is Russia's`,
		"8 (800) 000-00-12":                 `line 2, column phone: "8 (800) 000-00-12" is not a Kazakhstan phone number: +7 800 is Russia's`,
		"+7 012 000 00 13":                  `line 2, column phone: "+7 012 000 00 13" is not a Kazakhstan phone number: no number begins +7 0; Kazakhstan numbers begin +7 7 or +7 6`,
		"+7 701 000 00 14|+7 395 000 00 15": `line 2, column phone: "+7 395 000 00 15" is not a Kazakhstan phone number: +7 395 is Russia's`,
		"+1 212 000 00 16":                  `line 2, column phone: "+1 212 000 00 16" is not a Kazakhstan phone number (+7 and 10 digits)`,
	} {
		_, res, err := storage.ParsePlaces(strings.NewReader(row(phone)), g)
		if err != nil || res.Rejected != 1 || len(res.Problems) != 1 || !strings.HasPrefix(res.Problems[0].String(), want) {
			t.Errorf("%s: %+v, %v\nwant %s", phone, res.Problems, err, want)
		}
	}
	for phone, want := range map[string]string{"+7 727 000 00 17": "+7 727 000 00 17", "8 600 000 00 18": "+7 600 000 00 18", "+7 000 000 00 19": "+7 000 000 00 19"} {
		places, res, err := storage.ParsePlaces(strings.NewReader(row(phone)), g)
		if err != nil || len(places) != 1 || places[0].Phone != want {
			t.Errorf("%s: %+v %+v, %v", phone, places, res.Problems, err)
		}
		if made := len(res.Warnings) == 1 && strings.Contains(res.Warnings[0].String(), "is a made-up number"); made != strings.HasPrefix(phone, "+7 000 000") {
			t.Errorf("%s: warnings %+v", phone, res.Warnings)
		}
	}
}

// An unknown region's reason lists every code; a region's name with the
// word for city or region names that one alone.
func TestImportRegionReasonsListEveryCode(t *testing.T) {
	g := testGazetteer(t)
	row := func(region string) string {
		return header + "house,h1,Достық үйі,,," + region + ",,,,,,47.1167,51.8833,,,,,\n"
	}
	var codes []string
	for _, r := range g.Regions() {
		codes = append(codes, r.Code)
	}
	for region, want := range map[string]string{
		"mangystau-oblast":       `line 2, column region: unknown region code "mangystau-oblast": the codes are ` + strings.Join(codes, ", "),
		strings.Repeat("ж", 250): `line 2, column region: unknown region code "` + strings.Repeat("ж", 40) + `…": the codes are ` + strings.Join(codes, ", "),
		"г. Алматы":              `line 2, column region: "г. Алматы" is the name of a region: write its code, almaty-city`,
		"г.Алматы":               `line 2, column region: "г.Алматы" is the name of a region: write its code, almaty-city`,
		"Алматы қ.":              `line 2, column region: "Алматы қ." is the name of a region: write its code, almaty-city`,
		"Almaty city":            `line 2, column region: "Almaty city" is the name of a region: write its code, almaty-city`,
		"Алматы обл.":            `line 2, column region: "Алматы обл." is the name of a region: write its code, almaty`,
		"Алматы":                 `line 2, column region: "Алматы" names more than one region: write the code of one, almaty-city or almaty`,
	} {
		_, res, err := storage.ParsePlaces(strings.NewReader(row(region)), g)
		if err != nil || len(res.Problems) == 0 || res.Problems[0].String() != want {
			t.Errorf("%s: %+v %v\nwant %s", region, res.Problems, err, want)
		}
	}
}

// Ids are the same whatever their case: folded to lower case on import, a
// place imported before under a mixed-case id is updated (and a second
// copy of it removed), and two rows of a file are one id. Two rows of one
// place (same kind, name and point) under two ids are imported with a
// warning naming both lines.
func TestImportIDsIgnoreCase(t *testing.T) {
	db, g := openTestDB(t), testGazetteer(t)
	ctx := context.Background()
	polish := "association,EKO-AKSU-AKMOLA-POLISH,Поляк қоғамы,,,akmola,,,,,,52.43,71.96,,,,polish,\n"
	res, err := db.ImportPlaces(ctx, strings.NewReader(header+polish), g, storage.ImportOptions{})
	if err != nil || res.Added != 1 {
		t.Fatalf("first import: %+v, %v", res, err)
	}
	hits, _, _ := db.NearestPlaces(ctx, storage.PlaceQuery{Kinds: []string{storage.KindAssociation}, Lat: 52.4, Lon: 72, Limit: 5})
	if len(hits) != 1 || hits[0].ExternalID != "eko-aksu-akmola-polish" {
		t.Fatalf("stored: %+v", hits)
	}
	lower := strings.Replace(polish, "EKO-AKSU-AKMOLA-POLISH", "eko-aksu-akmola-polish", 1)
	res, err = db.ImportPlaces(ctx, strings.NewReader(header+lower), g, storage.ImportOptions{})
	if err != nil || res.Added != 0 || res.Unchanged != 1 {
		t.Fatalf("lower case: %+v, %v", res, err)
	}
	// Imported by an older version: the mixed-case id, and a copy.
	for _, q := range []string{
		`UPDATE places SET external_id = 'EKO-AKSU-AKMOLA-POLISH'`,
		`INSERT INTO places (kind, external_id, name_kk, name_ru, name_en, region, locality, level, address_kk, address_ru, address_en,
			lat, lon, phone, hours, website, ethnic_group, languages, sample, updated_at)
			SELECT kind, 'Eko-Aksu-Akmola-Polish', name_kk, name_ru, name_en, region, locality, level, address_kk, address_ru, address_en,
			lat, lon, phone, hours, website, ethnic_group, languages, sample, updated_at FROM places`,
	} {
		if err := storage.ExecForTest(db, q); err != nil {
			t.Fatal(err)
		}
	}
	res, err = db.ImportPlaces(ctx, strings.NewReader(header+lower), g, storage.ImportOptions{})
	if err != nil || res.Added != 0 || res.Updated != 1 || res.Removed != 1 || len(res.Warnings) != 1 ||
		!strings.HasPrefix(res.Warnings[0].String(), `line 2, column external_id: association "eko-aksu-akmola-polish" was in the directory twice, as "EKO-AKSU-AKMOLA-POLISH" and "Eko-Aksu-Akmola-Polish"`) {
		t.Fatalf("over mixed-case ids: %+v, %v", res, err)
	}
	hits, _, _ = db.NearestPlaces(ctx, storage.PlaceQuery{Kinds: []string{storage.KindAssociation}, Lat: 52.4, Lon: 72, Limit: 5})
	if len(hits) != 1 || hits[0].ExternalID != "eko-aksu-akmola-polish" {
		t.Fatalf("after: %+v", hits)
	}
	if n, _ := db.CountPlaces(ctx); n != 1 {
		t.Errorf("%d places, want 1", n)
	}

	_, res, _ = storage.ParsePlaces(strings.NewReader(header+polish+lower), g)
	if len(res.Problems) != 1 || res.Problems[0].String() != `line 3, column external_id: association "eko-aksu-akmola-polish" is already on line 2 (as "EKO-AKSU-AKMOLA-POLISH": ids are the same whatever their case)` {
		t.Errorf("within a file: %+v", res.Problems)
	}
	places, res, _ := storage.ParsePlaces(strings.NewReader(header+polish+
		"association,eko-aksu-polish,,Польское общество,,akmola,,,,,,52.43,71.96,,,,polish,\n"+
		"association,eko-aksu-polish-2,Поляк қоғамы,,,akmola,,,,,,52.43005,71.96005,,,,polish,\n"+ // 7 m away
		"association,eko-aksu-polish-3,Поляк қоғамы,,,akmola,,,,,,52.44,71.96,,,,polish,\n"+ // 1 km away
		"house,hf-aksu,Поляк қоғамы,,,akmola,,,,,,52.43,71.96,,,,,\n"), g) // another kind
	if len(places) != 5 || len(res.Warnings) != 1 || res.Warnings[0].String() !=
		`line 4, column external_id: association "eko-aksu-polish-2" has the name (Поляк қоғамы) and the point (within 10 m) of "eko-aksu-akmola-polish" on line 2: one place under two ids? both are imported; delete one of the rows if so` {
		t.Errorf("one place under two ids: %d places, %+v", len(places), res.Warnings)
	}
}
