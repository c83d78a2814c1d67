package storage

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"math/bits"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Region is one of Kazakhstan's 17 regions or 3 cities of republican
// significance.
type Region struct {
	Code string
	Name map[string]string // by language: kk, ru, en
	// Center is the English name of its main town (RegionCenter).
	Center string
}

// Settlement is a town or village of the gazetteer.
type Settlement struct {
	ID         int64
	Name       map[string]string // by language: kk, ru, en
	AltNames   []string          // former and other names, any script
	Region     string            // Region.Code
	Lat, Lon   float64
	Population int
}

// Match is a settlement found for a typed name; Distance is the number of
// edits between what was typed and the name (0 for an exact match).
type Match struct {
	Settlement
	Distance int
}

// Gazetteer finds settlements by typed name and regions by coordinates.
type Gazetteer struct {
	regions     []Region
	regionIndex map[string]int
	settlements []Settlement
	byID        map[int64]int
	// names holds every name of every settlement, folded by foldName.
	names  []gazName
	exact  map[string][]int // folded name → indexes into names
	border [][2]float64     // lat, lon of the border polygon; nil: bounding box
}

type gazName struct {
	folded     []rune
	settlement int
	// letters has a bit for each letter of folded (runeBit).
	letters uint64
}

// runeBit is the bit of r in a set of letters: the letters of two names
// differ in at least as many bits as edits turn one into the other need
// (letters sharing a bit only hide differences), so a name whose bits
// differ from the query's in more than the allowed edits is passed over
// without computing its distance.
func runeBit(r rune) uint64 { return 1 << (uint32(r) * 2654435761 >> 26) }

func lettersOf(rs []rune) uint64 {
	var m uint64
	for _, r := range rs {
		m |= runeBit(r)
	}
	return m
}

// LoadGazetteer reads the regions and settlements CSV files (data/regions.csv,
// data/gazetteer.csv).
func LoadGazetteer(regions, settlements io.Reader) (*Gazetteer, error) {
	g := &Gazetteer{regionIndex: map[string]int{}, byID: map[int64]int{}, exact: map[string][]int{}}
	rows, err := readCSV(regions)
	if err != nil {
		return nil, fmt.Errorf("gazetteer: regions: %w", err)
	}
	for _, row := range rows {
		g.regionIndex[row["code"]] = len(g.regions)
		g.regions = append(g.regions, Region{Code: row["code"], Name: map[string]string{
			"kk": row["name_kk"], "ru": row["name_ru"], "en": row["name_en"]}, Center: row["center_en"]})
	}
	rows, err = readCSV(settlements)
	if err != nil {
		return nil, fmt.Errorf("gazetteer: settlements: %w", err)
	}
	for i, row := range rows {
		s := Settlement{Region: row["region"], Name: map[string]string{
			"kk": row["name_kk"], "ru": row["name_ru"], "en": row["name_en"]}}
		s.ID, _ = strconv.ParseInt(row["id"], 10, 64)
		s.Lat, err = strconv.ParseFloat(row["lat"], 64)
		if err != nil {
			return nil, fmt.Errorf("gazetteer: line %d: lat: %w", i+2, err)
		}
		s.Lon, err = strconv.ParseFloat(row["lon"], 64)
		if err != nil {
			return nil, fmt.Errorf("gazetteer: line %d: lon: %w", i+2, err)
		}
		s.Population, _ = strconv.Atoi(row["population"])
		if row["alt_names"] != "" {
			s.AltNames = strings.Split(row["alt_names"], "|")
		}
		if _, ok := g.regionIndex[s.Region]; !ok {
			return nil, fmt.Errorf("gazetteer: line %d: unknown region %q", i+2, s.Region)
		}
		g.add(s)
	}
	return g, nil
}

