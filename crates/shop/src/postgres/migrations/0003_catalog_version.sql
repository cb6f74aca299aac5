-- Every catalog import raises its account's catalog_version in the same transaction, so
-- a process that keeps the catalog in memory knows when to read it again (the same
-- change as the SQLite store's 0006_catalog_version.sql).
ALTER TABLE accounts ADD COLUMN catalog_version BIGINT NOT NULL DEFAULT 0;
