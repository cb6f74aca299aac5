-- Event images live in the store, written by the catalog import in its transaction, so
-- every process that shares the store serves them (the same change as the SQLite
-- store's 0007_images.sql).
CREATE TABLE images (
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    name       TEXT NOT NULL,
    bytes      BYTEA NOT NULL,
    PRIMARY KEY (account_id, name)
);
