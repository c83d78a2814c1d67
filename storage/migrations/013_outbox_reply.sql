-- A notice may answer one of the user's own messages: reply_to is that
-- message's id in the chat (reply_to_message_id), 0 for none. It tells a
-- user which message of theirs could not be passed on to the other side of
-- a case.
ALTER TABLE outbox ADD COLUMN reply_to INTEGER NOT NULL DEFAULT 0;
