package data_test

import (
	"encoding/csv"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// readCSV reads a CSV file of this directory and checks that its header is
// exactly want; it returns the data rows as maps by column.
func readCSV(t *testing.T, name, want string) []map[string]string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if got := strings.Join(recs[0], ","); got != want {
		t.Fatalf("%s header:\n got %s\nwant %s", name, got, want)
	}
	var rows []map[string]string
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = rec[i]
		}
		rows = append(rows, m)
	}
	return rows
}

func regionCodes(t *testing.T) map[string]bool {
	rows := readCSV(t, "regions.csv", "code,name_kk,name_ru,name_en,center_kk,center_ru,center_en")
	codes := map[string]bool{}
	for _, r := range rows {
		codes[r["code"]] = true
	}
	if len(codes) != 20 {
		t.Fatalf("regions.csv has %d codes, want 17 regions + 3 cities", len(codes))
	}
	return codes
}

func number(t *testing.T, where, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%s: %q is not a number", where, s)
	}
	return v
}

type point struct{ lat, lon float64 }

func border(t *testing.T) []point {
	rows := readCSV(t, "kazakhstan.csv", "lat,lon")
	var ring []point
	for i, r := range rows {
		where := "kazakhstan.csv line " + strconv.Itoa(i+2)
		ring = append(ring, point{number(t, where, r["lat"]), number(t, where, r["lon"])})
	}
	return ring
}

// inside is the even-odd ray-casting test.
func inside(ring []point, p point) bool {
	in := false
	for i, j := 0, len(ring)-1; i < len(ring); j, i = i, i+1 {
		a, b := ring[i], ring[j]
		if (a.lat > p.lat) != (b.lat > p.lat) &&
			p.lon < (b.lon-a.lon)*(p.lat-a.lat)/(b.lat-a.lat)+a.lon {
			in = !in
		}
	}
	return in
}

// Kazakhstan's extreme points are about 40.57–55.44 N and 46.49–87.31 E.
func inBox(p point) bool {
	return p.lat >= 40.5 && p.lat <= 55.5 && p.lon >= 46.4 && p.lon <= 87.4
}

func TestBorderSeparatesKazakhstanFromNeighbours(t *testing.T) {
	ring := border(t)
	if n := len(ring); n < 300 || n > 501 {
		t.Errorf("border has %d points, want 300–500", n)
	}
	if ring[0] != ring[len(ring)-1] {
		t.Errorf("border is not closed: first %v, last %v", ring[0], ring[len(ring)-1])
	}
	for _, p := range ring {
		if !inBox(p) {
			t.Errorf("border point %v outside Kazakhstan's bounding box", p)
		}
	}
	in := map[string]point{
		"Almaty": {43.2389, 76.8897}, "Astana": {51.1801, 71.4460}, "Aktau": {43.6511, 51.1978},
		"Atyrau": {47.1048, 51.8843}, "Oral": {51.2460, 51.4256}, "Petropavl": {54.8734, 69.1507},
		"Öskemen": {49.9714, 82.6059}, "Zaisan": {47.4666, 84.8714}, "Shymkent": {42.3099, 69.6004},
		"Zhanaozen": {43.3412, 52.8619}, "Baikonur": {45.6167, 63.3167},
	}
	out := map[string]point{
		"Tashkent": {41.2995, 69.2401}, "Bishkek": {42.8746, 74.5698}, "Urumqi": {43.8256, 87.6168},
		"Omsk": {54.9885, 73.3242}, "Orenburg": {51.7682, 55.0970}, "Novosibirsk": {55.0084, 82.9357},
		"Samara": {53.1959, 50.1002}, "Astrakhan": {46.3497, 48.0408}, "Nukus": {42.4531, 59.6103},
		"the middle of the Caspian Sea": {42.5, 50.5},
	}
	for name, p := range in {
		if !inside(ring, p) {
			t.Errorf("%s %v is outside the border", name, p)
		}
	}
	for name, p := range out {
		if inside(ring, p) {
			t.Errorf("%s %v is inside the border", name, p)
		}
	}
}

