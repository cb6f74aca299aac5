-- Deletes one account's items below the retention horizon and records the highest id it
-- deleted, atomically, so `gap` stays exact; the records of the outbox rows those items
-- carried go with them.
--
-- KEYS[1]  the account's stream
-- KEYS[2]  the account's meta hash
-- KEYS[3]  the account's carried set (scored by the ms of the item's id)
-- ARGV[1]  the horizon '<ms>-0' (ms > 0): items below it expire
--
-- Returns the number of items deleted. A later purge only ever finds higher ids (all
-- lower ones are gone, and appends only add higher ones), so `deleted` only grows.

local horizon_ms = string.match(ARGV[1], '^(%d+)-')
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. horizon_ms)
local below = redis.call('XREVRANGE', KEYS[1], '(' .. ARGV[1], '-', 'COUNT', 1)
if #below == 0 then
  return 0
end
local deleted = redis.call('XTRIM', KEYS[1], 'MINID', ARGV[1])
redis.call('HSET', KEYS[2], 'deleted', below[1][1])
return deleted
