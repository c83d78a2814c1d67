//go:build !unix

package bot

import "syscall"

// awaitReadable does not wait where there is no peek at a socket: the
// connection's reader is lent at once and waits with it.
func awaitReadable(syscall.RawConn) error { return nil }
