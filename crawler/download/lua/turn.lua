-- KEYS: turn, slots, meta.  ARGV: delay ms, this worker's DOWNLOAD_DELAY ms, holder, lease ms.
-- Milliseconds to wait for the turn, or -1 once the crawl is stopped.  The holder's lease
-- is renewed to run from the turn, however long the wait.
if redis.call('HGET', KEYS[3], 'stop_reason') then return -1 end
local floor = math.max(tonumber(ARGV[2]), tonumber(redis.call('HGET', KEYS[1], 'floor') or 0))
local gap = math.max(tonumber(ARGV[1]), floor)
local last = tonumber(redis.call('HGET', KEYS[1], 'last') or 0)
local at = math.max(now, last + gap)
redis.call('HSET', KEYS[1], 'last', at, 'floor', floor)
redis.call('PEXPIRE', KEYS[1], at - now + 3600000)
if ARGV[3] ~= '' then
  redis.call('ZADD', KEYS[2], 'XX', at + tonumber(ARGV[4]), ARGV[3])
end
return at - now
