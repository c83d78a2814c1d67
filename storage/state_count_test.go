package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/dostyq/dostyq/storage"
	"github.com/dostyq/dostyq/storage/storagetest"
)

type flowCounter interface {
	storage.StateStore
	ActiveFlows(ctx context.Context) (int, error)
}

func TestActiveFlowsCountsUsersInAFlow(t *testing.T) {
	storagetest.OnePass(t)
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	stores := map[string]flowCounter{
		"memory": storage.NewMemoryStateStore(time.Hour, func() time.Time { return now }),
		"redis":  storagetest.States(t, time.Hour),
	}
	for name, s := range stores {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			set := func(user int64, flow string) {
				t.Helper()
				if _, err := s.Update(ctx, user, func(st *storage.State) error {
					st.Reset()
					st.Flow, st.Step = flow, ""
					if flow != "" {
						st.Step = "first"
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			set(1, "mediation")
			set(2, "charity")
			set(3, "mediation")
			set(3, "") // finished its flow
			for u := int64(10); u < 1210; u++ {
				set(u, "") // users at the main menu, more than one SCAN batch
			}
			set(1300, "volunteer")
			n, err := s.ActiveFlows(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n != 3 {
				t.Fatalf("3 users are in a flow, counted %d", n)
			}
			if name == "memory" {
				now = now.Add(2 * time.Hour) // every state expired
				if n, err := s.ActiveFlows(ctx); err != nil || n != 0 {
					t.Fatalf("after the state TTL: %d, %v; want 0", n, err)
				}
			}
		})
	}
}
