-- Shopping sessions, orders, customers, payments and the transactional outbox.
-- AUTOINCREMENT where ids leave the store (in eventstream items, or as the relay's
-- position): they must never be reused, even after rows are deleted.

-- A webshop session behind the essential session cookie. `ref` is the integrator's
-- consent-carrying id; NULL means the session is not tracked.
CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    ref        TEXT,
    order_id   INTEGER,
    csrf       TEXT NOT NULL,
    params     TEXT NOT NULL,
    lang       TEXT NOT NULL DEFAULT 'en',
    created_ms INTEGER NOT NULL,
    seen_ms    INTEGER NOT NULL
);
CREATE INDEX sessions_by_seen ON sessions(seen_ms);

CREATE TABLE customers (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    name       TEXT NOT NULL,
    email      TEXT NOT NULL
);

-- status: open (seats reserved until expires_ms), confirmed (paid), expired (released).
CREATE TABLE orders (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id          INTEGER NOT NULL REFERENCES accounts(id),
    session_id          TEXT NOT NULL,
    saleschannel_id     INTEGER NOT NULL,
    customer_id         INTEGER REFERENCES customers(id),
    deliveryscenario_id INTEGER,
    paymentscenario_id  INTEGER,
    status              TEXT NOT NULL CHECK (status IN ('open', 'confirmed', 'expired')),
    created_ms          INTEGER NOT NULL,
    expires_ms          INTEGER NOT NULL
);
CREATE INDEX orders_open_by_expiry ON orders(status, expires_ms);

CREATE TABLE order_tickets (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id           INTEGER NOT NULL REFERENCES orders(id),
    event_id           INTEGER NOT NULL,
    tickettype_id      INTEGER NOT NULL,
    tickettypeprice_id INTEGER NOT NULL,
    pricetype_id       INTEGER NOT NULL,
    price              TEXT NOT NULL,
    servicecharge      TEXT NOT NULL
);
CREATE INDEX order_tickets_by_order ON order_tickets(order_id);

CREATE TABLE order_products (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id   INTEGER NOT NULL REFERENCES orders(id),
    product_id INTEGER NOT NULL,
    price      TEXT NOT NULL
);
CREATE INDEX order_products_by_order ON order_products(order_id);

-- Payments at the built-in test payment provider. status: pending, paid, cancelled, failed.
CREATE TABLE payments (
    token      TEXT PRIMARY KEY,
    order_id   INTEGER NOT NULL REFERENCES orders(id),
    amount     TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'cancelled', 'failed')),
    created_ms INTEGER NOT NULL
);

-- Tracked actions, written in the same transaction as the shop change they describe and
-- moved into the event log by the relay, which deletes them once appended.
CREATE TABLE outbox (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT NOT NULL,
    ts_ms   INTEGER NOT NULL,
    type    TEXT NOT NULL,
    data    TEXT NOT NULL
);
