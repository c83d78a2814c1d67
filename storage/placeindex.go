package storage

import (
	"math"
	"sort"
)

// PlaceIndex finds the places nearest to a point without looking at every
// place: each kind has a grid of cells over the area its places cover, and
// a search visits rings of cells around the point, nearest first, until no
// unvisited cell can hold a place nearer than those found.
type PlaceIndex struct {
	places []Place
	grids  map[string]*placeGrid
}

type placeGrid struct {
	minLat, minLon float64
	cell           float64 // degrees, both ways
	rows, cols     int
	maxAbsLat      float64
	start          []int32 // cell c holds items[start[c]:start[c+1]]
	items          []int32 // indexes into PlaceIndex.places
}

// NewPlaceIndex indexes places.
func NewPlaceIndex(places []Place) *PlaceIndex {
	idx := &PlaceIndex{places: places, grids: map[string]*placeGrid{}}
	byKind := map[string][]int32{}
	for i, p := range places {
		byKind[p.Kind] = append(byKind[p.Kind], int32(i))
	}
	for kind, items := range byKind {
		idx.grids[kind] = newPlaceGrid(places, items)
	}
	return idx
}

// Len is the number of places indexed.
func (idx *PlaceIndex) Len() int { return len(idx.places) }

func newPlaceGrid(places []Place, items []int32) *placeGrid {
	g := &placeGrid{minLat: math.Inf(1), minLon: math.Inf(1)}
	maxLat, maxLon := math.Inf(-1), math.Inf(-1)
	for _, i := range items {
		p := places[i]
		g.minLat, g.minLon = math.Min(g.minLat, p.Lat), math.Min(g.minLon, p.Lon)
		maxLat, maxLon = math.Max(maxLat, p.Lat), math.Max(maxLon, p.Lon)
		g.maxAbsLat = math.Max(g.maxAbsLat, math.Abs(p.Lat))
	}
	// About two places a cell on average.
	area := math.Max((maxLat-g.minLat)*(maxLon-g.minLon), 1e-6)
	g.cell = math.Min(math.Max(math.Sqrt(area*2/float64(len(items))), 0.02), 10)
	g.rows = int((maxLat-g.minLat)/g.cell) + 1
	g.cols = int((maxLon-g.minLon)/g.cell) + 1
	count := make([]int32, g.rows*g.cols+1)
	cellOf := make([]int, len(items))
	for k, i := range items {
		c := g.cellIndex(places[i].Lat, places[i].Lon)
		cellOf[k] = c
		count[c+1]++
	}
	for c := 1; c < len(count); c++ {
		count[c] += count[c-1]
	}
	g.start = count
	g.items = make([]int32, len(items))
	fill := make([]int32, g.rows*g.cols)
	for k, i := range items {
		c := cellOf[k]
		g.items[g.start[c]+fill[c]] = i
		fill[c]++
	}
	return g
}

func (g *placeGrid) cellIndex(lat, lon float64) int {
	r := min(max(int((lat-g.minLat)/g.cell), 0), g.rows-1)
	c := min(max(int((lon-g.minLon)/g.cell), 0), g.cols-1)
	return r*g.cols + c
}

// lowerBound is a distance in km that no place in ring r (or further) of
// the query point can be nearer than.
func (g *placeGrid) lowerBound(r int, qlat float64) float64 {
	if r <= 1 {
		return 0
	}
	const earth = 6371.0088
	deg := float64(r-1) * g.cell * math.Pi / 180
	byLat := earth * deg
	// sin²(d/2R) ≥ cos φ1 cos φ2 sin²(Δλ/2) ≥ cos²φmax sin²(Δλ/2).
	phiMax := math.Max(g.maxAbsLat, math.Abs(qlat)) * math.Pi / 180
	byLon := 2 * earth * math.Asin(math.Min(1, math.Cos(phiMax)*math.Sin(math.Min(deg, math.Pi)/2)))
	return math.Min(byLat, byLon)
}

// hitList keeps the n best hits (indexes into the places), sorted by
// distance then id.
type hitList struct {
	n      int
	places []Place
	hits   []hit
}

