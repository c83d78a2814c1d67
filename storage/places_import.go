package storage

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ImportColumns are the columns of a directory CSV file, in the documented
// order (docs/DIRECTORY.md). Their order in a file may differ; "sample" is
// optional.
var ImportColumns = []string{"kind", "external_id", "name_kk", "name_ru", "name_en", "region", "locality", "level",
	"address_kk", "address_ru", "address_en", "lat", "lon", "phone", "hours", "website", "ethnic_group", "languages"}

// ImportOptions change what ImportPlaces writes.
type ImportOptions struct {
	// DryRun checks the file and reports what would change, writing nothing.
	DryRun bool
	// SkipInvalid imports the valid rows of a file that has invalid ones;
	// without it a file with any invalid row writes nothing.
	SkipInvalid bool
	// Replace removes the places that are not in the file. It needs a file
	// without invalid rows, even with SkipInvalid.
	Replace bool
	// Sample marks every row as sample data.
	Sample bool
}

// ImportProblem is an invalid row (or the header, line 1) of a file, or a
// warning about a row that is imported all the same.
type ImportProblem struct {
	Line     int
	LastLine int    // the row's last line when it ran over several (a quoted cell holding a line break), else 0
	Column   string // empty when the problem is the whole row
	Reason   string
}

func (p ImportProblem) String() string {
	where := fmt.Sprintf("line %d", p.Line)
	if p.LastLine > p.Line {
		where = fmt.Sprintf("lines %d-%d", p.Line, p.LastLine)
	}
	if p.Column == "" {
		return fmt.Sprintf("%s: %s", where, p.Reason)
	}
	return fmt.Sprintf("%s, column %s: %s", where, p.Column, p.Reason)
}

// ImportResult tells what an import found and did.
type ImportResult struct {
	Rows      int // data rows read
	Added     int
	Updated   int
	Unchanged int
	// Removed are the places not in the file, with Replace, and the second
	// of two places whose ids differ only in case (a warning names each).
	Removed int
	// SampleRemoved are the sample places an import of the real directory
	// (neither Sample nor Replace) removed.
	SampleRemoved int
	Rejected      int // invalid rows
	Problems      []ImportProblem
	// Warnings are about rows imported as written that look wrong: a
	// point far from every town of its region or from its locality, one
	// place under two ids, a made-up phone number.
	Warnings []ImportProblem
	// Written is true when the database was changed.
	Written bool
}

// ErrInvalidFile is returned (wrapped) when a file has invalid rows and
// ImportOptions.SkipInvalid is not set; nothing is written.
var ErrInvalidFile = errors.New("nothing imported")

// PlaceChecker knows the regions, Kazakhstan's border and the towns of
// each region by name and place: *Gazetteer.
type PlaceChecker interface {
	Region(code string) (Region, bool)
	Regions() []Region
	InKazakhstan(lat, lon float64) bool
	OnKazakhstanSide(lat, lon float64) bool
	KmOutsideBorder(lat, lon float64) float64
	Nearest(lat, lon float64) (Settlement, float64)
	NearestInRegion(region string, lat, lon float64) (Settlement, float64, bool)
	Exact(name string, limit int) []Match
}

