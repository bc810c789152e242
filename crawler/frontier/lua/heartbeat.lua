-- ARGV: prefix, worker, lease_ms.  Renews the worker's lease; -1 when it was taken for
-- dead (reaped): it must stop, what it held went to others.
if redis.call('HEXISTS', ARGV[1] .. ':reaped', ARGV[2]) == 1 then return -1 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', ARGV[1] .. ':workers', now + tonumber(ARGV[3]), ARGV[2])
return now
