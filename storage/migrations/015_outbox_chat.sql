-- The latest message relayed to a mediator (LastRelayTo: a mediator in the
-- chat of one case is told when another case's citizen wrote meanwhile)
-- without scanning the outbox.
CREATE INDEX outbox_chat_all ON outbox (chat_id, id);