// ImportPlaces reads a directory CSV file, checks every row and, when all
// rows are valid (or SkipInvalid is set), upserts them by kind and external
// id in one transaction. An import of the real directory (neither Sample
// nor Replace) removes the sample places in the same transaction, so that
// the bot stops saying its data is a sample.
func (db *DB) ImportPlaces(ctx context.Context, r io.Reader, check PlaceChecker, opt ImportOptions) (ImportResult, error) {
	places, lines, res, err := parsePlaces(r, check)
	if err != nil {
		return res, err
	}
	if opt.Sample {
		for i := range places {
			places[i].Sample = true
		}
	}
	if res.Rejected > 0 && (!opt.SkipInvalid || opt.Replace) {
		// With Replace, a skipped row would remove its place: never.
		return res, fmt.Errorf("import: %d invalid %s: %w", res.Rejected, plural(res.Rejected, "row", "rows"), ErrInvalidFile)
	}
	if opt.Replace && len(places) == 0 {
		// A header alone would empty the directory, and the next start
		// would fill it with the sample places.
		return res, errors.New("import: --replace with a file of no places would remove the whole directory; nothing was changed")
	}
	// A file of sample rows alone (ids "sample-…") is no real directory:
	// the sample places stay.
	removeSample := !opt.Sample && !opt.Replace && slices.ContainsFunc(places, func(p Place) bool { return !p.Sample })
	err = db.inTx(ctx, func(tx *sqlTx) error {
		if err := upsertPlaces(ctx, tx, places, lines, opt.Replace, removeSample, db.now().UTC(), &res); err != nil {
			return err
		}
		if opt.DryRun {
			return errDryRun
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("import: %w", err)
	}
	res.Written = res.Added+res.Updated+res.Removed+res.SampleRemoved > 0
	return res, nil
}

var errDryRun = errors.New("dry run")

// upsertPlaces writes places (read from lines of the file) over the
// directory. A place is found by kind and external id whatever the id's
// case, as files before ids were folded to lower case may have written
// it: the place is kept, its id written in lower case, and a second place
// whose id differs only in case is removed. With replace, the places not
// in the file are removed; with removeSample, the sample places not in it.
func upsertPlaces(ctx context.Context, tx *sqlTx, places []Place, lines []int, replace, removeSample bool, now time.Time, res *ImportResult) error {
	var existing []Place
	if err := tx.SelectContext(ctx, &existing, `SELECT `+placeColumns+` FROM places ORDER BY id`); err != nil {
		return err
	}
	type key struct{ kind, ext string }
	old := make(map[key][]Place, len(existing))
	for _, p := range existing {
		k := key{p.Kind, strings.ToLower(p.ExternalID)}
		old[k] = append(old[k], p)
	}
	remove := func(o Place) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM places WHERE id = ?`, o.ID); err != nil {
			return fmt.Errorf("remove place %d: %w", o.ID, err)
		}
		return nil
	}
	seen := make(map[key]bool, len(places))
	for i, p := range places {
		k := key{p.Kind, p.ExternalID}
		seen[k] = true
		if olds := old[k]; len(olds) > 0 {
			// The place spelled as the file spells it is kept, else the
			// oldest; the others are the same place imported twice.
			keep := max(0, slices.IndexFunc(olds, func(o Place) bool { return o.ExternalID == p.ExternalID }))
			for j, o := range olds {
				if j == keep {
					continue
				}
				if err := remove(o); err != nil {
					return err
				}
				res.Removed++
				res.Warnings = append(res.Warnings, ImportProblem{Line: lines[i], Column: "external_id", Reason: fmt.Sprintf(
					"%s %q was in the directory twice, as %q and %q (ids are the same whatever their case): one place now, the other removed",
					p.Kind, p.ExternalID, olds[keep].ExternalID, o.ExternalID)})
			}
			o := olds[keep]
			p.ID = o.ID
			if o == p {
				res.Unchanged++
				continue
			}
			if o.ExternalID != p.ExternalID {
				if _, err := tx.ExecContext(ctx, `UPDATE places SET external_id = ? WHERE id = ?`, p.ExternalID, o.ID); err != nil {
					return fmt.Errorf("rename %s %s: %w", o.Kind, o.ExternalID, err)
				}
			}
			res.Updated++
		} else {
			res.Added++
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO places (kind, external_id, name_kk, name_ru, name_en, region, locality, level,
			address_kk, address_ru, address_en, lat, lon, phone, hours, website, ethnic_group, languages, sample, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (kind, external_id) DO UPDATE SET name_kk = excluded.name_kk, name_ru = excluded.name_ru,
			name_en = excluded.name_en, region = excluded.region, locality = excluded.locality, level = excluded.level,
			address_kk = excluded.address_kk, address_ru = excluded.address_ru, address_en = excluded.address_en,
			lat = excluded.lat, lon = excluded.lon, phone = excluded.phone, hours = excluded.hours,
			website = excluded.website, ethnic_group = excluded.ethnic_group, languages = excluded.languages,
			sample = excluded.sample, updated_at = excluded.updated_at`,
			p.Kind, p.ExternalID, p.NameKK, p.NameRU, p.NameEN, p.Region, p.Locality, p.Level,
			p.AddressKK, p.AddressRU, p.AddressEN, p.Lat, p.Lon, p.Phone, p.Hours, p.Website, p.EthnicGroup, p.Languages, p.Sample, now)
		if err != nil {
			return fmt.Errorf("upsert %s %s: %w", p.Kind, p.ExternalID, err)
		}
	}
	for k, olds := range old {
		if seen[k] {
			continue
		}
		for _, o := range olds {
			switch {
			case replace:
				res.Removed++
			case removeSample && o.Sample:
				res.SampleRemoved++
			default:
				continue
			}
			if err := remove(o); err != nil {
				return err
			}
		}
	}
	if res.Added+res.Updated+res.Removed+res.SampleRemoved > 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE places_version SET version = version + 1 WHERE id = 1`); err != nil {
			return err
		}
	}
	return nil
}

var (
	externalIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$`)
	codeRe       = regexp.MustCompile(`^[a-z][a-z_]{1,19}$`)
	langRe       = regexp.MustCompile(`^[a-z]{2,3}$`)
)

// ParsePlaces reads and checks a directory CSV file. It returns the valid
// places and the problems found, each with its line; err is set only when
// the file cannot be read at all (no header, unknown delimiter).
func ParsePlaces(r io.Reader, check PlaceChecker) ([]Place, ImportResult, error) {
	places, _, res, err := parsePlaces(r, check)
	return places, res, err
}

