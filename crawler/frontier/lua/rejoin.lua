-- ARGV: prefix, worker, committed tconsts (JSON), decision, chunk.  A worker started
-- under the name of one that ended without giving back what it held (killed, cut off
-- from Redis, or taken for dead): the chunk the old one was committing ('' none) is
-- settled by the caller, 'done' or 'void'; what its commit log shows committed is done;
-- the rest goes back to the queue, as when any worker reaps a dead one (its lease would
-- never expire: the new process renews it).  The new process may claim again.
local p, w = ARGV[1], ARGV[2]
local committing = p .. ':committing:' .. w
local n = 0
redis.call('HDEL', p .. ':reaped', w)
if ARGV[4] == 'done' and redis.call('HGET', committing, 'chunk') == ARGV[5] then
  mark_done(p, w, cjson.decode(redis.call('HGET', committing, 'titles')))
end
redis.call('DEL', committing)
if redis.call('SCARD', p .. ':claims:' .. w) > 0 then
  mark_done(p, w, cjson.decode(ARGV[3]))
  n = requeue(p, w)
end
return n
