package storage_test

import (
	"context"
	"slices"
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
				for _, key := range []string{storage.FloodKey(id), storage.AlbumFloodKey(id)} {
					if _, err := h.store.Count(ctx, key, time.Hour); err != nil {
						t.Fatal(err)
					}
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
				for _, key := range []string{storage.FloodKey(id), storage.AlbumFloodKey(id)} {
					n, err := h.store.Count(ctx, key, time.Hour)
					if err != nil {
						t.Fatal(err)
					}
					if id == 10 && (st.Flow != "" || st.Get("phone") != "" || n != 1) {
						t.Errorf("user 10 after ForgetUser: state %+v, %s %d (want a fresh 1)", st, key, n)
					}
					if id != 10 && (st.Flow != "help" || n != 2) {
						t.Errorf("user %d lost their keys: state %+v, %s %d", id, st, key, n)
					}
				}
			}
		})
	}
}

// EraseUser clears the citizen's own lines of their cases' history (a
// rating keeps its figure) and ends each case's history with "erased", in
// case order; the mediator's lines, and the history of a case the user
// only acted in, stay.
func TestEraseUserClearsTheirLinesOfTheirCasesHistory(t *testing.T) {
	ctx := context.Background()
	db, _ := clockDB(t)
	const citizen, mediator = 2, 900
	a, b := newCase(t, db, citizen, "astana"), newCase(t, db, citizen, "almaty")
	other := newCase(t, db, 3, "astana")
	if err := db.Tx(ctx, func(tx *storage.Tx) error {
		for _, e := range []struct {
			id, actor     int64
			event, detail string
		}{
			{a.ID, mediator, "accepted", ""}, {a.ID, mediator, "closed", "resolved"}, {a.ID, citizen, "rated", "4"},
			{a.ID, citizen, "withdrawn", "my phone is +77015550199"}, {b.ID, citizen, "withdrawn", "changed my mind"},
			{other.ID, citizen, "withdrawn", "a note"},
		} {
			if err := tx.CaseEvent(e.id, e.actor, e.event, e.detail); err != nil {
				return err
			}
		}
		return tx.EraseUser(citizen)
	}); err != nil {
		t.Fatal(err)
	}
	type line struct {
		actor         int64
		event, detail string
	}
	history := func(id int64) []line {
		t.Helper()
		es, err := db.CaseEvents(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var out []line
		for _, e := range es {
			out = append(out, line{e.ActorID, e.Event, e.Detail})
		}
		return out
	}
	for _, c := range []struct {
		id   int64
		want []line
	}{
		{a.ID, []line{{0, "created", ""}, {mediator, "accepted", ""}, {mediator, "closed", "resolved"}, {0, "rated", "4"},
			{0, "withdrawn", ""}, {0, "erased", ""}}},
		{b.ID, []line{{0, "created", ""}, {0, "withdrawn", ""}, {0, "erased", ""}}},
		{other.ID, []line{{3, "created", ""}, {citizen, "withdrawn", "a note"}}},
	} {
		if got := history(c.id); !slices.Equal(got, c.want) {
			t.Errorf("case %d: %+v,\nwant %+v", c.id, got, c.want)
		}
	}
	es, err := db.CaseEvents(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	ea, err := db.CaseEvents(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if last := ea[len(ea)-1].ID; last > es[len(es)-1].ID {
		t.Errorf("the first case's erased line (%d) comes after the second's (%d)", last, es[len(es)-1].ID)
	}
}

// ScrubOutbox blanks the messages to the user, the copies of their own
// messages and those naming their case or carrying what they wrote, gives
// up those not sent (even one with
// nothing to blank), and counts the blanked ones; messages already given
// up keep why, and other messages stay.
func TestScrubOutboxBlanksTheUsersMessagesOnce(t *testing.T) {
	ctx := context.Background()
	db, c := clockDB(t)
	const user = 2
	msgs := []storage.OutboxMessage{
		{ChatID: user, Text: "Your case M-000001 was accepted"},                    // 0: sent to them
		{ChatID: user, Text: "Reminder", Keyboard: `[[{"text":"x"}]]`},             // 1: pending to them
		{ChatID: user, EditRef: "offer:1"},                                         // 2: pending to them, nothing to blank
		{ChatID: 900, Text: "New case M-000001: a quarrel over a fence"},           // 3: sent, names the case
		{ChatID: 901, Text: "Call +77015550199 about the parcel"},                  // 4: pending, carries their phone
		{ChatID: 902, Text: "Give up: a quarrel over a fence"},                     // 5: failed already
		{ChatID: 903, Text: "Another citizen's case M-000002 was accepted"},        // 6: someone else's
		{ChatID: user, Text: "", Keyboard: ""},                                     // 7: sent to them, empty
		{ChatID: 904, Text: "M-000009 · Citizen:", CopyFrom: user, CopyMessage: 5}, // 8: pending copy of their photo
	}
	var ids []int64
	if err := db.Tx(ctx, func(tx *storage.Tx) error {
		for _, m := range msgs {
			id, err := tx.Enqueue(m)
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 3, 7} {
		if err := db.OutboxSent(ctx, ids[i], 100+i); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.OutboxFailed(ctx, ids[5], "blocked"); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Minute)
	var n int64
	if err := db.Tx(ctx, func(tx *storage.Tx) error {
		var err error
		n, err = tx.ScrubOutbox(user, []string{"M-000001"}, []string{"+77015550199", "a quarrel over a fence"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if n != 6 {
		t.Errorf("%d blanked, want 6 (messages 0, 1, 3, 4, 5 and 8; 2 and 7 had nothing to blank)", n)
	}
	var all []storage.OutboxMessage
	for _, id := range ids {
		var m storage.OutboxMessage
		if err := storage.GetForTest(db, &m, `SELECT * FROM outbox WHERE id = ?`, id); err != nil {
			t.Fatal(err)
		}
		all = append(all, m)
	}
	for i, m := range all {
		blank := m.Text == "" && m.Keyboard == ""
		erased := m.FailedAt != nil && m.FailedAt.Equal(c.Now()) && m.LastError == "erased"
		switch i {
		case 0, 3, 7:
			if !blank || m.SentAt == nil || m.FailedAt != nil {
				t.Errorf("message %d (sent): %+v, want blank and sent", i, m)
			}
		case 1, 2, 4, 8:
			if !blank || !erased || m.SentAt != nil {
				t.Errorf("message %d (pending): %+v, want blank and given up as erased", i, m)
			}
		case 5:
			if !blank || m.LastError != "blocked" {
				t.Errorf("message %d (failed): %+v, want blank, still failed as blocked", i, m)
			}
		case 6:
			if m.Text != msgs[6].Text || m.FailedAt != nil {
				t.Errorf("someone else's message changed: %+v", m)
			}
		}
	}
}