// parsePlaces is ParsePlaces, with the line of each place.
func parsePlaces(r io.Reader, check PlaceChecker) ([]Place, []int, ImportResult, error) {
	var res ImportResult
	buf, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, res, fmt.Errorf("import: read: %w", err)
	}
	buf = bytes.TrimPrefix(buf, []byte("\ufeff"))
	if err := checkEncoding(buf); err != nil {
		return nil, nil, res, err
	}
	cr := csv.NewReader(bytes.NewReader(buf))
	cr.Comma = detectDelimiter(buf)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, nil, res, errors.New("import: the file is empty: it needs a header line and a row for each place")
	}
	if err != nil {
		return nil, nil, res, fmt.Errorf("import: header: %w", err)
	}
	col := map[string]int{}
	// unnamed are the columns with no name: a spreadsheet saves the empty
	// columns after the last one it used; they are ignored while empty.
	var unnamed []int
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			unnamed = append(unnamed, i)
			continue
		}
		if _, dup := col[h]; dup {
			return nil, nil, res, fmt.Errorf("import: header: column %q twice", h)
		}
		if h != "sample" && !contains(ImportColumns, h) {
			return nil, nil, res, fmt.Errorf("import: header: unknown column %q (the columns are %s)", h, strings.Join(ImportColumns, ","))
		}
		col[h] = i
	}
	var missing []string
	for _, c := range ImportColumns {
		if _, ok := col[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, nil, res, fmt.Errorf("import: header: missing columns %s", strings.Join(missing, ","))
	}

	type key struct{ kind, ext string }
	type first struct {
		line int
		ext  string // as written
	}
	firstLine := map[key]first{}
	seen := samePlaces{}
	var places []Place
	var lines []int
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				res.Rows++
				res.Rejected++
				res.Problems = append(res.Problems, ImportProblem{Line: pe.StartLine, Reason: pe.Err.Error()})
				continue
			}
			return nil, nil, res, fmt.Errorf("import: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if !slices.ContainsFunc(rec, func(c string) bool { return strings.TrimSpace(c) != "" }) {
			continue // a blank line, or a spreadsheet's empty row (",,,,")
		}
		res.Rows++
		// A double quote opened and closed on a later line (or never: to
		// the end of the file) makes one row of several lines; a rejected
		// one names them all, so that no line goes missing unnamed.
		lastLine, _ := cr.FieldPos(len(rec) - 1)
		lastLine += strings.Count(strings.TrimRight(rec[len(rec)-1], "\r\n"), "\n")
		// reject counts the row as invalid; quoteRan tells that its first
		// problem is a quote that ran over a line break (a cell too many
		// or too few, or a line break where none belongs), which the
		// reason then says.
		reject := func(probs []ImportProblem, quoteRan bool) {
			res.Rejected++
			if lastLine > line {
				for i := range probs {
					probs[i].LastLine = lastLine
				}
				if quoteRan {
					probs[0].Reason += fmt.Sprintf(" (lines %d-%d were read as this one row: a double quote opened on line %d runs on over the line break)",
						line, lastLine, line)
				}
			}
			res.Problems = append(res.Problems, probs...)
		}
		if len(rec) != len(header) {
			reject([]ImportProblem{{Line: line, Reason: columnCountReason(rec, len(header), cr.Comma, col)}}, true)
			continue
		}
		get := func(c string) string {
			i, ok := col[c]
			if !ok {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		p, probs, warns := parsePlace(get, line, check)
		for _, i := range unnamed {
			if cell := strings.TrimSpace(rec[i]); cell != "" {
				probs = append(probs, ImportProblem{Line: line, Reason: fmt.Sprintf(
					"column %d has no name in the header, but this row has %q in it: name the column in the header or clear the cell",
					i+1, shorten(cell))})
			}
		}
		quoteRan := false
		if lastLine > line {
			// A cell with a line break: an address may hold one (Alt+Enter
			// in a spreadsheet); elsewhere, or an address whose next line
			// begins like a row ("house,…"), it is a quote left open that
			// took the next line, and the row it began, into the cell.
			for _, c := range header {
				c = strings.ToLower(strings.TrimSpace(c))
				cell := get(c)
				if !strings.ContainsAny(cell, "\r\n") {
					continue
				}
				if !strings.HasPrefix(c, "address_") || startsARow(cell, cr.Comma) {
					probs = append([]ImportProblem{{Line: line, Column: c, Reason: "holds a line break"}}, probs...)
					quoteRan = true
					break
				}
			}
		}
		if len(probs) == 0 {
			k := key{p.Kind, p.ExternalID}
			written := get("external_id")
			if f, dup := firstLine[k]; dup {
				reason := fmt.Sprintf("%s %q is already on line %d", p.Kind, written, f.line)
				if f.ext != written {
					reason += fmt.Sprintf(" (as %q: ids are the same whatever their case)", f.ext)
				}
				probs = append(probs, ImportProblem{Line: line, Column: "external_id", Reason: reason})
			} else {
				firstLine[k] = first{line, written}
			}
		}
		if len(probs) > 0 {
			reject(probs, quoteRan)
			continue
		}
		res.Warnings = append(res.Warnings, warns...)
		if w, ok := seen.add(p, line); ok {
			res.Warnings = append(res.Warnings, w)
		}
		places = append(places, p)
		lines = append(lines, line)
	}
	return places, lines, res, nil
}

// samePlaceKm is how near two points are to be one place: about 10 m.
const samePlaceKm = 0.01

// samePlaces are the places of a file read so far, by kind and folded
// name, to notice one place written twice under two ids.
type samePlaces map[string][]placeAt

type placeAt struct {
	ext, level, name string
	lat, lon         float64
	line             int
}

