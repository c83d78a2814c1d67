package storage

import (
	"context"
	"errors"
	"time"
)

// State is where a user is in a conversation: the flow, the step, the
// answers given so far and the steps behind (for Back). The zero State means
// "no flow, at the main menu".
type State struct {
	Flow    string            `json:"flow,omitempty"`
	Step    string            `json:"step,omitempty"`
	Data    map[string]string `json:"data,omitempty"`
	History []string          `json:"history,omitempty"`
	// Version counts the updates of this state; stores use it to detect a
	// concurrent writer.
	Version int64 `json:"v"`
}

// Get returns a stored answer.
func (s *State) Get(key string) string { return s.Data[key] }

// Set stores an answer.
func (s *State) Set(key, value string) {
	if s.Data == nil {
		s.Data = map[string]string{}
	}
	s.Data[key] = value
}

// Reset clears the state back to "no flow".
func (s *State) Reset() { *s = State{Version: s.Version} }

// ErrConflict is returned by StateStore.Update when the state kept changing
// under it and the update gave up.
var ErrConflict = errors.New("storage: state changed concurrently")

// StateStore keeps conversation state per user with a time-to-live. Update
// is atomic: two updates of one user's state racing each other both take
// effect, one after the other.
type StateStore interface {
	// Get returns the user's state (the zero State when none is stored).
	Get(ctx context.Context, userID int64) (State, error)
	// Update reads the user's state, calls fn on it and stores the result,
	// retrying fn when another writer changed the state in between. When fn
	// returns an error nothing is stored.
	Update(ctx context.Context, userID int64, fn func(*State) error) (State, error)
	// Delete removes the user's conversation state. (Keys given to
	// FirstSeen and Count are not tied to a user and expire on their own.)
	Delete(ctx context.Context, userID int64) error
	// FirstSeen reports whether key is seen for the first time within ttl
	// (SET NX with a TTL); it is used to handle a repeated update once.
	FirstSeen(ctx context.Context, key string, ttl time.Duration) (bool, error)
	// Count adds one to the counter key and returns its value; the counter
	// starts at zero again window after its first count (a fixed window).
	Count(ctx context.Context, key string, window time.Duration) (int64, error)
	// Ping tells whether the store answers.
	Ping(ctx context.Context) error
	Close() error
}
