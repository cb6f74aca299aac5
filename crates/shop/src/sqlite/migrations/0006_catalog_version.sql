-- Every catalog import raises its account's catalog_version in the same transaction, so
-- a process that keeps the catalog in memory knows when to read it again.
ALTER TABLE accounts ADD COLUMN catalog_version INTEGER NOT NULL DEFAULT 0;
