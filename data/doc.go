// Package data holds the CSV files the bot ships: the regions, the settlement
// gazetteer, Kazakhstan's border and the sample directory (docs/DATA.md). The
// files are embedded by the main package; this package only has their tests.
package data
