//go:build !unix || aix

package bot

import "syscall"

// awaitReadable does not wait where there is no peek at a socket (or, on
// AIX, no MSG_DONTWAIT in package syscall): the connection's reader is lent
// at once and waits with it.
func awaitReadable(syscall.RawConn) error { return nil }