func TestGazetteer(t *testing.T) {
	codes := regionCodes(t)
	ring := border(t)
	rows := readCSV(t, "gazetteer.csv", "id,name_kk,name_ru,name_en,alt_names,region,lat,lon,population")
	if len(rows) < 300 {
		t.Errorf("gazetteer has %d settlements, want 300+", len(rows))
	}
	ids := map[string]int{}
	names := map[string]map[string]bool{} // any name, lower case -> regions
	perRegion := map[string]int{}
	for i, r := range rows {
		line := i + 2
		where := "gazetteer.csv line " + strconv.Itoa(line)
		if id, err := strconv.ParseInt(r["id"], 10, 64); err != nil || id == 0 {
			t.Errorf("%s: id %q is not a non-zero integer", where, r["id"])
		}
		if first, dup := ids[r["id"]]; dup {
			t.Errorf("%s: id %s already on line %d", where, r["id"], first)
		}
		ids[r["id"]] = line
		if !codes[r["region"]] {
			t.Errorf("%s: unknown region %q", where, r["region"])
		}
		perRegion[r["region"]]++
		for _, c := range []string{"name_kk", "name_ru", "name_en"} {
			if strings.TrimSpace(r[c]) == "" || r[c] != strings.TrimSpace(r[c]) {
				t.Errorf("%s: %s is %q", where, c, r[c])
			}
		}
		if pop, err := strconv.Atoi(r["population"]); err != nil || pop < 1000 {
			t.Errorf("%s: population %q, want an integer of 1,000 or more", where, r["population"])
		}
		p := point{number(t, where, r["lat"]), number(t, where, r["lon"])}
		if !inBox(p) {
			t.Errorf("%s: %s %v outside Kazakhstan's bounding box", where, r["name_en"], p)
		} else if !inside(ring, p) {
			t.Errorf("%s: %s %v outside the border polygon", where, r["name_en"], p)
		}
		all := []string{r["name_kk"], r["name_ru"], r["name_en"]}
		if r["alt_names"] != "" {
			for _, a := range strings.Split(r["alt_names"], "|") {
				if strings.TrimSpace(a) == "" {
					t.Errorf("%s: empty alternative name in %q", where, r["alt_names"])
				}
				all = append(all, a)
			}
		}
		for _, n := range all {
			n = strings.ToLower(n)
			if names[n] == nil {
				names[n] = map[string]bool{}
			}
			names[n][r["region"]] = true
		}
	}
	for code := range codes {
		if perRegion[code] == 0 {
			t.Errorf("no settlement in region %s", code)
		}
	}
	// What users type, current and former names in all scripts, and the
	// region each must find.
	for name, region := range map[string]string{
		"Астана": "astana", "Nur-Sultan": "astana", "Нур-Султан": "astana", "Акмола": "astana", "Akmola": "astana", "Целиноград": "astana",
		"Өскемен": "east-kazakhstan", "Oskemen": "east-kazakhstan", "Усть-Каменогорск": "east-kazakhstan", "Ust-Kamenogorsk": "east-kazakhstan",
		"Алматы": "almaty-city", "Almaty": "almaty-city", "Алма-Ата": "almaty-city", "Alma-Ata": "almaty-city",
		"Шымкент": "shymkent", "Shymkent": "shymkent", "Чимкент": "shymkent", "Chimkent": "shymkent",
		"Орал": "west-kazakhstan", "Уральск": "west-kazakhstan", "Uralsk": "west-kazakhstan", "Oral": "west-kazakhstan",
		"Қонаев": "almaty", "Капшагай": "almaty", "Kapchagay": "almaty", "Qonaev": "almaty",
		"Семей": "abai", "Семипалатинск": "abai", "Semipalatinsk": "abai", "Semey": "abai",
		"Қызылорда": "kyzylorda", "Qyzylorda": "kyzylorda", "Kyzylorda": "kyzylorda",
		"Петропавл": "north-kazakhstan", "Петропавловск": "north-kazakhstan",
		"Жезқазған": "ulytau", "Талдықорған": "zhetysu", "Ақтау": "mangystau", "Түркістан": "turkistan",
		"Ақсукент": "turkistan", "Аксукент": "turkistan", "Aksukent": "turkistan", "Белые Воды": "turkistan",
	} {
		if !names[strings.ToLower(name)][region] {
			t.Errorf("%q does not name a settlement of %s", name, region)
		}
	}
	// Namesakes in different regions, for the bot's "which region?" question.
	for _, name := range []string{"Ақсу", "Абай", "Ақтоғай", "Шалқар", "Қарабұлақ", "Жібек жолы", "Ақкөл"} {
		if n := len(names[strings.ToLower(name)]); n < 2 {
			t.Errorf("%s is in %d region(s), want namesakes in 2 or more", name, n)
		}
	}
}

var (
	kinds      = map[string]bool{"house": true, "mediation_office": true, "council_accord": true, "council_mothers": true, "association": true, "youth": true, "theatre": true}
	levels     = map[string]bool{"village": true, "district": true, "city": true, "region": true}
	ethnic     = map[string]bool{}
	phoneRe    = regexp.MustCompile(`^\+7 \d{3} \d{3} \d{2} \d{2}$`)
	sampleHead = "kind,external_id,name_kk,name_ru,name_en,region,locality,level,address_kk,address_ru,address_en,lat,lon,phone,hours,website,ethnic_group,languages"
)

