package storage

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"
)

// OutboxMessage is a notification waiting to be sent, or sent. It is
// written in the same transaction as the change that caused it, so it is
// never lost: the background worker sends it until Telegram accepts it.
type OutboxMessage struct {
	ID       int64  `db:"id"`
	ChatID   int64  `db:"chat_id"`
	Text     string `db:"text"`
	Keyboard string `db:"keyboard"` // inline keyboard as JSON, or empty
	Protect  bool   `db:"protect"`  // protect_content
	// Ref names the message (e.g. "offer:12") so a later row can edit it.
	Ref string `db:"ref"`
	// EditRef, when set, makes this row an edit of the message sent for
	// that ref rather than a new message.
	EditRef       string     `db:"edit_ref"`
	CreatedAt     time.Time  `db:"created_at"`
	Attempts      int        `db:"attempts"`
	NextAttemptAt time.Time  `db:"next_attempt_at"`
	SentAt        *time.Time `db:"sent_at"`
	MessageID     int        `db:"message_id"`
	FailedAt      *time.Time `db:"failed_at"`
	LastError     string     `db:"last_error"`
	// ClaimedUntil is when the claim of the replica sending it runs out.
	ClaimedUntil *time.Time `db:"claimed_until"`
	// CopyFrom and CopyMessage, when set, make this row a copy of message
	// CopyMessage of chat CopyFrom (copyMessage), Text its caption.
	CopyFrom    int64 `db:"copy_from"`
	CopyMessage int   `db:"copy_message"`
	// ReplyTo, when set, makes the message a reply to that message of the
	// chat.
	ReplyTo int `db:"reply_to"`
}

// Pending tells whether the message is neither sent nor given up.
func (m OutboxMessage) Pending() bool { return m.SentAt == nil && m.FailedAt == nil }

// Enqueue adds a message to the outbox, due at once.
func (tx *Tx) Enqueue(m OutboxMessage) (int64, error) {
	id, err := tx.insert(`INSERT INTO outbox (`+outboxInsertColumns+`) VALUES `+outboxInsertRow, outboxInsertArgs(nil, m, tx.now)...)
	return id, wrap("enqueue", err)
}

// The columns a new outbox row is written with, and their values.
const (
	outboxInsertColumns = `chat_id, text, keyboard, protect, ref, edit_ref, created_at, next_attempt_at, copy_from, copy_message, reply_to`
	outboxInsertRow     = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

func outboxInsertArgs(args []any, m OutboxMessage, now time.Time) []any {
	return append(args, m.ChatID, m.Text, m.Keyboard, m.Protect, m.Ref, m.EditRef, now, now, m.CopyFrom, m.CopyMessage, m.ReplyTo)
}

// EnqueueAll adds messages to the outbox, due at once, in order, with one
// statement per 100 of them rather than one each: a reminder to 1,000
// volunteers is 10 inserts under the write lock, not 1,000. The batches
// are of 100, 10 and 1 rows only, so a few statements are prepared, not
// one per count.
func (tx *Tx) EnqueueAll(ms []OutboxMessage) error {
	for len(ms) > 0 {
		n := 1
		for _, size := range []int{100, 10} {
			if len(ms) >= size {
				n = size
				break
			}
		}
		q, args := outboxInsert(ms[:n], tx.now)
		if _, err := tx.exec(q, args...); err != nil {
			return wrap("enqueue", err)
		}
		ms = ms[n:]
	}
	return nil
}

// outboxInsert is the statement inserting ms at now, and its arguments
// (EnqueueAll). Made apart from the statement's run, so that the messages'
// copies are not on the stack beneath it (HANDLERS.md, "A worker's
// stack").
//
//go:noinline
func outboxInsert(ms []OutboxMessage, now time.Time) (string, []any) {
	var q strings.Builder
	q.WriteString(`INSERT INTO outbox (` + outboxInsertColumns + `) VALUES `)
	args := make([]any, 0, 11*len(ms))
	for i := range ms {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString(outboxInsertRow)
		args = outboxInsertArgs(args, ms[i], now)
	}
	return q.String(), args
}

// OutboxByRef returns the latest message (not edit) named ref.
//
// The queries by ref leave out the empty ref in SQL: the index outbox_ref
// holds only named messages, and SQLite uses a partial index only for a
// query that states its condition (without it, ref = ? read the whole
// outbox).
func (tx *Tx) OutboxByRef(ref string) (OutboxMessage, error) {
	var m OutboxMessage
	err := tx.get(&m, `SELECT * FROM outbox WHERE ref = ? AND ref <> '' AND edit_ref = '' ORDER BY id DESC LIMIT 1`, ref)
	return m, wrap("outbox "+ref, err)
}

// OutboxByRef returns the latest message (not edit) named ref.
func (db *DB) OutboxByRef(ctx context.Context, ref string) (OutboxMessage, error) {
	var m OutboxMessage
	err := db.read.GetContext(ctx, &m, `SELECT * FROM outbox WHERE ref = ? AND ref <> '' AND edit_ref = '' ORDER BY id DESC LIMIT 1`, ref)
	return m, wrap("outbox "+ref, isNoRows(err))
}

// LatestRelayTo is the id and ref of the latest message relayed to chatID
// after id since from a case's citizen (ref "relay:CASE:c:MSG"), not
// from case except (0: any), or 0 and "" when none came.
func (db *DB) LatestRelayTo(ctx context.Context, chatID, since, except int64) (int64, string, error) {
	var row struct {
		ID  int64  `db:"id"`
		Ref string `db:"ref"`
	}
	err := db.read.GetContext(ctx, &row, `SELECT id, ref FROM outbox WHERE chat_id = ? AND id > ? AND ref LIKE 'relay:%:c:%'
		AND ref NOT LIKE ? ORDER BY id DESC LIMIT 1`, chatID, since, "relay:"+strconv.FormatInt(except, 10)+":%")
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", nil
	}
	return row.ID, row.Ref, wrap("latest relay to", err)
}

