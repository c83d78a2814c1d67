//go:build unix && !aix

package bot

import "syscall"

// awaitReadable returns once the socket has something to read, or is
// closed by the peer, or its deadline passes (the error then). The first
// look is a peek of one byte, since an answer may have come before the
// wait begins; after that the poller's word is taken.
func awaitReadable(rc syscall.RawConn) error {
	looked := false
	return rc.Read(func(fd uintptr) bool {
		if looked {
			return true
		}
		var b [1]byte
		for {
			_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			if err == syscall.EINTR {
				continue
			}
			looked = true
			return err != syscall.EAGAIN && err != syscall.EWOULDBLOCK
		}
	})
}
