package storage

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// Kinds of places of the directory.
const (
	KindHouse          = "house"
	KindMediation      = "mediation_office"
	KindCouncilAccord  = "council_accord"
	KindCouncilMothers = "council_mothers"
	KindAssociation    = "association"
	KindYouth          = "youth"
	KindTheatre        = "theatre"
)

// PlaceKinds lists every kind a place may have.
var PlaceKinds = []string{KindHouse, KindMediation, KindCouncilAccord, KindCouncilMothers, KindAssociation, KindYouth, KindTheatre}

// CouncilLevels are the levels a council works at.
var CouncilLevels = []string{"village", "district", "city", "region"}

// IsPlaceKind tells whether kind is one of PlaceKinds.
func IsPlaceKind(kind string) bool { return contains(PlaceKinds, kind) }

// IsCouncil tells whether kind is a council (which has a level).
func IsCouncil(kind string) bool { return kind == KindCouncilAccord || kind == KindCouncilMothers }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Place is one entry of the directory.
type Place struct {
	ID          int64   `db:"id"`
	Kind        string  `db:"kind"`
	ExternalID  string  `db:"external_id"`
	NameKK      string  `db:"name_kk"`
	NameRU      string  `db:"name_ru"`
	NameEN      string  `db:"name_en"`
	Region      string  `db:"region"`
	Locality    string  `db:"locality"`
	Level       string  `db:"level"`
	AddressKK   string  `db:"address_kk"`
	AddressRU   string  `db:"address_ru"`
	AddressEN   string  `db:"address_en"`
	Lat         float64 `db:"lat"`
	Lon         float64 `db:"lon"`
	Phone       string  `db:"phone"`
	Hours       string  `db:"hours"`
	Website     string  `db:"website"`
	EthnicGroup string  `db:"ethnic_group"`
	Languages   string  `db:"languages"`
	Sample      bool    `db:"sample"`
}

// Name is the place's name in lang, else in another language (Kazakh,
// Russian, English in that order).
func (p Place) Name(lang string) string {
	return pick(lang, p.NameKK, p.NameRU, p.NameEN)
}

// Address is the place's address in lang, else in another language.
func (p Place) Address(lang string) string {
	return pick(lang, p.AddressKK, p.AddressRU, p.AddressEN)
}

func pick(lang, kk, ru, en string) string {
	switch {
	case lang == "kk" && kk != "":
		return kk
	case lang == "ru" && ru != "":
		return ru
	case lang == "en" && en != "":
		return en
	}
	for _, s := range []string{kk, ru, en} {
		if s != "" {
			return s
		}
	}
	return ""
}

// LanguageList is the place's languages as a list.
func (p Place) LanguageList() []string {
	if p.Languages == "" {
		return nil
	}
	return strings.Split(p.Languages, "|")
}

// PlaceHit is a place found near a point, with its distance in km.
type PlaceHit struct {
	Place
	Km float64
}

// PlaceQuery asks for the places nearest to a point.
type PlaceQuery struct {
	Lat, Lon float64
	// Kinds are the kinds wanted (one or more).
	Kinds []string
	// EthnicGroup, when set, keeps only places of that ethnic group.
	EthnicGroup string
	// Level, when set, keeps only councils of that level.
	Level string
	// Offset skips the nearest Offset places; Limit is how many to return.
	Offset, Limit int
}

const placeColumns = `id, kind, external_id, name_kk, name_ru, name_en, region, locality, level,
	address_kk, address_ru, address_en, lat, lon, phone, hours, website, ethnic_group, languages, sample`

// Place returns the place with id.
func (db *DB) Place(ctx context.Context, id int64) (Place, error) {
	var p Place
	err := db.read.GetContext(ctx, &p, `SELECT `+placeColumns+` FROM places WHERE id = ?`, id)
	if err != nil {
		return Place{}, fmt.Errorf("storage: place %d: %w", id, isNoRows(err))
	}
	return p, nil
}

// CountPlaces is the number of places in the directory.
func (db *DB) CountPlaces(ctx context.Context) (int, error) {
	var n int
	if err := db.read.GetContext(ctx, &n, `SELECT COUNT(*) FROM places`); err != nil {
		return 0, fmt.Errorf("storage: count places: %w", err)
	}
	return n, nil
}

// allPlaces reads the whole directory.
func (db *DB) allPlaces(ctx context.Context) ([]Place, error) {
	var ps []Place
	if err := db.read.SelectContext(ctx, &ps, `SELECT `+placeColumns+` FROM places ORDER BY id`); err != nil {
		return nil, fmt.Errorf("storage: read places: %w", err)
	}
	return ps, nil
}

// placeCache holds the nearest-place index, rebuilt when an import (in
// this process or another) changed the places.
type placeCache struct {
	mu      sync.Mutex
	version int64
	index   *PlaceIndex
}

// PlaceIndex returns the in-memory index of the directory, reloading it
// when the places changed since it was built.
func (db *DB) PlaceIndex(ctx context.Context) (*PlaceIndex, error) {
	var version int64
	if err := db.read.GetContext(ctx, &version, `SELECT version FROM places_version WHERE id = 1`); err != nil {
		return nil, fmt.Errorf("storage: places version: %w", err)
	}
	db.places.mu.Lock()
	defer db.places.mu.Unlock()
	if db.places.index != nil && db.places.version == version {
		return db.places.index, nil
	}
	ps, err := db.allPlaces(ctx)
	if err != nil {
		return nil, err
	}
	db.places.index, db.places.version = NewPlaceIndex(ps), version
	return db.places.index, nil
}

// NearestPlaces returns the places of q.Kinds nearest to the point, nearest
// first, after skipping q.Offset of them, and whether more follow.
func (db *DB) NearestPlaces(ctx context.Context, q PlaceQuery) ([]PlaceHit, bool, error) {
	idx, err := db.PlaceIndex(ctx)
	if err != nil {
		return nil, false, err
	}
	limit := q.Limit
	q.Limit++
	hits := idx.Nearest(q)
	more := len(hits) > limit
	if more {
		hits = hits[:limit]
	}
	return hits, more, nil
}

// EthnicGroupsNear lists the ethnic groups of the n places of kinds
// nearest to the point, the group of the nearest place first.
func (db *DB) EthnicGroupsNear(ctx context.Context, kinds []string, lat, lon float64, n int) ([]string, error) {
	idx, err := db.PlaceIndex(ctx)
	if err != nil {
		return nil, err
	}
	var groups []string
	for _, h := range idx.Nearest(PlaceQuery{Lat: lat, Lon: lon, Kinds: kinds, Limit: n}) {
		if h.EthnicGroup != "" && !contains(groups, h.EthnicGroup) {
			groups = append(groups, h.EthnicGroup)
		}
	}
	return groups, nil
}