// add remembers p, read from line, and returns a warning when an earlier
// row is a place of the same kind (and level) with the same name in some
// language, within samePlaceKm of it, under another id.
func (s samePlaces) add(p Place, line int) (ImportProblem, bool) {
	var warn ImportProblem
	found := false
	for _, name := range []string{p.NameKK, p.NameRU, p.NameEN} {
		k := p.Kind + "\x00" + foldName(name)
		if name == "" || slices.ContainsFunc(s[k], func(o placeAt) bool { return o.line == line }) {
			continue
		}
		for _, o := range s[k] {
			if !found && o.ext != p.ExternalID && o.level == p.Level && DistanceKm(o.lat, o.lon, p.Lat, p.Lon) <= samePlaceKm {
				warn = ImportProblem{Line: line, Column: "external_id", Reason: fmt.Sprintf(
					"%s %q has the name (%s) and the point (within 10 m) of %q on line %d: one place under two ids? both are imported; delete one of the rows if so",
					p.Kind, p.ExternalID, o.name, o.ext, o.line)}
				found = true
			}
		}
		s[k] = append(s[k], placeAt{ext: p.ExternalID, level: p.Level, name: name, lat: p.Lat, lon: p.Lon, line: line})
	}
	return warn, found
}

// shorten is a cell as a reason quotes it: a long one cut, so that the
// reason stays readable.
func shorten(cell string) string {
	if r := []rune(cell); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return cell
}