// add indexes settlement s under each of its names.
func (g *Gazetteer) add(s Settlement) {
	idx := len(g.settlements)
	g.settlements = append(g.settlements, s)
	if s.ID != 0 {
		g.byID[s.ID] = idx
	}
	seen := map[string]bool{}
	for _, n := range append([]string{s.Name["kk"], s.Name["ru"], s.Name["en"]}, s.AltNames...) {
		f := foldName(n)
		if f == "" || seen[f] {
			continue
		}
		seen[f] = true
		g.exact[f] = append(g.exact[f], len(g.names))
		rs := []rune(f)
		g.names = append(g.names, gazName{folded: rs, settlement: idx, letters: lettersOf(rs)})
	}
}

func readCSV(r io.Reader) ([]map[string]string, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err != nil {
		return nil, err
	}
	for i := range header {
		header[i] = strings.TrimSpace(strings.TrimPrefix(header[i], "\ufeff"))
	}
	var out []map[string]string
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		row := make(map[string]string, len(header))
		for i, h := range header {
			row[h] = strings.TrimSpace(rec[i])
		}
		out = append(out, row)
	}
}

// Regions lists every region.
func (g *Gazetteer) Regions() []Region { return g.regions }

// Region returns the region with code.
func (g *Gazetteer) Region(code string) (Region, bool) {
	i, ok := g.regionIndex[code]
	if !ok {
		return Region{}, false
	}
	return g.regions[i], true
}

// RegionCenter is the main town of region code (regions.csv) among the
// settlements, if the gazetteer has it.
func (g *Gazetteer) RegionCenter(code string) (Settlement, bool) {
	reg, ok := g.Region(code)
	if !ok || reg.Center == "" {
		return Settlement{}, false
	}
	for _, m := range g.Exact(reg.Center, 10) {
		if m.Region == code {
			return m.Settlement, true
		}
	}
	return Settlement{}, false
}

// Settlement returns the settlement with GeoNames id.
func (g *Gazetteer) Settlement(id int64) (Settlement, bool) {
	i, ok := g.byID[id]
	if !ok {
		return Settlement{}, false
	}
	return g.settlements[i], true
}

// Len is the number of settlements.
func (g *Gazetteer) Len() int { return len(g.settlements) }

// lookalikes folds Kazakh letters to the Russian letters people type for
// them on a Russian keyboard, and ё to е.
var lookalikes = strings.NewReplacer(
	"ә", "а", "қ", "к", "ң", "н", "ғ", "г", "ү", "у", "ұ", "у", "ө", "о", "і", "и", "һ", "х",
	"ё", "е", "й", "и",
)

// foldName reduces a place name to the form names are compared in: NFC,
// lower case, Kazakh letters as their Russian look-alikes, Latin letters
// without accents, and no spaces, hyphens, apostrophes or dots
// ("Алма-Ата" and "алмаата", "Өскемен" and "Оскемен" fold alike).
func foldName(s string) string {
	s = norm.NFD.String(strings.ToLower(s))
	var b strings.Builder
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Mn, r):
			// Accents of Latin letters (é, ü): dropped. Cyrillic й and ё
			// decompose too; both fold to и and е.
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return lookalikes.Replace(norm.NFC.String(b.String()))
}

// settlementWords name a kind of settlement around a typed name, in
// Kazakh, Russian and English, folded.
var settlementWords = map[string]bool{}

func init() {
	for _, w := range []string{"қаласы", "қ", "ауылы", "ауыл", "кенті", "кент",
		"город", "г", "гор", "село", "с", "посёлок", "поселок", "пос", "п", "аул", "станция", "ст",
		"city", "town", "village"} {
		settlementWords[foldName(w)] = true
	}
}

// districtWords name a district (аудан, район), folded: the gazetteer
// knows settlements, and a district named after a town or village
// ("Сайрам ауданы", "Сайрамский район") finds that place, as a suggestion
// (districtDistance).
var districtWords = map[string]bool{}

func init() {
	for _, w := range []string{"ауданы", "аудан", "ауд", "район", "р-н", "рн", "district"} {
		districtWords[foldName(w)] = true
	}
}

// districtDistance is the Distance of a place found through a district's
// name ("Сайрамский район": Сайрам), as of a name two typos away.
const districtDistance = 2