func init() {
	for _, g := range strings.Fields("russian uzbek ukrainian uighur german tatar korean azerbaijani turkish dungan belarusian polish chechen kurdish tajik bashkir greek jewish armenian kyrgyz") {
		ethnic[g] = true
	}
}

func TestDirectorySample(t *testing.T) {
	codes := regionCodes(t)
	ring := border(t)
	rows := readCSV(t, "directory-sample.csv", sampleHead)
	seen := map[string]int{}
	count := map[string]int{}
	houses := map[string]bool{}
	theatres := map[string]bool{}
	councilLevels := map[string]bool{}
	groups := map[string]bool{}
	for i, r := range rows {
		line := i + 2
		where := "directory-sample.csv line " + strconv.Itoa(line)
		k := r["kind"]
		if !kinds[k] {
			t.Errorf("%s: unknown kind %q", where, k)
		}
		count[k]++
		id := k + " " + r["external_id"]
		if !strings.HasPrefix(r["external_id"], "sample-") {
			t.Errorf("%s: external id %q does not mark the row as sample", where, r["external_id"])
		}
		if first, dup := seen[id]; dup {
			t.Errorf("%s: %s already on line %d", where, id, first)
		}
		seen[id] = line
		if !codes[r["region"]] {
			t.Errorf("%s: unknown region %q", where, r["region"])
		}
		for _, c := range []string{"name_kk", "name_ru", "name_en", "locality"} {
			if strings.TrimSpace(r[c]) == "" {
				t.Errorf("%s: %s empty", where, c)
			}
		}
		council := k == "council_accord" || k == "council_mothers"
		if council != levels[r["level"]] {
			t.Errorf("%s: %s with level %q", where, k, r["level"])
		}
		if council {
			councilLevels[r["level"]] = true
		}
		switch {
		case k == "association" || k == "theatre":
			if !ethnic[r["ethnic_group"]] {
				t.Errorf("%s: %s with ethnic group %q", where, k, r["ethnic_group"])
			}
			groups[r["ethnic_group"]] = true
		case r["ethnic_group"] != "":
			t.Errorf("%s: %s with ethnic group %q", where, k, r["ethnic_group"])
		}
		for _, l := range strings.Split(r["languages"], "|") {
			if l != "kk" && l != "ru" && l != "en" {
				t.Errorf("%s: language %q", where, l)
			}
		}
		if r["phone"] != "" && !phoneRe.MatchString(r["phone"]) {
			t.Errorf("%s: phone %q is not +7 XXX XXX XX XX", where, r["phone"])
		}
		if w := r["website"]; w != "" && !strings.HasPrefix(w, "https://") {
			t.Errorf("%s: website %q", where, w)
		}
		p := point{number(t, where, r["lat"]), number(t, where, r["lon"])}
		if !inside(ring, p) {
			t.Errorf("%s: %v is outside Kazakhstan", where, p)
		}
		switch k {
		case "house":
			houses[r["region"]] = true
		case "theatre":
			theatres[r["ethnic_group"]+" "+r["locality"]] = true
		}
	}
	for code := range codes {
		if !houses[code] {
			t.Errorf("no House of Friendship in %s", code)
		}
	}
	for _, th := range []string{"uighur Almaty", "korean Almaty", "german Almaty", "uzbek Shymkent"} {
		if !theatres[th] {
			t.Errorf("no %s theatre", th)
		}
	}
	for k, min := range map[string]int{"house": 20, "mediation_office": 17, "council_accord": 55, "council_mothers": 35, "association": 55, "youth": 3, "theatre": 4} {
		if count[k] < min {
			t.Errorf("%d rows of %s, want %d or more", count[k], k, min)
		}
	}
	if len(councilLevels) != 4 {
		t.Errorf("councils at levels %v, want all four", councilLevels)
	}
	if len(groups) < 15 {
		t.Errorf("associations of %d ethnic groups, want 15 or more", len(groups))
	}
}

// The importer is tested against testdata/directory-bad.csv; its README must
// describe every line of it.
func TestBadDirectoryFileIsDescribed(t *testing.T) {
	raw, err := os.ReadFile("../testdata/directory-bad.csv")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(raw), "\ufeff"+sampleHead+"\n") {
		t.Error("directory-bad.csv does not start with a BOM and the directory header")
	}
	lines := strings.Count(string(raw), "\n")
	readme, err := os.ReadFile("../testdata/directory-bad.README")
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= lines; i++ {
		if !regexp.MustCompile(`(?m)^\s*` + strconv.Itoa(i) + `\s{2,}\S`).Match(readme) {
			t.Errorf("directory-bad.README does not describe line %d", i)
		}
	}
}
