-- The shop store in PostgreSQL: accounts and keys, the catalog, sessions, orders,
-- payments and the transactional outbox. The same tables as the SQLite store, with
-- PostgreSQL's types: ids leaving the store are identity columns (never reused), and a
-- `seq` identity column stands in for SQLite's rowid where rows are listed in the order
-- they were first written.

CREATE TABLE accounts (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                 TEXT NOT NULL UNIQUE,
    created_at           BIGINT NOT NULL,
    default_saleschannel BIGINT
);

CREATE TABLE keys (
    accesskey  TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    kind       TEXT NOT NULL CHECK (kind IN ('api', 'widget')),
    secretkey  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    seq        BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX keys_by_account ON keys(account_id, kind);

-- The catalog of each account. Ids are chosen by the organiser in the catalog file and are
-- unique per account; `active = false` marks entries a later import no longer lists (kept,
-- because orders may refer to them).
CREATE TABLE saleschannels (
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    id         BIGINT NOT NULL,
    name       TEXT NOT NULL,
    position   BIGINT NOT NULL DEFAULT 0,
    active     BOOLEAN NOT NULL DEFAULT true,
    PRIMARY KEY (account_id, id)
);

CREATE TABLE pricetypes (
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    id         BIGINT NOT NULL,
    name       TEXT NOT NULL,
    position   BIGINT NOT NULL DEFAULT 0,
    active     BOOLEAN NOT NULL DEFAULT true,
    PRIMARY KEY (account_id, id)
);

-- `taken` counts the seats held by open (reserved) and confirmed orders; the shop only
-- raises it with a conditional update that keeps it at or below `capacity`, which under
-- READ COMMITTED re-checks the condition on the row as the last writer left it.
CREATE TABLE events (
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    id         BIGINT NOT NULL,
    name       TEXT NOT NULL,
    date       TEXT NOT NULL DEFAULT '',
    capacity   BIGINT NOT NULL CHECK (capacity >= 0),
    taken      BIGINT NOT NULL DEFAULT 0 CHECK (taken >= 0),
    active     BOOLEAN NOT NULL DEFAULT true,
    seq        BIGINT GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (account_id, id)
);

CREATE TABLE tickettypes (
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    id         BIGINT NOT NULL,
    event_id   BIGINT NOT NULL,
    name       TEXT NOT NULL,
    position   BIGINT NOT NULL DEFAULT 0,
    active     BOOLEAN NOT NULL DEFAULT true,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX tickettypes_by_event ON tickettypes(account_id, event_id);

CREATE TABLE tickettypeprices (
    account_id    BIGINT NOT NULL REFERENCES accounts(id),
    id            BIGINT NOT NULL,
    tickettype_id BIGINT NOT NULL,
    pricetype_id  BIGINT NOT NULL,
    price         TEXT NOT NULL,
    servicecharge TEXT NOT NULL,
    position      BIGINT NOT NULL DEFAULT 0,
    active        BOOLEAN NOT NULL DEFAULT true,
    PRIMARY KEY (account_id, id)
);

CREATE TABLE products (
    account_id  BIGINT NOT NULL REFERENCES accounts(id),
    id          BIGINT NOT NULL,
    name        TEXT NOT NULL,
    producttype BIGINT NOT NULL,
    price       TEXT NOT NULL,
    position    BIGINT NOT NULL DEFAULT 0,
    active      BOOLEAN NOT NULL DEFAULT true,
    PRIMARY KEY (account_id, id)
);

CREATE TABLE deliveryscenarios (
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    id         BIGINT NOT NULL,
    name       TEXT NOT NULL,
    position   BIGINT NOT NULL DEFAULT 0,
    active     BOOLEAN NOT NULL DEFAULT true,
    PRIMARY KEY (account_id, id)
);

CREATE TABLE paymentscenarios (
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    id         BIGINT NOT NULL,
    name       TEXT NOT NULL,
    position   BIGINT NOT NULL DEFAULT 0,
    active     BOOLEAN NOT NULL DEFAULT true,
    PRIMARY KEY (account_id, id)
);

CREATE TABLE return_hosts (
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    host       TEXT NOT NULL,
    PRIMARY KEY (account_id, host)
);

-- A webshop session behind the essential session cookie. `ref` is the integrator's
-- consent-carrying id; NULL means the session is not tracked.
CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    ref        TEXT,
    order_id   BIGINT,
    csrf       TEXT NOT NULL,
    params     TEXT NOT NULL,
    settings   TEXT NOT NULL DEFAULT '{}',
    lang       TEXT NOT NULL DEFAULT 'en',
    created_ms BIGINT NOT NULL,
    seen_ms    BIGINT NOT NULL
);
CREATE INDEX sessions_by_seen ON sessions(seen_ms);
CREATE INDEX sessions_orderless_by_seen ON sessions(order_id, seen_ms);

CREATE TABLE customers (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    name       TEXT NOT NULL,
    email      TEXT NOT NULL
);

-- status: open (seats reserved until expires_ms), confirmed (paid), expired (released).
CREATE TABLE orders (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id          BIGINT NOT NULL REFERENCES accounts(id),
    session_id          TEXT NOT NULL,
    saleschannel_id     BIGINT NOT NULL,
    customer_id         BIGINT REFERENCES customers(id),
    deliveryscenario_id BIGINT,
    paymentscenario_id  BIGINT,
    status              TEXT NOT NULL CHECK (status IN ('open', 'confirmed', 'expired')),
    created_ms          BIGINT NOT NULL,
    expires_ms          BIGINT NOT NULL
);
CREATE INDEX orders_open_by_expiry ON orders(status, expires_ms);

CREATE TABLE order_tickets (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id           BIGINT NOT NULL REFERENCES orders(id),
    event_id           BIGINT NOT NULL,
    tickettype_id      BIGINT NOT NULL,
    tickettypeprice_id BIGINT NOT NULL,
    pricetype_id       BIGINT NOT NULL,
    price              TEXT NOT NULL,
    servicecharge      TEXT NOT NULL
);
CREATE INDEX order_tickets_by_order ON order_tickets(order_id);
CREATE INDEX order_tickets_by_event ON order_tickets(event_id);

CREATE TABLE order_products (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id   BIGINT NOT NULL REFERENCES orders(id),
    product_id BIGINT NOT NULL,
    price      TEXT NOT NULL
);
CREATE INDEX order_products_by_order ON order_products(order_id);

-- Payments at the built-in test payment provider. status: pending, paid, cancelled, failed.
CREATE TABLE payments (
    token      TEXT PRIMARY KEY,
    order_id   BIGINT NOT NULL REFERENCES orders(id),
    amount     TEXT NOT NULL,
    contents   TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'cancelled', 'failed')),
    created_ms BIGINT NOT NULL
);
CREATE INDEX payments_by_order ON payments(order_id, status);

-- Tracked actions, written in the same transaction as the shop change they describe and
-- moved into the event log by the relay, which deletes them once appended. Ids are never
-- reused but, being allocated before commit, do not ascend in commit order: the relay
-- tracks which rows it carried, not a position.
CREATE TABLE outbox (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account TEXT NOT NULL,
    ts_ms   BIGINT NOT NULL,
    type    TEXT NOT NULL,
    data    TEXT NOT NULL
);
