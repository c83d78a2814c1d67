package storage_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dostyq/dostyq/storage"
	"github.com/dostyq/dostyq/storage/storagetest"
)

// mediationOffersCase is the index migration 010 replaced.
const mediationOffersCase = `CREATE INDEX IF NOT EXISTS mediation_offers_case ON mediation_offers (case_id)`

// errRollback ends a benchmark's transaction without keeping anything.
var errRollback = errors.New("rolled back")

// BenchmarkMonthQueries runs the queries issue 7's profile named on a
// database after a busy month (populateMonth: 10,000 users, 5,000 cases,
// 200 events with 20,000 registrations, 3,000 help requests, about 64,000
// outbox rows), each before and after its change, in the same run and on
// the same database: "before" without the index of migration 010 that
// serves it (dropped), "after" with it; for OutboxByRef, the query as it
// was written before against the query now; for UpcomingEvents, on
// SQLite, the page ordered by distance in SQL against the method now.
//
//	go test -run '^$' -bench BenchmarkMonthQueries -benchtime 2000x ./storage
func BenchmarkMonthQueries(b *testing.B) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)}
	db := storagetest.DBWithClock(b, c.Now)
	populateMonth(b, db, c, busyMonth)
	indexes, err := storage.IndexesForTest(db, "010_history_indexes.sql")
	if err != nil {
		b.Fatal(err)
	}
	inTx := func(b *testing.B, fn func(tx *storage.Tx) error) {
		b.Helper()
		if err := db.Tx(ctx, func(tx *storage.Tx) error {
			if err := fn(tx); err != nil {
				return err
			}
			return errRollback
		}); !errors.Is(err, errRollback) {
			b.Fatal(err)
		}
	}
	exec := func(b *testing.B, query string) {
		b.Helper()
		if err := storage.ExecForTest(db, query); err != nil {
			b.Fatal(err)
		}
	}
	citizen := int64(4242)
	waiting := storage.Case{CitizenID: &citizen, Kind: "family", Region: "astana", Lang: "kk"}
	for _, q := range []struct {
		name string
		// indexes are migration 010's that serve the query; replaced, the
		// index it dropped.
		indexes  []string
		replaced string
		run      func(b *testing.B)
	}{
		{"NextMediator", []string{"mediation_offers_open", "mediation_offers_case_mediator"}, mediationOffersCase, func(b *testing.B) {
			inTx(b, func(tx *storage.Tx) error {
				for b.Loop() {
					if _, ok, err := tx.NextMediator(&waiting); err != nil || !ok {
						return errors.Join(err, errors.New("no mediator"))
					}
				}
				return nil
			})
		}},
		{"OpenOffersOf", []string{"mediation_offers_open"}, "", func(b *testing.B) {
			inTx(b, func(tx *storage.Tx) error {
				for b.Loop() {
					if _, err := tx.OpenOffersOf(mediatorID(0)); err != nil {
						return err
					}
				}
				return nil
			})
		}},
		{"UserHelpRequests", []string{"help_requests_user"}, "", func(b *testing.B) {
			for b.Loop() {
				if rs, err := db.UserHelpRequests(ctx, 14, 10); err != nil || len(rs) == 0 {
					b.Fatal(len(rs), err)
				}
			}
		}},
		{"PersonalData", []string{"help_requests_user"}, "", func(b *testing.B) {
			for b.Loop() {
				if d, err := db.PersonalData(ctx, 14); err != nil || len(d.HelpRequests) == 0 {
					b.Fatal(err)
				}
			}
		}},
		{"NewHelpOfferRef", []string{"outbox_ref_prefix"}, "", func(b *testing.B) {
			inTx(b, func(tx *storage.Tx) error {
				for b.Loop() {
					if ref, err := tx.NewHelpOfferRef(1, coordinatorID(0)); err != nil || ref != "help:1:950001:2" {
						return errors.Join(err, errors.New("ref "+ref))
					}
				}
				return nil
			})
		}},
	} {
		b.Run(q.name+"/before", func(b *testing.B) {
			for _, name := range q.indexes {
				exec(b, `DROP INDEX IF EXISTS `+name)
			}
			if q.replaced != "" {
				exec(b, q.replaced)
			}
			q.run(b)
		})
		b.Run(q.name+"/after", func(b *testing.B) {
			for _, name := range q.indexes {
				create, ok := indexes[name]
				if !ok {
					b.Fatalf("migration 010 has no index %s", name)
				}
				exec(b, create)
			}
			if q.replaced != "" {
				exec(b, `DROP INDEX IF EXISTS `+strings.Fields(q.replaced)[5])
			}
			q.run(b)
		})
	}

	// UpcomingEvents: on SQLite, the page ordered by distance in SQL (the
	// call back into Go, distance_km, for every upcoming event) with its
	// window count, as before, against the method now (ordered in Go,
	// storage.upcomingNear; on PostgreSQL the method is that query). The
	// first page near Astana, 5 events (eventsPerPage).
	const lat, lon = 51.13, 71.43
	b.Run("UpcomingEvents/before", func(b *testing.B) {
		now := c.Now().UTC()
		dist, args := storage.DistanceKmForTest(db, "u", lat, lon)
		args = append(args, now, 5, 0)
		withDistance := storage.WithDistanceForTest(b, db)
		for b.Loop() {
			var rows []struct {
				storage.Event
				Total int `db:"total"`
			}
			if err := withDistance.Select(&rows, withDistance.Rebind(`SELECT e.*,
				(SELECT COUNT(*) FROM registrations r WHERE r.event_id = e.id AND r.status IN ('confirmed', 'offered')) AS confirmed,
				(SELECT COUNT(*) FROM registrations r WHERE r.event_id = e.id AND r.status = 'waitlist') AS waitlist, p.total FROM (
					SELECT u.id, `+dist+` AS km, COUNT(*) OVER () AS total FROM events u WHERE u.status = 'open' AND u.starts_at > ?
					ORDER BY km, u.starts_at, u.id LIMIT ? OFFSET ?) p
				JOIN events e ON e.id = p.id ORDER BY p.km, e.starts_at, e.id`), args...); err != nil || len(rows) != 5 || rows[0].Total == 0 {
				b.Fatal(len(rows), err)
			}
		}
	})
	b.Run("UpcomingEvents/after", func(b *testing.B) {
		for b.Loop() {
			if es, total, err := db.UpcomingEvents(ctx, c.Now(), lat, lon, 0, 5); err != nil || len(es) != 5 || total == 0 {
				b.Fatal(len(es), total, err)
			}
		}
	})

	// OutboxByRef: the query before (ref = ?, which SQLite could not serve
	// from the partial index outbox_ref) and the method now.
	const ref = "offer:2500"
	b.Run("OutboxByRef/before", func(b *testing.B) {
		for b.Loop() {
			var m storage.OutboxMessage
			if err := storage.GetForTest(db, &m, `SELECT * FROM outbox WHERE ref = ? AND edit_ref = '' ORDER BY id DESC LIMIT 1`, ref); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("OutboxByRef/after", func(b *testing.B) {
		for b.Loop() {
			if _, err := db.OutboxByRef(ctx, ref); err != nil {
				b.Fatal(err)
			}
		}
	})
	// DueOutbox (and ClaimOutbox, the same query with the claims): each due
	// message with no earlier pending one in its chat (NOT EXISTS) before,
	// the first pending message of each chat now; with the month's last day
	// unsent, then once the sender has caught up (all but the last ten
	// sent: last, since it changes the month).
	const dueBefore = `SELECT * FROM outbox o
		WHERE o.sent_at IS NULL AND o.failed_at IS NULL AND o.next_attempt_at <= ?
		AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.chat_id = o.chat_id AND p.id < o.id
			AND p.sent_at IS NULL AND p.failed_at IS NULL)
		ORDER BY o.id LIMIT ?`
	for _, state := range []string{"", "/caught-up"} {
		if state != "" {
			exec(b, `UPDATE outbox SET sent_at = created_at WHERE sent_at IS NULL AND failed_at IS NULL
				AND id < (SELECT MAX(id) - 10 FROM outbox)`)
		}
		b.Run("DueOutbox/before"+state, func(b *testing.B) {
			for b.Loop() {
				var out []storage.OutboxMessage
				if err := storage.SelectForTest(db, &out, dueBefore, c.Now().UTC(), 100); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("DueOutbox/after"+state, func(b *testing.B) {
			for b.Loop() {
				if _, err := db.DueOutbox(ctx, c.Now(), 100); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
