-- Appends one batch of items to one account's stream, atomically: the ids, the items,
-- the last id and the relay's source position change together or not at all.
--
-- KEYS[1]  the account's stream
-- KEYS[2]  the account's meta hash (last, deleted, source)
-- ARGV[1]  the log's clock, in ms (below 2^53: Lua numbers are doubles)
-- ARGV[2]  the source position to store, or '' to leave it alone
-- ARGV[3]  the channel that announces appends
-- ARGV[4]  the account name, for the announcement
-- ARGV[5]  n, the number of items
-- ARGV[6 .. 5+2n]  per item: its type, then its JSON after the id (see codec.rs)
--
-- Returns the first id assigned as '<ms>-<seq>' (the others follow it in the same ms),
-- or false when n is 0.
--
-- Ids come from the log's clock, not from Redis's (XADD with explicit ids): max(last id,
-- clock), so they only grow when either clock steps back, and a manual clock in tests
-- decides them. Items that share a millisecond take consecutive sequence numbers.
--
-- A later argument group (after the items) can carry the outbox rows a batch came from,
-- added here to a per-account set with a TTL in the same atomic step.

local stream, meta = KEYS[1], KEYS[2]
local now, source, channel, account = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local n = tonumber(ARGV[5])

local first = false
if n > 0 then
  local ms, seq = now, 0
  local last = redis.call('HGET', meta, 'last')
  if last then
    local last_ms, last_seq = string.match(last, '^(%d+)-(%d+)$')
    if tonumber(last_ms) >= tonumber(now) then
      ms, seq = last_ms, tonumber(last_seq) + 1
    end
  end
  -- 0-0 is not a valid entry id; only a clock at the epoch would ask for it.
  if ms == '0' and seq == 0 then
    seq = 1
  end
  if seq + n > 9007199254740991 then
    return redis.error_reply('ERR item sequence out of range in ' .. stream)
  end
  for i = 0, n - 1 do
    local id = ms .. '-' .. string.format('%d', seq + i)
    redis.call('XADD', stream, id, 't', ARGV[6 + 2 * i], 'j', ARGV[7 + 2 * i])
  end
  local last_id = ms .. '-' .. string.format('%d', seq + n - 1)
  redis.call('HSET', meta, 'last', last_id)
  redis.call('PUBLISH', channel, account .. ' ' .. last_id)
  first = ms .. '-' .. string.format('%d', seq)
end
if source ~= '' then
  redis.call('HSET', meta, 'source', source)
end
return first
