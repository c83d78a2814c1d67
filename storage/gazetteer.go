package storage

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Region is one of Kazakhstan's 17 regions or 3 cities of republican
// significance.
type Region struct {
	Code string
	Name map[string]string // by language: kk, ru, en
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
}

// LoadGazetteer reads the regions and settlements CSV files (data/regions.csv,
// data/gazetteer.csv).
func LoadGazetteer(regions, settlements io.Reader) (*Gazetteer, error) {
	g := &Gazetteer{regionIndex: map[string]int{}}
	rows, err := readCSV(regions)
	if err != nil {
		return nil, fmt.Errorf("gazetteer: regions: %w", err)
	}
	for _, row := range rows {
		g.regionIndex[row["code"]] = len(g.regions)
		g.regions = append(g.regions, Region{Code: row["code"], Name: map[string]string{
			"kk": row["name_kk"], "ru": row["name_ru"], "en": row["name_en"]}})
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
		g.settlements = append(g.settlements, s)
	}
	return g, nil
}

func readCSV(r io.Reader) ([]map[string]string, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err != nil {
		return nil, err
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

// Search returns up to limit settlements whose name matches query, best
// first. (Placeholder: exact case-insensitive names only.)
func (g *Gazetteer) Search(query string, limit int) []Match {
	q := strings.ToLower(strings.TrimSpace(query))
	var out []Match
	for _, s := range g.settlements {
		names := append([]string{s.Name["kk"], s.Name["ru"], s.Name["en"]}, s.AltNames...)
		for _, n := range names {
			if strings.ToLower(n) == q {
				out = append(out, Match{Settlement: s})
				break
			}
		}
		if len(out) == limit {
			break
		}
	}
	return out
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

// InKazakhstan tells whether the point lies inside Kazakhstan (placeholder:
// the bounding box).
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
