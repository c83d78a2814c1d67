-- A message relayed between a citizen and their mediator may be a photo, a
-- document, a voice message, audio or video: the outbox row then sends a
-- copy of that message (copyMessage, which does not show who sent it) from
-- copy_from, the chat it was sent in, with text as its caption. The bot
-- keeps the two ids, never the content.
ALTER TABLE outbox ADD COLUMN copy_from INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN copy_message INTEGER NOT NULL DEFAULT 0;
