-- Event images live in the store, written by the catalog import in its transaction, so
-- every process that shares the store serves them (the same change as the PostgreSQL
-- store's 0004_images.sql).
CREATE TABLE images (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    name       TEXT NOT NULL,
    bytes      BLOB NOT NULL,
    PRIMARY KEY (account_id, name)
) WITHOUT ROWID;
