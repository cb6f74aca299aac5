-- Accounts (organisers) and their key pairs.
CREATE TABLE accounts (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE keys (
    accesskey  TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    kind       TEXT NOT NULL CHECK (kind IN ('api', 'widget')),
    secretkey  TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX keys_by_account ON keys(account_id, kind);
