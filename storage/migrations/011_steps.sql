-- A flow step that commits (a new event, a message to an event's volunteers)
-- records the update it handled in the same transaction: handled again (its
-- replica died after the commit and before the conversation's state was
-- saved), the step finds the record and answers as the first time did instead
-- of doing it twice. result is what that answer needs (e.g. the event's id).
-- Records older than 48 hours go with the daily retention job.
CREATE TABLE steps_done (
	step       TEXT    PRIMARY KEY,  -- the step's operation, user id and update id
	user_id    INTEGER NOT NULL,
	result     TEXT    NOT NULL DEFAULT '',
	created_at TIMESTAMP NOT NULL
);
CREATE INDEX steps_done_created ON steps_done (created_at);
CREATE INDEX steps_done_user ON steps_done (user_id);
