-- KEYS: slots, meta.  ARGV: holder, limit, lease ms.
-- The stop reason (a string) once the crawl is stopped; else 1 (held) or 0 (all taken).
local stop = redis.call('HGET', KEYS[2], 'stop_reason')
if stop then return stop end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) + 60000)
return 1
