-- ARGV: prefix, worker, committed tconsts (JSON).  A worker started under the name of
-- one that ended without giving back what it held (killed, or cut off from Redis): what
-- its commit log shows committed is done, the rest goes back to the queue, as when any
-- worker reaps a dead one (its lease would never expire: the new process renews it).
local n = 0
if redis.call('SCARD', ARGV[1] .. ':claims:' .. ARGV[2]) > 0 then
  mark_done(ARGV[1], ARGV[2], cjson.decode(ARGV[3]))
  n = requeue(ARGV[1], ARGV[2])
end
return n
