-- The catalog of each account. Ids are chosen by the organiser in the catalog file and are
-- unique per account; `active = 0` marks entries a later import no longer lists (kept,
-- because orders may refer to them).
ALTER TABLE accounts ADD COLUMN default_saleschannel INTEGER;

CREATE TABLE saleschannels (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    id         INTEGER NOT NULL,
    name       TEXT NOT NULL,
    position   INTEGER NOT NULL DEFAULT 0,
    active     INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (account_id, id)
);

CREATE TABLE pricetypes (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    id         INTEGER NOT NULL,
    name       TEXT NOT NULL,
    position   INTEGER NOT NULL DEFAULT 0,
    active     INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (account_id, id)
);

-- `taken` counts the seats held by open (reserved) and confirmed orders; the shop only
-- raises it with a conditional update that keeps it at or below `capacity`.
CREATE TABLE events (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    id         INTEGER NOT NULL,
    name       TEXT NOT NULL,
    date       TEXT NOT NULL DEFAULT '',
    capacity   INTEGER NOT NULL CHECK (capacity >= 0),
    taken      INTEGER NOT NULL DEFAULT 0 CHECK (taken >= 0),
    active     INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (account_id, id)
);

CREATE TABLE tickettypes (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    id         INTEGER NOT NULL,
    event_id   INTEGER NOT NULL,
    name       TEXT NOT NULL,
    position   INTEGER NOT NULL DEFAULT 0,
    active     INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (account_id, id)
);

CREATE TABLE tickettypeprices (
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    id            INTEGER NOT NULL,
    tickettype_id INTEGER NOT NULL,
    pricetype_id  INTEGER NOT NULL,
    price         TEXT NOT NULL,
    servicecharge TEXT NOT NULL,
    position      INTEGER NOT NULL DEFAULT 0,
    active        INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (account_id, id)
);

CREATE TABLE products (
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    id          INTEGER NOT NULL,
    name        TEXT NOT NULL,
    producttype INTEGER NOT NULL,
    price       TEXT NOT NULL,
    position    INTEGER NOT NULL DEFAULT 0,
    active      INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (account_id, id)
);

CREATE TABLE deliveryscenarios (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    id         INTEGER NOT NULL,
    name       TEXT NOT NULL,
    position   INTEGER NOT NULL DEFAULT 0,
    active     INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (account_id, id)
);

CREATE TABLE paymentscenarios (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    id         INTEGER NOT NULL,
    name       TEXT NOT NULL,
    position   INTEGER NOT NULL DEFAULT 0,
    active     INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (account_id, id)
);