// checkEncoding refuses a file that is not UTF-8 text, saying how to save
// it: Excel's "CSV (comma delimited)" on a Russian or Kazakh Windows writes
// Windows-1251, whose Cyrillic would be stored as broken bytes that no
// citizen could read; "Unicode Text" writes UTF-16; a workbook is a ZIP.
func checkEncoding(buf []byte) error {
	const how = `save it from the spreadsheet as "CSV UTF-8 (comma delimited) (*.csv)"`
	switch {
	case bytes.HasPrefix(buf, []byte("PK\x03\x04")):
		return fmt.Errorf("import: this is a spreadsheet workbook (.xlsx), not a CSV file: %s", how)
	case bytes.HasPrefix(buf, []byte{0xff, 0xfe}) || bytes.HasPrefix(buf, []byte{0xfe, 0xff}) || bytes.IndexByte(buf, 0) >= 0:
		return fmt.Errorf("import: the file is UTF-16 (\"Unicode Text\"), not UTF-8: %s", how)
	case !utf8.Valid(buf):
		line := 1 + bytes.Count(buf[:firstInvalidUTF8(buf)], []byte("\n"))
		return fmt.Errorf("import: line %d is not UTF-8 text (a file saved as Windows-1251?): %s; nothing was imported", line, how)
	}
	return nil
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// importFieldMax is the most characters a cell may have: a name, address
// or opening hours longer than that would not fit a result line or a map
// pin's title.
const importFieldMax = 300

// detectDelimiter tells a semicolon-separated file (as spreadsheets save
// CSV in locales with a decimal comma) from a comma-separated one by the
// header line.
func detectDelimiter(buf []byte) rune {
	first, _, _ := bytes.Cut(buf, []byte("\n"))
	if bytes.Count(first, []byte(";")) > bytes.Count(first, []byte(",")) {
		return ';'
	}
	if bytes.Count(first, []byte("\t")) > bytes.Count(first, []byte(",")) {
		return '\t'
	}
	return ','
}

func parsePlace(get func(string) string, line int, check PlaceChecker) (Place, []ImportProblem, []ImportProblem) {
	var probs []ImportProblem
	bad := func(column, format string, a ...any) {
		reason := fmt.Sprintf(format, a...)
		// A whole 10,000-character cell helps nobody; every region code
		// after a shortened cell (unknownRegion) fits.
		if r := []rune(reason); len(r) > 400 {
			reason = string(r[:400]) + "…"
		}
		probs = append(probs, ImportProblem{Line: line, Column: column, Reason: reason})
	}
	for _, c := range ImportColumns {
		if n := utf8.RuneCountInString(get(c)); n > importFieldMax {
			bad(c, "%d characters; at most %d fit in a message", n, importFieldMax)
		}
	}
	// Ids are folded to lower case: EKO-AKSU and eko-aksu are one place.
	p := Place{
		Kind: get("kind"), ExternalID: strings.ToLower(get("external_id")),
		NameKK: get("name_kk"), NameRU: get("name_ru"), NameEN: get("name_en"),
		Region: strings.ToLower(get("region")), Locality: get("locality"), Level: strings.ToLower(get("level")),
		AddressKK: get("address_kk"), AddressRU: get("address_ru"), AddressEN: get("address_en"),
		Hours: get("hours"), Website: get("website"), EthnicGroup: strings.ToLower(get("ethnic_group")),
	}
	if !IsPlaceKind(p.Kind) {
		bad("kind", "unknown kind %q (known: %s)", p.Kind, strings.Join(PlaceKinds, ", "))
	}
	if !externalIDRe.MatchString(p.ExternalID) {
		bad("external_id", "missing or not an id (letters, digits, . _ : / -, up to 64): %q", get("external_id"))
	}
	if p.NameKK == "" && p.NameRU == "" && p.NameEN == "" {
		bad("name_kk", "no name in any language (name_kk, name_ru, name_en)")
	}
	if _, ok := check.Region(p.Region); !ok {
		bad("region", "%s", unknownRegion(check, get("region")))
	} else if raw := get("region"); raw != p.Region {
		// A code in capitals ("ATYRAU") is the code, unless it is also
		// the name of another region ("Almaty": the city's name).
		if named := regionsNamed(check, raw); len(named) > 0 && !(len(named) == 1 && named[0] == p.Region) {
			others := slices.DeleteFunc(named, func(c string) bool { return c == p.Region })
			bad("region", "%q names more than one region: write the code of one, %s", raw,
				strings.Join(append([]string{p.Region}, others...), " or "))
		}
	}
	switch {
	case IsCouncil(p.Kind) && !contains(CouncilLevels, p.Level):
		bad("level", "a council needs a level: village, district, city or region (got %q)", p.Level)
	case !IsCouncil(p.Kind) && p.Level != "":
		bad("level", "only councils have a level")
	}
	lat, whyLat := parseCoordinate("latitude", get("lat"), 90, "43.2975")
	lon, whyLon := parseCoordinate("longitude", get("lon"), 180, "76.9286")
	before := len(probs)
	switch {
	case whyLat != "":
		bad("lat", "%s", whyLat)
	case whyLon != "":
		bad("lon", "%s", whyLon)
	case lat == 0 && lon == 0:
		bad("lat", "0, 0 is outside Kazakhstan (in the Atlantic): coordinates left as zero? write the place's latitude and longitude, like 43.2975, 76.9286")
	case !check.InKazakhstan(lat, lon) && check.InKazakhstan(lon, lat):
		bad("lat", "latitude and longitude swapped? %s, %s is outside Kazakhstan, %s, %s is inside: write the latitude (41 to 55 in Kazakhstan) in lat and the longitude (46 to 87) in lon",
			get("lat"), get("lon"), get("lon"), get("lat"))
	case check.OnKazakhstanSide(lat, lon):
		// Inside, or a town on the border a little outside the outline:
		// imported as written, the latter with a warning (below).
	case !check.InKazakhstan(lat, lon) && InKazakhstan(lat, lon):
		bad("lat", "%s, %s is outside Kazakhstan as the bot's outline of its border has it (accurate to a few km; in the Caspian Sea or a neighbouring country): check both numbers", get("lat"), get("lon"))
	case !check.InKazakhstan(lat, lon):
		bad("lat", "%s, %s is outside Kazakhstan: check both numbers; in Kazakhstan the latitude is 41 to 55 and the longitude 46 to 87",
			get("lat"), get("lon"))
	}
	p.Lat, p.Lon = lat, lon
	var warns []ImportProblem
	if region, ok := check.Region(p.Region); ok && len(probs) == before {
		switch swapped, far := farFromLocality(check, region, p.Locality, lat, lon); {
		case swapped != "":
			bad("lat", "%s", swapped)
		case far != "":
			warns = append(warns, ImportProblem{Line: line, Column: "locality", Reason: far})
		}
	}
	if len(probs) == 0 && !check.InKazakhstan(lat, lon) {
		warns = append(warns, ImportProblem{Line: line, Column: "lat", Reason: fmt.Sprintf(
			"%s, %s is %.1f km outside the bot's outline of Kazakhstan's border, which is accurate to a few km: imported as written (a town on the border?); check the point on a map",
			get("lat"), get("lon"), check.KmOutsideBorder(lat, lon))})
	}
	if region, ok := check.Region(p.Region); ok && len(probs) == 0 {
		if why := farFromRegion(check, region, lat, lon); why != "" {
			warns = append(warns, ImportProblem{Line: line, Column: "region", Reason: why})
		}
	}
	if phone := get("phone"); phone != "" {
		var phones []string
		for _, ph := range strings.Split(phone, "|") {
			ph = strings.TrimSpace(ph)
			if ph == "" {
				continue // "+7 701 000 00 21|": a separator left over
			}
			n, ok := NormalizePhone(ph)
			if d, kz := phoneDigits(ph); !ok && kz && strings.HasPrefix(d, madeUpPhone) {
				n, ok = formatPhone(d), true
				warns = append(warns, ImportProblem{Line: line, Column: "phone", Reason: fmt.Sprintf(
					"%q is a made-up number (+7 000 000 …, as test files write them): imported as written, and citizens will see it; write the place's number or leave the cell empty", ph)})
			}
			if !ok {
				bad("phone", "%s", phoneReason(ph))
				break
			}
			phones = append(phones, n)
		}
		p.Phone = strings.Join(phones, "|")
	}
	if p.Website != "" {
		u, err := url.Parse(p.Website)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("website", "not an http(s) address: %q", p.Website)
		}
	}
	if p.EthnicGroup != "" && !codeRe.MatchString(p.EthnicGroup) {
		bad("ethnic_group", "not a code of up to 20 lower-case latin letters (russian, uzbek, ...): %q", p.EthnicGroup)
	}
	if langs := get("languages"); langs != "" {
		var list []string
		for _, l := range strings.Split(langs, "|") {
			l = strings.ToLower(strings.TrimSpace(l))
			if !langRe.MatchString(l) {
				bad("languages", "%q is not a language code (kk, ru, uz, ...)", l)
				break
			}
			list = append(list, l)
		}
		p.Languages = strings.Join(list, "|")
	}
	switch strings.ToLower(get("sample")) {
	case "1", "true", "yes":
		p.Sample = true
	}
	if strings.HasPrefix(strings.ToLower(p.ExternalID), "sample") {
		p.Sample = true
	}
	return p, probs, warns
}