type hit struct {
	i  int32
	km float64
}

func (l *hitList) less(a, b hit) bool {
	return a.km < b.km || (a.km == b.km && l.places[a.i].ID < l.places[b.i].ID)
}

func (l *hitList) worst() float64 {
	if len(l.hits) < l.n {
		return math.Inf(1)
	}
	return l.hits[len(l.hits)-1].km
}

func (l *hitList) add(i int32, km float64) {
	h := hit{i, km}
	if len(l.hits) == l.n {
		if !l.less(h, l.hits[len(l.hits)-1]) {
			return
		}
		l.hits = l.hits[:len(l.hits)-1]
	}
	at := sort.Search(len(l.hits), func(j int) bool { return l.less(h, l.hits[j]) })
	l.hits = append(l.hits, hit{})
	copy(l.hits[at+1:], l.hits[at:])
	l.hits[at] = h
}

// result copies the hits after the first offset out.
func (l *hitList) result(offset int) []PlaceHit {
	if len(l.hits) <= offset {
		return nil
	}
	out := make([]PlaceHit, 0, len(l.hits)-offset)
	for _, h := range l.hits[offset:] {
		out = append(out, PlaceHit{Place: l.places[h.i], Km: h.km})
	}
	return out
}

func (q *PlaceQuery) keep(p *Place) bool {
	return (q.EthnicGroup == "" || p.EthnicGroup == q.EthnicGroup) && (q.Level == "" || p.Level == q.Level)
}

// Nearest returns the q.Limit places nearest to the point after the
// nearest q.Offset, nearest first; equal distances go by id.
func (idx *PlaceIndex) Nearest(q PlaceQuery) []PlaceHit {
	if q.Limit <= 0 || q.Offset < 0 {
		return nil
	}
	var buf [16]hit
	list := &hitList{n: q.Offset + q.Limit, places: idx.places, hits: buf[:0]}
	for _, kind := range q.Kinds {
		g, ok := idx.grids[kind]
		if !ok {
			continue
		}
		g.search(idx.places, &q, list)
	}
	return list.result(q.Offset)
}

func (g *placeGrid) search(places []Place, q *PlaceQuery, list *hitList) {
	qr := int(math.Floor((q.Lat - g.minLat) / g.cell))
	qc := int(math.Floor((q.Lon - g.minLon) / g.cell))
	// The ring that holds every cell of the grid.
	last := max(abs(qr), abs(g.rows-1-qr), abs(qc), abs(g.cols-1-qc))
	for r := 0; r <= last; r++ {
		if g.lowerBound(r, q.Lat) > list.worst() {
			return
		}
		for row := qr - r; row <= qr+r; row++ {
			if row < 0 || row >= g.rows {
				continue
			}
			step := 1
			if row != qr-r && row != qr+r {
				step = 2 * r // only the ring's two edge cells on inner rows
			}
			for col := qc - r; col <= qc+r; col += max(step, 1) {
				if col < 0 || col >= g.cols {
					continue
				}
				c := row*g.cols + col
				for _, i := range g.items[g.start[c]:g.start[c+1]] {
					p := &places[i]
					if !q.keep(p) {
						continue
					}
					list.add(i, DistanceKm(q.Lat, q.Lon, p.Lat, p.Lon))
				}
			}
		}
	}
}

// NearestScan is Nearest by computing the distance to every place: the
// baseline the index is measured and checked against.
func (idx *PlaceIndex) NearestScan(q PlaceQuery) []PlaceHit {
	if q.Limit <= 0 || q.Offset < 0 {
		return nil
	}
	var buf [16]hit
	list := &hitList{n: q.Offset + q.Limit, places: idx.places, hits: buf[:0]}
	for i := range idx.places {
		p := &idx.places[i]
		if !contains(q.Kinds, p.Kind) || !q.keep(p) {
			continue
		}
		list.add(int32(i), DistanceKm(q.Lat, q.Lon, p.Lat, p.Lon))
	}
	return list.result(q.Offset)
}
