-- Appends one batch of items to one account's stream, atomically: the ids, the items,
-- the last id and the record of the outbox rows they carry change together or not at all.
--
-- KEYS[1]  the account's stream
-- KEYS[2]  the account's meta hash (last, deleted)
-- KEYS[3]  the account's carried set: outbox row ids scored by the ms of their item's id
-- ARGV[1]  the log's clock, in ms (below 2^53: Lua numbers are doubles)
-- ARGV[2]  the channel that announces appends
-- ARGV[3]  the account name, for the announcement
-- ARGV[4]  n, the number of items
-- ARGV[5]  '1' when every item carries an outbox row, '0' otherwise
-- ARGV[6 ..]  per item: its type, its JSON after the id (see codec.rs) and, when
--             ARGV[5] is '1', the id of the outbox row it carries
--
-- Returns { first, skipped }: first is the first id assigned as '<ms>-<seq>' (the
-- others follow it in the same ms), or false when nothing was appended; skipped lists
-- the (0-based) positions of items left out because the carried set already held their
-- row: an earlier append carried it.
--
-- Ids come from the log's clock, not from Redis's (XADD with explicit ids): max(last id,
-- clock), so they only grow when either clock steps back, and a manual clock in tests
-- decides them. Items that share a millisecond take consecutive sequence numbers.

local stream, meta, carried = KEYS[1], KEYS[2], KEYS[3]
local now, channel, account = ARGV[1], ARGV[2], ARGV[3]
local n = tonumber(ARGV[4])
local with_rows = ARGV[5] == '1'
local width = with_rows and 3 or 2

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

local first, appended, skipped = false, 0, {}
for i = 0, n - 1 do
  local base = 6 + width * i
  local row = with_rows and ARGV[base + 2]
  if row and redis.call('ZSCORE', carried, row) then
    skipped[#skipped + 1] = i
  else
    local id = ms .. '-' .. string.format('%d', seq + appended)
    redis.call('XADD', stream, id, 't', ARGV[base], 'j', ARGV[base + 1])
    if row then
      redis.call('ZADD', carried, ms, row)
    end
    if not first then
      first = id
    end
    appended = appended + 1
  end
end
if appended > 0 then
  local last_id = ms .. '-' .. string.format('%d', seq + appended - 1)
  redis.call('HSET', meta, 'last', last_id)
  redis.call('PUBLISH', channel, account .. ' ' .. last_id)
end
return { first, skipped }