// farFromRegionKm is how far from every town of its region (in the
// gazetteer) a place may be before the import warns. The gazetteer has
// the settlements of 1,000+ people, not the regions' borders, and leaves
// out many villages: a real place of a sparse region can be 100 km or more
// from the nearest of its region's towns there (the widest gap between
// neighbouring gazetteer towns of one region is about 250 km, in
// Karaganda region). So a point far from its region is a warning that names
// the row, not a rejection; the importer cannot be sure.
const farFromRegionKm = 150

// farFromRegion tells, in plain words, why the point looks wrong for the
// region, or "": it is more than farFromRegionKm from every town of the
// region and less than half that from a town of another region. When the
// swapped point fits the region, it says so.
func farFromRegion(check PlaceChecker, region Region, lat, lon float64) string {
	own, km, ok := check.NearestInRegion(region.Code, lat, lon)
	if !ok || km <= farFromRegionKm {
		return ""
	}
	other, otherKm := check.Nearest(lat, lon)
	if other.Region == region.Code || otherKm > km/2 {
		return ""
	}
	why := fmt.Sprintf("%s, %s is %.0f km from %s, the nearest town of %s (%s) the bot knows, and %.0f km from %s in %s: wrong region or wrong coordinates?",
		fmtCoord(lat), fmtCoord(lon), km, own.Name["en"], region.Name["en"], region.Code, otherKm, other.Name["en"], regionName(check, other.Region))
	if check.InKazakhstan(lon, lat) {
		if s, d, _ := check.NearestInRegion(region.Code, lon, lat); d <= farFromRegionKm {
			why += fmt.Sprintf(" Or latitude and longitude swapped? %s, %s is %.0f km from %s", fmtCoord(lon), fmtCoord(lat), d, s.Name["en"])
		}
	}
	return why
}

// farFromLocalityKm is how far from the settlement its locality names a
// place may be before the import says so: a place is in its town or
// village, or beside it; 50 km leaves room for a district's places written
// with the district's centre.
const farFromLocalityKm = 50

// farFromLocality checks the point against the row's locality, when the
// gazetteer knows a settlement of that name in the region (the nearest of
// namesakes counts). A point more than farFromLocalityKm from it whose
// swapped point is within half that, and a third as far, is refused: latitude and longitude
// swapped, which the border and region checks miss in the west, where
// both are 46 to 53 (swapped says why). A point far from it that swapping
// does not help is imported with a warning (far says why).
func farFromLocality(check PlaceChecker, region Region, locality string, lat, lon float64) (swapped, far string) {
	if locality == "" {
		return "", ""
	}
	var named []Settlement
	for _, m := range check.Exact(locality, 100) {
		if m.Distance == 0 && m.Region == region.Code {
			named = append(named, m.Settlement)
		}
	}
	if len(named) == 0 {
		return "", ""
	}
	own, km := nearestOf(named, lat, lon)
	if km <= farFromLocalityKm {
		return "", ""
	}
	// Swapped only when swapping brings it close, and much closer: by the
	// diagonal where latitude and longitude are alike (west of Oral),
	// swapping moves a point little, and a suburb 51 km out is no swap.
	if s, d := nearestOf(named, lon, lat); d <= farFromLocalityKm/2 && km >= 3*d {
		return fmt.Sprintf("latitude and longitude swapped? %s, %s is %.0f km from %s, the row's locality (%q), and %s, %s is %.0f km from %s: write the latitude (41 to 55 in Kazakhstan) in lat and the longitude (46 to 87) in lon",
			fmtCoord(lat), fmtCoord(lon), km, own.Name["en"], locality, fmtCoord(lon), fmtCoord(lat), d, s.Name["en"]), ""
	}
	return "", fmt.Sprintf("%s, %s is %.0f km from %s, the row's locality (%q) in %s: wrong locality or wrong coordinates?",
		fmtCoord(lat), fmtCoord(lon), km, own.Name["en"], locality, region.Name["en"])
}

// nearestOf is the settlement of list nearest to the point, and its
// distance in km.
func nearestOf(list []Settlement, lat, lon float64) (Settlement, float64) {
	best, bestKm := Settlement{}, math.Inf(1)
	for _, s := range list {
		if d := DistanceKm(lat, lon, s.Lat, s.Lon); d < bestKm {
			best, bestKm = s, d
		}
	}
	return best, bestKm
}

func regionName(check PlaceChecker, code string) string {
	if r, ok := check.Region(code); ok && r.Name["en"] != "" {
		return r.Name["en"]
	}
	return code
}