// CancelOutbox gives up the messages named ref that are not sent yet, and
// reports how many there were.
func (tx *Tx) CancelOutbox(ref string) (int64, error) {
	n, err := tx.exec(`UPDATE outbox SET failed_at = ?, last_error = 'cancelled'
		WHERE ref = ? AND ref <> '' AND sent_at IS NULL AND failed_at IS NULL`, tx.now, ref)
	return n, wrap("cancel outbox", err)
}

// DueOutbox returns up to limit messages due at now, oldest first, only the
// first pending message of each chat: a chat's messages go out in order.
func (db *DB) DueOutbox(ctx context.Context, now time.Time, limit int) ([]OutboxMessage, error) {
	var out []OutboxMessage
	err := db.read.SelectContext(ctx, &out, dueOutboxSQL, now.UTC(), limit)
	return out, wrap("due outbox", err)
}

// dueOutboxSQL and claimOutboxSQL find the first pending message of each
// chat (the smallest id among its pending messages, from the index of
// pending messages by chat, outbox_chat) and keep those due, oldest first.
// The same as "pending, due, and no earlier pending message in its chat",
// which they said before with NOT EXISTS: SQLite ran that by walking the
// whole outbox in id order, every message ever sent (7 ms after a busy
// month with the sender caught up), and PostgreSQL, misled by old
// statistics, compared every pending message with every other (0.5 s with
// 2,000 pending); each is now a pass over the pending messages
// (BenchmarkMonthQueries, DueOutbox).
const (
	firstPendingDue = `SELECT * FROM outbox o
		WHERE o.id IN (SELECT MIN(p.id) FROM outbox p WHERE p.sent_at IS NULL AND p.failed_at IS NULL GROUP BY p.chat_id)
		AND o.next_attempt_at <= ?`
	dueOutboxSQL   = firstPendingDue + ` ORDER BY o.id LIMIT ?`
	claimOutboxSQL = firstPendingDue + ` AND (o.claimed_until IS NULL OR o.claimed_until <= ?) ORDER BY o.id LIMIT ?`
)

// ClaimOutbox claims up to limit messages due at now, oldest first, only
// the first pending message of each chat, for lease: until then no other
// replica (no other caller) gets them, so each message is sent by one
// replica. Recording the result (OutboxSent, OutboxRetry, OutboxFailed) or
// ReleaseOutbox ends the claim; if the replica dies, it runs out and
// another replica sends the message.
func (db *DB) ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]OutboxMessage, error) {
	var out []OutboxMessage
	err := db.Tx(ctx, func(tx *Tx) error {
		out = nil
		if err := tx.selectRows(&out, claimOutboxSQL, now.UTC(), now.UTC(), limit); err != nil {
			return err
		}
		until := now.Add(lease).UTC()
		for i := range out {
			if _, err := tx.exec(`UPDATE outbox SET claimed_until = ? WHERE id = ?`, until, out[i].ID); err != nil {
				return err
			}
			out[i].ClaimedUntil = &until
		}
		return nil
	})
	return out, wrap("claim outbox", err)
}

