-- What shoppers see of an event and its organiser, Dutch translations of catalog names,
-- and the public order codes shown instead of the sequential order ids.
ALTER TABLE accounts ADD COLUMN organiser_name TEXT;
ALTER TABLE accounts ADD COLUMN terms_url TEXT;
ALTER TABLE accounts ADD COLUMN privacy_url TEXT;

-- start_ms and end_ms are Unix milliseconds; timezone is an IANA name ('Europe/Brussels')
-- or a fixed offset ('+01:00') the times are shown in. A NULL start_ms marks an event
-- imported before catalogs had times. `date` (0002) is no longer written.
ALTER TABLE events ADD COLUMN start_ms INTEGER;
ALTER TABLE events ADD COLUMN end_ms INTEGER;
ALTER TABLE events ADD COLUMN timezone TEXT NOT NULL DEFAULT '+00:00';
ALTER TABLE events ADD COLUMN venue_name TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN venue_address TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN description_nl TEXT;
ALTER TABLE events ADD COLUMN image TEXT;
ALTER TABLE events ADD COLUMN name_nl TEXT;
ALTER TABLE tickettypes ADD COLUMN name_nl TEXT;
ALTER TABLE products ADD COLUMN name_nl TEXT;
ALTER TABLE saleschannels ADD COLUMN name_nl TEXT;
ALTER TABLE pricetypes ADD COLUMN name_nl TEXT;
ALTER TABLE deliveryscenarios ADD COLUMN name_nl TEXT;
ALTER TABLE paymentscenarios ADD COLUMN name_nl TEXT;

-- A random code per order, unique per account. Orders made before get one here.
ALTER TABLE orders ADD COLUMN code TEXT NOT NULL DEFAULT '';
UPDATE orders SET code = upper(hex(randomblob(6))) WHERE code = '';
CREATE UNIQUE INDEX orders_by_code ON orders(account_id, code);