// NamesDistrict tells whether a typed place names a district ("Толебийский
// район", "Төлеби ауданы", "Tole Bi district").
func NamesDistrict(s string) bool {
	s, _, _ = strings.Cut(s, ",")
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == '.' }) {
		if districtWords[foldName(w)] {
			return true
		}
	}
	return false
}

// districtAdjective is the Russian ending of a district's adjective
// ("Сайрамский", "Сарыагашский"), folded: without it, the name of the
// place the district is named after.
var districtAdjective = []string{"скии", "ская", "ское"}

// bareName is a typed place name without what follows a comma and without
// the words naming a kind of settlement or a district: "Сайрам ауылы,
// Түркістан облысы" is "Сайрам", "г. Караганда" is "Караганда",
// "Сайрамский район" is "Сайрам".
func bareName(s string) string {
	s, _, _ = strings.Cut(s, ",")
	var kept []string
	district := false
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == '.' }) {
		switch f := foldName(w); {
		case districtWords[f]:
			district = true
		case !settlementWords[f]:
			kept = append(kept, w)
		}
	}
	if district && len(kept) == 1 {
		for _, end := range districtAdjective {
			if stem, ok := strings.CutSuffix(foldName(kept[0]), end); ok && len([]rune(stem)) >= 3 {
				return stem
			}
		}
	}
	return strings.Join(kept, " ")
}

// maxEdits is how many typos a name of n letters tolerates.
func maxEdits(n int) int {
	switch {
	case n <= 3:
		return 0
	case n <= 6:
		return 1
	default:
		return 2
	}
}

// Search returns up to limit settlements whose name matches query, best
// first: exact matches (after folding case, script variants and Kazakh
// look-alike letters) before matches with one or two typos, and among
// equals the bigger population first. Every name counts, Kazakh, Russian,
// English and former.
func (g *Gazetteer) Search(query string, limit int) []Match {
	return g.search(query, limit, -1)
}

// Exact returns up to limit settlements whose name is query (after
// folding, as Search), the bigger population first: Search without typos.
func (g *Gazetteer) Exact(query string, limit int) []Match {
	return g.search(query, limit, 0)
}

// Suggest returns up to limit settlements whose names are closest to
// query, allowing more typos than Search; it is what an unknown name is
// answered with. A query always keeps two of its letters: "да" or "ok"
// typed where a town is asked suggests nothing rather than every town of
// two or three letters (Шу, Аса, Шар, Орал, Арал), and "Сыр" only names
// one edit away.
func (g *Gazetteer) Suggest(query string, limit int) []Match {
	q := []rune(foldName(query))
	return g.search(query, limit, max(0, min(max(3, len(q)/2), len(q)-2)))
}

