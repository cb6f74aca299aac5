-- What shoppers see of an event and its organiser, Dutch translations of catalog names,
-- and the public order codes shown instead of the sequential order ids (the same change
-- as the SQLite store's 0005_shop_pages.sql).
ALTER TABLE accounts
    ADD COLUMN organiser_name TEXT,
    ADD COLUMN terms_url      TEXT,
    ADD COLUMN privacy_url    TEXT;

-- start_ms and end_ms are Unix milliseconds; timezone is an IANA name ('Europe/Brussels')
-- or a fixed offset ('+01:00') the times are shown in. A NULL start_ms marks an event
-- imported before catalogs had times. `date` (0001) is no longer written.
ALTER TABLE events
    ADD COLUMN start_ms       BIGINT,
    ADD COLUMN end_ms         BIGINT,
    ADD COLUMN timezone       TEXT NOT NULL DEFAULT '+00:00',
    ADD COLUMN venue_name     TEXT NOT NULL DEFAULT '',
    ADD COLUMN venue_address  TEXT NOT NULL DEFAULT '',
    ADD COLUMN description    TEXT NOT NULL DEFAULT '',
    ADD COLUMN description_nl TEXT,
    ADD COLUMN image          TEXT,
    ADD COLUMN name_nl        TEXT;
ALTER TABLE tickettypes ADD COLUMN name_nl TEXT;
ALTER TABLE products ADD COLUMN name_nl TEXT;
ALTER TABLE saleschannels ADD COLUMN name_nl TEXT;
ALTER TABLE pricetypes ADD COLUMN name_nl TEXT;
ALTER TABLE deliveryscenarios ADD COLUMN name_nl TEXT;
ALTER TABLE paymentscenarios ADD COLUMN name_nl TEXT;

-- A random code per order, unique per account. Orders made before get one here. The
-- rules pick a code no order of the account has; two transactions that pick the same one
-- at once collide on this index, and the loser is run again with a new code.
ALTER TABLE orders ADD COLUMN code TEXT NOT NULL DEFAULT '';
UPDATE orders SET code = upper(substr(md5(random()::text || id::text), 1, 12)) WHERE code = '';
ALTER TABLE orders ALTER COLUMN code DROP DEFAULT;
CREATE UNIQUE INDEX orders_by_code ON orders(account_id, code);