// fmtCoord writes a coordinate for a report.
func fmtCoord(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// plainNumberRe is a number as a spreadsheet writes a coordinate: digits,
// a decimal point or (after parseCoordinate turned it) comma, a sign.
var plainNumberRe = regexp.MustCompile(`^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)$`)

// parseCoordinate reads a latitude or longitude cell (what, "latitude")
// in decimal degrees, at most limit away from 0. It returns the reason the
// cell is not one, in plain words with an example like, or "". One
// decimal comma is read as a decimal point: a cell quoted in a
// comma-separated file ("43,2975"), or any cell of a semicolon-separated
// one, as spreadsheets in Russian and Kazakh locales write it. strconv
// alone would take NaN, Inf, 0x1p5 and 4e1 as numbers.
func parseCoordinate(what, cell string, limit float64, like string) (float64, string) {
	v := strings.Replace(cell, ",", ".", 1)
	switch f, err := strconv.ParseFloat(v, 64); {
	case cell == "":
		return 0, fmt.Sprintf("%s is empty: write it in decimal degrees, like %s", what, like)
	case strings.ContainsAny(cell, "°′'\"″"):
		return 0, fmt.Sprintf("%s must be a number in decimal degrees like %s, not degrees and minutes: %s is degrees + minutes/60 + seconds/3600", what, like, cell)
	case err == nil && (math.IsNaN(f) || math.IsInf(f, 0)):
		return 0, fmt.Sprintf("%s must be a number like %s; %s is not a number", what, like, cell)
	case err != nil || !plainNumberRe.MatchString(v):
		return 0, fmt.Sprintf("%s must be a number like %s; %q is not a number", what, like, cell)
	case math.Abs(f) > limit:
		return 0, fmt.Sprintf("%s must be between -%g and %g degrees; %s is not: a lost decimal point? write it like %s", what, limit, limit, cell, like)
	default:
		return f, ""
	}
}

// columnCountReason tells why a row has more or fewer cells than the header
// (of n columns) and how to fix it: an unquoted decimal comma splits a
// coordinate in two ("43,2975" is two cells in a comma-separated file), a
// line written with another delimiter is one cell.
func columnCountReason(rec []string, n int, comma rune, col map[string]int) string {
	names := map[rune]string{',': "comma", ';': "semicolon", '\t': "tab"}
	if len(rec) < n {
		reason := fmt.Sprintf("%d %s, the header has %d", len(rec), plural(len(rec), "column", "columns"), n)
		for _, other := range []rune{',', ';', '\t'} {
			if len(rec) == 1 && other != comma && strings.Count(rec[0], string(other)) >= n-1 {
				return reason + fmt.Sprintf(": this line is separated by %ss, the header by %ss; save the whole file with one delimiter",
					names[other], names[comma])
			}
		}
		for i, cell := range rec {
			// A quote nobody closed runs on to the row's end (or over the
			// next lines): only the last cell, or one holding a line
			// break, can be that; a quoted "name, town" elsewhere is fine.
			if strings.Count(cell, string(comma)) >= n-len(rec) && (i == len(rec)-1 || strings.ContainsAny(cell, "\r\n")) {
				// The quote opened this cell and nothing closed it.
				if r := []rune(cell); len(r) > 30 {
					cell = string(r[:30]) + "…"
				}
				return reason + fmt.Sprintf(": an unclosed double quote? the cell %q runs on over the next cells: close the quote or remove it", strings.TrimSpace(cell))
			}
		}
		return reason + ": a cell is missing; every row needs a value, or an empty cell, for each column of the header"
	}
	extra := len(rec) - n
	more := fmt.Sprintf("this row has %d more %s than the header", extra, plural(extra, "column", "columns"))
	if comma == ',' {
		// A coordinate split at its decimal comma starts where lat or lon
		// is in the header, or up to extra cells later.
		var split []string
		for _, c := range []string{"lat", "lon"} {
			for i := col[c]; i <= col[c]+extra && i+1 < len(rec); i++ {
				a, b := strings.TrimSpace(rec[i]), strings.TrimSpace(rec[i+1])
				if intPartRe.MatchString(a) && digitsRe.MatchString(b) {
					split = append(split, a+","+b)
					break
				}
			}
		}
		if len(split) > 0 {
			return fmt.Sprintf("%s: a decimal comma in an unquoted number (%s)? write %s or quote the cell (\"%s\")",
				more, strings.Join(split, " and "), strings.Replace(split[0], ",", ".", 1), split[0])
		}
	}
	return fmt.Sprintf("%s: a %s inside an unquoted cell? put the cell in double quotes (\"…\") or remove the %s", more, names[comma], names[comma])
}

var (
	intPartRe = regexp.MustCompile(`^[-+]?[0-9]{1,3}$`)
	digitsRe  = regexp.MustCompile(`^[0-9]+$`)
)

// NormalizePhone turns a Kazakhstan phone number written in any usual way
// (+7 727 123 45 67, 8 (727) 1234567, 87271234567, with the non-breaking
// spaces a spreadsheet may write) into "+7 727 123 45 67". A Kazakhstan
// number is +7 and ten digits, the first of them 6 or 7: +7 495 (Moscow)
// and +7 9.. (Russia's mobiles) share the country code, not the country.
func NormalizePhone(s string) (string, bool) {
	d, ok := phoneDigits(s)
	if !ok || (d[0] != '6' && d[0] != '7') {
		return "", false
	}
	return formatPhone(d), true
}

// phoneDigits are the ten digits after the country code of a number
// written as +7 or 8 and ten digits, with spaces (any: U+00A0, U+202F),
// dashes and brackets between them.
func phoneDigits(s string) (string, bool) {
	s = strings.TrimSpace(s)
	var digits []byte
	for i, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits = append(digits, byte(c))
		case c == '+' && i == 0:
		case unicode.IsSpace(c) || c == '-' || c == '(' || c == ')':
		default:
			return "", false
		}
	}
	if len(digits) != 11 || !(digits[0] == '7' || (digits[0] == '8' && !strings.HasPrefix(s, "+"))) {
		return "", false
	}
	return string(digits[1:]), true
}

func formatPhone(d string) string {
	return "+7 " + d[0:3] + " " + d[3:6] + " " + d[6:8] + " " + d[8:10]
}

