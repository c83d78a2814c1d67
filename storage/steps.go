package storage

import (
	"errors"
	"time"
)

// Steps done: a flow step that commits records, in its own transaction,
// which update it handled (migration 011), so that the same update handled
// again — its replica died after the commit and before the conversation's
// state was saved, and another replica took the update over — finds the
// step done and answers as the first time did instead of doing it twice.

// StepDone returns the result recorded for the step step, and whether it
// was done.
func (tx *Tx) StepDone(step string) (result string, done bool, err error) {
	err = tx.get(&result, `SELECT result FROM steps_done WHERE step = ?`, step)
	if errors.Is(err, ErrNotFound) {
		return "", false, nil
	}
	return result, err == nil, wrap("step done", err)
}

// RecordStep records that user's step step was done, with its result. A
// step recorded already is an error: the transaction that does it twice
// must not commit.
func (tx *Tx) RecordStep(step string, user int64, result string) error {
	_, err := tx.exec(`INSERT INTO steps_done (step, user_id, result, created_at) VALUES (?, ?, ?, ?)`,
		step, user, result, tx.now)
	return wrap("record step", err)
}

// ForgetStepsBefore deletes the records of steps done before cutoff (no
// update comes back that late) and returns how many it deleted.
func (tx *Tx) ForgetStepsBefore(cutoff time.Time) (int64, error) {
	n, err := tx.exec(`DELETE FROM steps_done WHERE created_at < ?`, cutoff.UTC())
	return n, wrap("forget steps", err)
}