func (g *Gazetteer) search(query string, limit, edits int) []Match {
	fq := foldName(query)
	// "Шымкент қаласы", "село Сайрам", "Караганда, Казахстан",
	// "Сайрамский район": the name without the kind of settlement or
	// district and what follows a comma, when the whole has no exact match
	// (and its typos too: "Карагнда, Казахстан").
	district := false
	if len(g.exact[fq]) == 0 {
		if bare := foldName(bareName(query)); bare != "" {
			fq, district = bare, NamesDistrict(query)
		}
	}
	if fq == "" || limit <= 0 {
		return nil
	}
	q := []rune(fq)
	if edits < 0 {
		edits = maxEdits(len(q))
	}
	best := map[int]int{} // settlement → fewest edits
	for _, i := range g.exact[fq] {
		best[g.names[i].settlement] = 0
	}
	if edits > 0 {
		ql := lettersOf(q)
		for _, n := range g.names {
			if abs(len(n.folded)-len(q)) > edits {
				continue
			}
			// Each letter of one name missing from the other takes an edit.
			if bits.OnesCount64(ql&^n.letters) > edits || bits.OnesCount64(n.letters&^ql) > edits {
				continue
			}
			if d, ok := best[n.settlement]; ok && d == 0 {
				continue
			}
			d := editDistance(q, n.folded, edits)
			if d > edits {
				continue
			}
			if old, ok := best[n.settlement]; !ok || d < old {
				best[n.settlement] = d
			}
		}
	}
	out := make([]Match, 0, len(best))
	for i, d := range best {
		if district {
			// A district is named after a town that may be elsewhere
			// (Astana's Есиль district, the town of Есиль in Akmola): a
			// place found through a district's name is a suggestion, as
			// one two typos away, never taken at once.
			d = max(d, districtDistance)
		}
		out = append(out, Match{Settlement: g.settlements[i], Distance: d})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Distance != b.Distance {
			return a.Distance < b.Distance
		}
		if a.Population != b.Population {
			return a.Population > b.Population
		}
		return a.ID < b.ID
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// editDistance is the optimal-string-alignment distance between a and b
// (insertions, deletions, substitutions and swaps of neighbours), or a
// number above limit once it is certain to exceed it.
//
// Its rows are int32 on the stack (768 bytes, not 1.5 KB): it runs deep in
// a worker's stack, which is to stay within Go's first 8 KB
// (docs/BENCHMARKS.md, twelfth round). Names are far shorter than 2^31.
func editDistance(a, b []rune, limit int) int {
	if len(a) > len(b) {
		a, b = b, a
	}
	var buf [3][64]int32
	var prev2, prev, cur []int32
	if len(a)+1 <= 64 {
		prev2, prev, cur = buf[0][:len(a)+1], buf[1][:len(a)+1], buf[2][:len(a)+1]
	} else {
		prev2, prev, cur = make([]int32, len(a)+1), make([]int32, len(a)+1), make([]int32, len(a)+1)
	}
	for i := range prev {
		prev[i] = int32(i)
	}
	for j := 1; j <= len(b); j++ {
		cur[0] = int32(j)
		rowMin := cur[0]
		for i := 1; i <= len(a); i++ {
			var cost int32 = 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[i]+1, cur[i-1]+1, prev[i-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[i-2]+1)
			}
			cur[i] = v
			rowMin = min(rowMin, v)
		}
		if int(rowMin) > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return int(prev[len(a)])
}

// SameName tells whether two settlements share a name in some language
// (folded as Search folds names): they are namesakes.
func SameName(a, b Settlement) bool {
	for _, l := range []string{"kk", "ru", "en"} {
		if a.Name[l] != "" && foldName(a.Name[l]) == foldName(b.Name[l]) {
			return true
		}
	}
	return false
}

// Nearest returns the settlement nearest to the point and its distance in km.
func (g *Gazetteer) Nearest(lat, lon float64) (Settlement, float64) {
	best, bestD := Settlement{}, math.Inf(1)
	for _, s := range g.settlements {
		if d := DistanceKm(lat, lon, s.Lat, s.Lon); d < bestD {
			best, bestD = s, d
		}
	}
	return best, bestD
}

// NearestInRegion returns the settlement of region nearest to the point and
// its distance in km; ok is false when the region has no settlement.
func (g *Gazetteer) NearestInRegion(region string, lat, lon float64) (s Settlement, km float64, ok bool) {
	km = math.Inf(1)
	for _, c := range g.settlements {
		if c.Region != region {
			continue
		}
		if d := DistanceKm(lat, lon, c.Lat, c.Lon); d < km {
			s, km, ok = c, d, true
		}
	}
	return s, km, ok
}

// LoadBorder reads Kazakhstan's border polygon (CSV with header lat,lon,
// one vertex a line, data/kazakhstan.csv); InKazakhstan then tests points
// against it instead of the bounding box.
func (g *Gazetteer) LoadBorder(r io.Reader) error {
	rows, err := readCSV(r)
	if err != nil {
		return fmt.Errorf("gazetteer: border: %w", err)
	}
	var poly [][2]float64
	for i, row := range rows {
		lat, err1 := strconv.ParseFloat(row["lat"], 64)
		lon, err2 := strconv.ParseFloat(row["lon"], 64)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("gazetteer: border: line %d: bad coordinates", i+2)
		}
		poly = append(poly, [2]float64{lat, lon})
	}
	if len(poly) < 3 {
		return fmt.Errorf("gazetteer: border: %d points, need 3 or more", len(poly))
	}
	g.border = poly
	return nil
}

// HasBorder tells whether the border polygon is loaded.
func (g *Gazetteer) HasBorder() bool { return g != nil && len(g.border) > 0 }

// InKazakhstan tells whether the point lies inside Kazakhstan: inside the
// border polygon when it is loaded, otherwise inside the bounding box.
func (g *Gazetteer) InKazakhstan(lat, lon float64) bool {
	if !InKazakhstan(lat, lon) {
		return false
	}
	if !g.HasBorder() {
		return true
	}
	return inPolygon(g.border, lat, lon)
}

// BorderSlackKm is how far outside the outline of Kazakhstan's border
// (data/kazakhstan.csv, accurate to a few km) a point still counts as
// Kazakhstan's where a person or a file gives it (OnKazakhstanSide): towns
// on the border, such as Zhibek Zholy, lie partly outside the outline.
const BorderSlackKm = 5

// OnKazakhstanSide tells whether the point is in Kazakhstan or within
// BorderSlackKm outside the outline of its border: a location shared in a
// town on the border, taken as the town's.
func (g *Gazetteer) OnKazakhstanSide(lat, lon float64) bool {
	return g.InKazakhstan(lat, lon) || InKazakhstan(lat, lon) && g.KmOutsideBorder(lat, lon) <= BorderSlackKm
}

// KmOutsideBorder is how far, in km, a point outside the border polygon
// lies from it (0 inside, or with no polygon loaded): the outline is
// accurate to a few km, so a place a little outside it may be a town on
// the border.
func (g *Gazetteer) KmOutsideBorder(lat, lon float64) float64 {
	if !g.HasBorder() || inPolygon(g.border, lat, lon) {
		return 0
	}
	// Each edge in a plane around the point (km east, km north): fine for
	// the few km this is asked about.
	kx, ky := 111.32*math.Cos(lat*math.Pi/180), 110.57
	best := math.Inf(1)
	for i, j := 0, len(g.border)-1; i < len(g.border); j, i = i, i+1 {
		ax, ay := (g.border[j][1]-lon)*kx, (g.border[j][0]-lat)*ky
		bx, by := (g.border[i][1]-lon)*kx, (g.border[i][0]-lat)*ky
		dx, dy := bx-ax, by-ay
		t := 0.0
		if l := dx*dx + dy*dy; l > 0 {
			t = math.Max(0, math.Min(1, -(ax*dx+ay*dy)/l))
		}
		best = math.Min(best, math.Hypot(ax+t*dx, ay+t*dy))
	}
	return best
}

// inPolygon is the even-odd rule: a ray from the point crosses the
// polygon's edges an odd number of times when the point is inside.
func inPolygon(poly [][2]float64, lat, lon float64) bool {
	in := false
	for i, j := 0, len(poly)-1; i < len(poly); j, i = i, i+1 {
		yi, xi := poly[i][0], poly[i][1]
		yj, xj := poly[j][0], poly[j][1]
		if (yi > lat) != (yj > lat) && lon < (xj-xi)*(lat-yi)/(yj-yi)+xi {
			in = !in
		}
	}
	return in
}

// InKazakhstan tells whether the point lies inside Kazakhstan's bounding
// box: a quick check that needs no data. Gazetteer.InKazakhstan checks the
// border itself.
func InKazakhstan(lat, lon float64) bool {
	return lat >= 40.5 && lat <= 55.5 && lon >= 46.4 && lon <= 87.4
}

// DistanceKm is the great-circle distance between two points in kilometres.
func DistanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0088
	p1, p2 := lat1*math.Pi/180, lat2*math.Pi/180
	dp, dl := p2-p1, (lon2-lon1)*math.Pi/180
	a := math.Sin(dp/2)*math.Sin(dp/2) + math.Cos(p1)*math.Cos(p2)*math.Sin(dl/2)*math.Sin(dl/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(a)))
}
