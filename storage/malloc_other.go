//go:build !linux || !cgo

package storage

// LimitCArenas caps the C allocator's arenas where it has them (glibc on
// Linux); elsewhere it does nothing and reports false.
func LimitCArenas(n int) bool { return false }

func cArenas() int { return -1 }
