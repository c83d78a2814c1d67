package storage_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/dostyq/dostyq/storage"
	"github.com/dostyq/dostyq/storage/storagetest"
)

// randomPlaces spreads n places of the given kinds over Kazakhstan's
// bounding box, some of them on exactly the same spot (ties).
func randomPlaces(rng *rand.Rand, n int, kinds []string) []storage.Place {
	ps := make([]storage.Place, n)
	groups := []string{"russian", "uzbek", "korean", "german", ""}
	for i := range ps {
		ps[i] = storage.Place{ID: int64(i + 1), Kind: kinds[rng.IntN(len(kinds))],
			Lat: 40.6 + rng.Float64()*14.8, Lon: 46.5 + rng.Float64()*40.8,
			EthnicGroup: groups[rng.IntN(len(groups))]}
		if storage.IsCouncil(ps[i].Kind) {
			ps[i].Level = storage.CouncilLevels[rng.IntN(len(storage.CouncilLevels))]
		}
		if i > 0 && rng.IntN(20) == 0 {
			ps[i].Lat, ps[i].Lon = ps[i-1].Lat, ps[i-1].Lon // a tie
		}
	}
	return ps
}

func TestNearestIsTheTrueNearest(t *testing.T) {
	storagetest.OnePass(t)
	rng := rand.New(rand.NewPCG(1, 2))
	kinds := []string{storage.KindHouse, storage.KindCouncilAccord, storage.KindAssociation}
	for _, n := range []int{1, 7, 40, 3000} {
		idx := storage.NewPlaceIndex(randomPlaces(rng, n, kinds))
		points := [][2]float64{
			{43.2389, 76.8897}, {55.4, 70.4}, {40.6, 68.5}, {49.2, 87.3}, {46.6, 49.0}, // near the borders
			{0, 0}, {-33.9, 151.2}, {64.1, -21.9}, {51.5, -0.1}, // far away
		}
		for range 200 {
			points = append(points, [2]float64{40 + rng.Float64()*16, 46 + rng.Float64()*42})
		}
		for _, pt := range points {
			for _, q := range []storage.PlaceQuery{
				{Kinds: []string{storage.KindHouse}, Limit: 5},
				{Kinds: []string{storage.KindCouncilAccord}, Offset: 5, Limit: 5},
				{Kinds: []string{storage.KindAssociation, storage.KindHouse}, Limit: 10},
				{Kinds: []string{storage.KindAssociation}, EthnicGroup: "korean", Limit: 5},
				{Kinds: []string{storage.KindCouncilAccord}, Level: "district", Limit: 5},
			} {
				q.Lat, q.Lon = pt[0], pt[1]
				got, want := idx.Nearest(q), idx.NearestScan(q)
				if fmt.Sprint(ids(got)) != fmt.Sprint(ids(want)) {
					t.Fatalf("n=%d %+v: index %v, brute force %v", n, q, ids(got), ids(want))
				}
			}
		}
	}
}

func TestNearestTiesGoByID(t *testing.T) {
	ps := []storage.Place{
		{ID: 3, Kind: storage.KindHouse, Lat: 45, Lon: 70},
		{ID: 1, Kind: storage.KindHouse, Lat: 45, Lon: 70},
		{ID: 2, Kind: storage.KindHouse, Lat: 45, Lon: 70},
		{ID: 4, Kind: storage.KindHouse, Lat: 45, Lon: 71},
	}
	got := ids(storage.NewPlaceIndex(ps).Nearest(storage.PlaceQuery{Kinds: []string{storage.KindHouse}, Lat: 44, Lon: 70, Limit: 3}))
	if fmt.Sprint(got) != "[1 2 3]" {
		t.Errorf("ties: %v, want [1 2 3]", got)
	}
}

func ids(hs []storage.PlaceHit) []int64 {
	out := make([]int64, len(hs))
	for i, h := range hs {
		out[i] = h.ID
	}
	return out
}

// BenchmarkNearest: 10,000 places of seven kinds, 10,000 random query
// points in Kazakhstan, the 5 nearest of one kind. The index against a full
// scan, in the same run (docs/BENCHMARKS.md).
func BenchmarkNearest(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 7))
	places := randomPlaces(rng, 10000, storage.PlaceKinds)
	idx := storage.NewPlaceIndex(places)
	g := testGazetteer(b)
	points := make([][2]float64, 0, 10000)
	for len(points) < cap(points) {
		lat, lon := 40.6+rng.Float64()*14.8, 46.5+rng.Float64()*40.8
		if g.InKazakhstan(lat, lon) {
			points = append(points, [2]float64{lat, lon})
		}
	}
	for _, kind := range []string{storage.KindHouse, storage.KindCouncilAccord} {
		for _, m := range []struct {
			name string
			fn   func(storage.PlaceQuery) []storage.PlaceHit
		}{{"index", idx.Nearest}, {"scan", idx.NearestScan}} {
			b.Run(m.name+"/"+kind, func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					pt := points[i%len(points)]
					i++
					m.fn(storage.PlaceQuery{Kinds: []string{kind}, Lat: pt[0], Lon: pt[1], Limit: 5})
				}
			})
		}
	}
}

// BenchmarkNearestPlaces is the whole query as the bot runs it: the
// version check in SQLite, then the index.
func BenchmarkNearestPlaces(b *testing.B) {
	db := openTestDB(b)
	g := testGazetteer(b)
	rng := rand.New(rand.NewPCG(7, 7))
	var csv []byte
	csv = append(csv, "kind,external_id,name_kk,name_ru,name_en,region,locality,level,address_kk,address_ru,address_en,lat,lon,phone,hours,website,ethnic_group,languages\n"...)
	for i := range 10000 {
		kind := storage.PlaceKinds[i%len(storage.PlaceKinds)]
		level := ""
		if storage.IsCouncil(kind) {
			level = "village"
		}
		for {
			lat, lon := 40.6+rng.Float64()*14.8, 46.5+rng.Float64()*40.8
			if g.InKazakhstan(lat, lon) {
				csv = fmt.Appendf(csv, "%s,x%d,Атауы %d,,,astana,,%s,,,,%.5f,%.5f,,,,,\n", kind, i, i, level, lat, lon)
				break
			}
		}
	}
	if _, err := db.ImportPlaces(context.Background(), bytesReader(csv), g, storage.ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		_, _, err := db.NearestPlaces(context.Background(), storage.PlaceQuery{Kinds: []string{storage.KindHouse},
			Lat: 40.6 + float64(i%148)/10, Lon: 46.5 + float64(i%408)/10, Limit: 5})
		if err != nil {
			b.Fatal(err)
		}
	}
}
