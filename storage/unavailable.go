package storage

import (
	"errors"
	"fmt"
)

// ErrUnavailable matches (errors.Is) an error of a store that did not
// answer: Redis down, a refused connection, a timeout. The user is told to
// try again; nothing committed is lost, and the next request reconnects.
var ErrUnavailable = errors.New("storage: unavailable")

// unavailable wraps err of operation op so that it matches ErrUnavailable.
func unavailable(op string, err error) error {
	return fmt.Errorf("%s: %w: %w", op, ErrUnavailable, err)
}
