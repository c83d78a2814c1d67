package storage

import (
	"context"
	"encoding/json"
	"sync"
	"time"
)

// MemoryStateStore keeps conversation state in process memory. It behaves
// like RedisStateStore but nothing survives a restart; it serves a single
// instance only.
type MemoryStateStore struct {
	mu     sync.Mutex
	ttl    time.Duration
	now    func() time.Time
	states map[int64]memoryEntry
	seen   map[string]time.Time
	counts map[string]memoryCount
}

type memoryCount struct {
	n       int64
	expires time.Time
}

type memoryEntry struct {
	buf     []byte
	expires time.Time
}

// NewMemoryStateStore returns an in-memory store whose states expire after ttl.
func NewMemoryStateStore(ttl time.Duration, now func() time.Time) *MemoryStateStore {
	if now == nil {
		now = time.Now
	}
	return &MemoryStateStore{ttl: ttl, now: now, states: map[int64]memoryEntry{}, seen: map[string]time.Time{}, counts: map[string]memoryCount{}}
}

// Get implements StateStore.
func (m *MemoryStateStore) Get(ctx context.Context, userID int64) (State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.get(userID)
}

func (m *MemoryStateStore) get(userID int64) (State, error) {
	var st State
	e, ok := m.states[userID]
	if !ok || !m.now().Before(e.expires) {
		delete(m.states, userID)
		return st, nil
	}
	err := json.Unmarshal(e.buf, &st)
	return st, err
}

// Update implements StateStore.
func (m *MemoryStateStore) Update(ctx context.Context, userID int64, fn func(*State) error) (State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, err := m.get(userID)
	if err != nil {
		return State{}, err
	}
	if err := fn(&st); err != nil {
		return State{}, err
	}
	st.Version++
	buf, err := json.Marshal(st)
	if err != nil {
		return State{}, err
	}
	m.states[userID] = memoryEntry{buf: buf, expires: m.now().Add(m.ttl)}
	return st, nil
}

// Delete implements StateStore.
func (m *MemoryStateStore) Delete(ctx context.Context, userID int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.states, userID)
	return nil
}

// FirstSeen implements StateStore.
func (m *MemoryStateStore) FirstSeen(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if len(m.seen) > 100000 {
		for k, exp := range m.seen {
			if !now.Before(exp) {
				delete(m.seen, k)
			}
		}
	}
	if exp, ok := m.seen[key]; ok && now.Before(exp) {
		return false, nil
	}
	m.seen[key] = now.Add(ttl)
	return true, nil
}

// Count implements StateStore.
func (m *MemoryStateStore) Count(ctx context.Context, key string, window time.Duration) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if len(m.counts) > 100000 {
		for k, c := range m.counts {
			if !now.Before(c.expires) {
				delete(m.counts, k)
			}
		}
	}
	c, ok := m.counts[key]
	if !ok || !now.Before(c.expires) {
		c = memoryCount{expires: now.Add(window)}
	}
	c.n++
	m.counts[key] = c
	return c.n, nil
}

// Ping implements StateStore.
func (m *MemoryStateStore) Ping(ctx context.Context) error { return nil }

// Close implements StateStore.
func (m *MemoryStateStore) Close() error { return nil }
