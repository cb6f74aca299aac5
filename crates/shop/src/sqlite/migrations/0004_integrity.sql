-- Typed widget settings per session, payments bound to the order's contents, and the
-- hosts an account's return URLs may lead to.
ALTER TABLE sessions ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
CREATE INDEX sessions_orderless_by_seen ON sessions(order_id, seen_ms);

ALTER TABLE payments ADD COLUMN contents TEXT NOT NULL DEFAULT '';
CREATE INDEX payments_by_order ON payments(order_id, status);

CREATE TABLE return_hosts (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    host       TEXT NOT NULL,
    PRIMARY KEY (account_id, host)
);

CREATE INDEX order_tickets_by_event ON order_tickets(event_id);