// ReleaseOutbox ends the claim on message id without recording an attempt
// (the replica is stopping), so another replica may send it at once.
func (db *DB) ReleaseOutbox(ctx context.Context, id int64) error {
	return db.Tx(ctx, func(tx *Tx) error {
		_, err := tx.exec(`UPDATE outbox SET claimed_until = NULL WHERE id = ?`, id)
		return wrap("release outbox", err)
	})
}

// PendingOutbox counts the messages neither sent nor given up.
func (db *DB) PendingOutbox(ctx context.Context) (int, error) {
	var n int
	err := db.read.GetContext(ctx, &n, `SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL`)
	return n, wrap("pending outbox", err)
}

// OutboxBacklog is the number of notifications not yet sent (nor given up)
// and the time the oldest of them has waited, for metrics.
func (db *DB) OutboxBacklog(ctx context.Context) (int, time.Duration, error) {
	var n int
	if err := db.read.GetContext(ctx, &n, `SELECT COUNT(*) FROM outbox
		WHERE sent_at IS NULL AND failed_at IS NULL`); err != nil {
		return 0, 0, wrap("outbox backlog", err)
	}
	if n == 0 {
		return 0, 0, nil
	}
	// An aggregate loses the column's type in SQLite: read the row itself.
	var oldest time.Time
	err := db.read.GetContext(ctx, &oldest, `SELECT created_at FROM outbox
		WHERE sent_at IS NULL AND failed_at IS NULL ORDER BY created_at LIMIT 1`)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, wrap("outbox backlog", err)
	}
	return n, db.now().Sub(oldest), nil
}

// OutboxSent records that Telegram accepted message id as messageID.
func (db *DB) OutboxSent(ctx context.Context, id int64, messageID int) error {
	return db.Tx(ctx, func(tx *Tx) error {
		_, err := tx.exec(`UPDATE outbox SET sent_at = ?, message_id = ?, attempts = attempts + 1, last_error = '',
			claimed_until = NULL WHERE id = ?`, tx.now, messageID, id)
		return wrap("outbox sent", err)
	})
}

// OutboxRetry records a failed attempt; the message is tried again at next.
// errText must not carry personal data (Telegram's error description does not).
func (db *DB) OutboxRetry(ctx context.Context, id int64, next time.Time, errText string) error {
	return db.Tx(ctx, func(tx *Tx) error {
		_, err := tx.exec(`UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?,
			claimed_until = NULL WHERE id = ?`,
			next.UTC(), errText, id)
		return wrap("outbox retry", err)
	})
}

// OutboxFailed gives the message up (the user blocked the bot, or it kept
// failing).
func (db *DB) OutboxFailed(ctx context.Context, id int64, errText string) error {
	return db.Tx(ctx, func(tx *Tx) error {
		_, err := tx.OutboxFailed(id, errText)
		return err
	})
}

// OutboxFailed gives the message up in tx, so that what follows from it
// (telling the sender) is written with it. It reports whether it did: not
// when the message is no longer pending — sent or given up meanwhile by
// another replica whose claim outlived this one's, or erased by /forget.
func (tx *Tx) OutboxFailed(id int64, errText string) (bool, error) {
	n, err := tx.exec(`UPDATE outbox SET attempts = attempts + 1, failed_at = ?, last_error = ?,
		claimed_until = NULL WHERE id = ? AND sent_at IS NULL AND failed_at IS NULL`,
		tx.now, errText, id)
	return n == 1, wrap("outbox failed", err)
}

// SentOutbox returns every message Telegram accepted, oldest first (for
// tests and audits of delivery).
func (db *DB) SentOutbox(ctx context.Context) ([]OutboxMessage, error) {
	var out []OutboxMessage
	err := db.read.SelectContext(ctx, &out, `SELECT * FROM outbox WHERE sent_at IS NOT NULL ORDER BY id`)
	return out, wrap("sent outbox", err)
}

// ReleaseStaleClaims ends every claim on the outbox and the timers. On
// SQLite the bot is one process, so at its start every claim is a dead
// process's: without this, what it had claimed would wait for the lease
// to run out (minutes) after a crash. On PostgreSQL other replicas may be
// running and hold live claims: nothing is done there.
func (db *DB) ReleaseStaleClaims(ctx context.Context) (int64, error) {
	if db.dialect != SQLite {
		return 0, nil
	}
	var released int64
	err := db.Tx(ctx, func(tx *Tx) error {
		n, err := tx.exec(`UPDATE outbox SET claimed_until = NULL WHERE claimed_until IS NOT NULL`)
		if err != nil {
			return err
		}
		m, err := tx.exec(`UPDATE timers SET claimed_until = NULL WHERE claimed_until IS NOT NULL`)
		released = n + m
		return err
	})
	return released, wrap("release stale claims", err)
}