// madeUpPhone begins the numbers test files write (+7 000 000 00 01): no
// real one, imported with a warning rather than refused, so that those
// files still load.
const madeUpPhone = "000000"

// phoneReason tells why ph is no Kazakhstan number.
func phoneReason(ph string) string {
	const kz = "Kazakhstan numbers begin +7 7 or +7 6 (+7 727 …, +7 701 …)"
	d, ok := phoneDigits(ph)
	switch {
	case !ok:
		return fmt.Sprintf("%q is not a Kazakhstan phone number (+7 and 10 digits)", shorten(ph))
	case strings.ContainsRune("3489", rune(d[0])):
		return fmt.Sprintf("%q is not a Kazakhstan phone number: +7 %s is Russia's; %s", ph, d[:3], kz)
	default:
		return fmt.Sprintf("%q is not a Kazakhstan phone number: no number begins +7 %s; %s", ph, d[:1], kz)
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// unknownRegion is the reason for a region that is no code: when it is a
// region's name in some language ("Алматинская область", "Almaty
// Region"), the code to write instead; else every code, since the file
// listing them (data/regions.csv) is inside the program.
func unknownRegion(check PlaceChecker, typed string) string {
	var codes []string
	for _, r := range check.Regions() {
		codes = append(codes, r.Code)
	}
	named := regionsNamed(check, typed)
	typed = shorten(typed)
	switch {
	case len(named) == 1:
		return fmt.Sprintf("%q is the name of a region: write its code, %s", typed, named[0])
	case len(named) > 1:
		return fmt.Sprintf("%q names more than one region: write the code of one, %s", typed, strings.Join(named, " or "))
	case typed == "":
		return "empty: write the region's code: " + strings.Join(codes, ", ")
	}
	return fmt.Sprintf("unknown region code %q: the codes are %s", typed, strings.Join(codes, ", "))
}

// Kinds of region, as the words of a region's name say.
const (
	regionCity   = "city"   // Алматы қаласы, город Алматы, Almaty city
	regionRegion = "region" // Алматы облысы, Алматинская область, Almaty Region
)

// bareRegion is a region's name without the word for region or city
// ("Алматинская область", "Almaty Region", "Алматы қаласы", "г.Алматы"),
// so that the name alone matches too, and which of the two the word said.
func bareRegion(s string) (bare, kind string) {
	var kept []string
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return unicode.IsSpace(r) || r == '.' }) {
		switch w {
		case "область", "обл", "облысы", "region":
			kind = regionRegion
		case "город", "г", "гор", "қаласы", "қ", "city":
			kind = regionCity
		default:
			kept = append(kept, w)
		}
	}
	return strings.Join(kept, " "), kind
}

// regionsNamed are the codes of the regions typed is a name of, in any
// language: a whole name first ("Алматы қаласы" is the city's), else the
// name without the word for region or city ("Алматы" is both the city's
// and the region's; "г. Алматы" the city's, "Алматы обл." the region's).
func regionsNamed(check PlaceChecker, typed string) []string {
	bare := func(s string) string {
		b, _ := bareRegion(s)
		return foldName(b)
	}
	for _, fold := range []func(string) string{foldName, bare} {
		want := fold(typed)
		var named []string
		for _, r := range check.Regions() {
			for _, name := range r.Name {
				if want != "" && fold(name) == want && !slices.Contains(named, r.Code) {
					named = append(named, r.Code)
				}
			}
		}
		if _, kind := bareRegion(typed); kind != "" && len(named) > 1 {
			if same := slices.DeleteFunc(slices.Clone(named), func(code string) bool { return regionKind(check, code) != kind }); len(same) > 0 {
				named = same
			}
		}
		if len(named) > 0 {
			return named
		}
	}
	return nil
}

// RegionTyped is the code of the one region typed names, as
// regionsNamed reads it (a whole name, else the name without the word for
// a region or a city: "Туркестанская область", "Туркистан облысы",
// "Алматы обл.", "North Kazakhstan Region"), or "" when it names none,
// both a city and the region around it ("Алматы"), or only a region of
// the other kind than the word typed says ("Шымкент облысы": Shymkent is a
// city). A citizen's place is taken from it (handlers), so a guess is none.
func RegionTyped(check PlaceChecker, typed string) string {
	named := regionsNamed(check, typed)
	if len(named) != 1 {
		return ""
	}
	if _, kind := bareRegion(typed); kind != "" && regionKind(check, named[0]) != kind {
		return ""
	}
	return named[0]
}

// regionKind is whether region code is a city or a region, as its names
// say, or "".
func regionKind(check PlaceChecker, code string) string {
	r, _ := check.Region(code)
	for _, name := range r.Name {
		if _, kind := bareRegion(name); kind != "" {
			return kind
		}
	}
	return ""
}

// startsARow tells whether a line after a line break in cell begins as a
// row of the file does: a kind, then the delimiter.
func startsARow(cell string, comma rune) bool {
	lines := strings.Split(strings.ReplaceAll(cell, "\r\n", "\n"), "\n")
	for _, l := range lines[1:] {
		for _, k := range PlaceKinds {
			if strings.HasPrefix(strings.ToLower(strings.TrimSpace(l)), k+string(comma)) {
				return true
			}
		}
	}
	return false
}
