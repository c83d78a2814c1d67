//go:build !linux || !cgo

package main

func cArenas() int { return -1 }
