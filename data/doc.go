// Package data holds the CSV files the bot ships: the regions, the settlement
// gazetteer, Kazakhstan's border and the sample directory (docs/DATA.md),
// embedded in FS.
package data

import "embed"

// FS holds the shipped files by name (regions.csv, gazetteer.csv,
// kazakhstan.csv, directory-sample.csv).
//
//go:embed *.csv
var FS embed.FS
