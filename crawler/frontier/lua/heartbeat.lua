-- ARGV: prefix, worker, lease_ms.  Renews the worker's lease.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', ARGV[1] .. ':workers', now + tonumber(ARGV[3]), ARGV[2])
return now
