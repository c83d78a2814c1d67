package storage

import (
	"context"
	"time"
)

// Snapshot is the stored form of a state as it was read (the bytes in
// Redis), so that the write after a handler changed the state can
// compare-and-set against it without reading the state again. A nil
// Snapshot means "not known": the write reads first, as Update does.
type Snapshot []byte

// snapshotMissing is the Snapshot of a state that was not stored.
var snapshotMissing = Snapshot{}

// SnapshotStore is implemented by state stores that save round trips at
// the start of an update and on the write after it (RedisStateStore).
type SnapshotStore interface {
	// CountGet is Count(countKey, window) and Get(userID) in one round trip,
	// with the snapshot of the state read.
	CountGet(ctx context.Context, countKey string, window time.Duration, userID int64) (int64, State, Snapshot, error)
	// GetSnapshot is Get with the snapshot of the state read.
	GetSnapshot(ctx context.Context, userID int64) (State, Snapshot, error)
	// UpdateSnapshot is Update whose first attempt takes the state from
	// snap instead of reading it (a nil snap reads). The compare-and-set
	// still detects a writer that changed the state since snap was read,
	// and then Update's retries read it again. It returns the snapshot of
	// the state stored.
	UpdateSnapshot(ctx context.Context, userID int64, snap Snapshot, fn func(*State) error) (State, Snapshot, error)
}

// CountGet is s.CountGet when s is a SnapshotStore, else Count then Get
// (with a nil Snapshot).
func CountGet(ctx context.Context, s StateStore, countKey string, window time.Duration, userID int64) (int64, State, Snapshot, error) {
	if ss, ok := s.(SnapshotStore); ok {
		return ss.CountGet(ctx, countKey, window, userID)
	}
	n, err := s.Count(ctx, countKey, window)
	if err != nil {
		return 0, State{}, nil, err
	}
	st, err := s.Get(ctx, userID)
	return n, st, nil, err
}

// GetSnapshot is s.GetSnapshot when s is a SnapshotStore, else Get (with a
// nil Snapshot).
func GetSnapshot(ctx context.Context, s StateStore, userID int64) (State, Snapshot, error) {
	if ss, ok := s.(SnapshotStore); ok {
		return ss.GetSnapshot(ctx, userID)
	}
	st, err := s.Get(ctx, userID)
	return st, nil, err
}

// UpdateSnapshot is s.UpdateSnapshot when s is a SnapshotStore, else
// Update (with a nil Snapshot).
func UpdateSnapshot(ctx context.Context, s StateStore, userID int64, snap Snapshot, fn func(*State) error) (State, Snapshot, error) {
	if ss, ok := s.(SnapshotStore); ok {
		return ss.UpdateSnapshot(ctx, userID, snap, fn)
	}
	st, err := s.Update(ctx, userID, fn)
	return st, nil, err
}
