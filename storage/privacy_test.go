package storage_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/dostyq/dostyq/storage"
)

// ForgetUser removes the user's state and counters, and nobody else's
// (user 1 and user 110 end in the same digits as user 10).
func TestForgetUserRemovesOnlyThatUsersKeys(t *testing.T) {
	for name, open := range stateStores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			h := open(t)
			users := []int64{1, 10, 110}
			for _, id := range users {
				if _, err := h.store.Update(ctx, id, func(s *storage.State) error {
					s.Flow = "help"
					s.Set("phone", "+77015550199")
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				if _, err := h.store.Count(ctx, "flood:"+strconv.FormatInt(id, 10), time.Hour); err != nil {
					t.Fatal(err)
				}
			}
			f, ok := h.store.(storage.UserForgetter)
			if !ok {
				t.Fatalf("%T does not forget users", h.store)
			}
			if err := f.ForgetUser(ctx, 10); err != nil {
				t.Fatal(err)
			}
			for _, id := range users {
				st, err := h.store.Get(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				n, err := h.store.Count(ctx, "flood:"+strconv.FormatInt(id, 10), time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				if id == 10 && (st.Flow != "" || st.Get("phone") != "" || n != 1) {
					t.Errorf("user 10 after ForgetUser: state %+v, flood counter %d (want a fresh 1)", st, n)
				}
				if id != 10 && (st.Flow != "help" || n != 2) {
					t.Errorf("user %d lost their keys: state %+v, flood counter %d", id, st, n)
				}
			}
		})
	}
}
