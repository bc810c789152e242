-- ARGV: prefix, worker.  A worker leaving on its own.
local n = requeue(ARGV[1], ARGV[2])
redis.call('ZREM', ARGV[1] .. ':workers', ARGV[2])
redis.call('DEL', ARGV[1] .. ':committing:' .. ARGV[2])
return n
