-- ARGV: prefix, worker, lease_ms, chunk, tconsts (JSON).  The commit-time claim: before
-- a worker commits a chunk, every title of it must still be its own (not reaped and
-- handed to another).  Then the chunk is recorded as being committed (the reaper settles
-- it rather than requeue its titles) and the lease renewed.  'ok'; 'reaped' when the
-- worker was taken for dead; 'lost' when a title is no longer its own.
local p, w = ARGV[1], ARGV[2]
if redis.call('HEXISTS', p .. ':reaped', w) == 1 then return 'reaped' end
for _, title in ipairs(cjson.decode(ARGV[5])) do
  if redis.call('HGET', p .. ':claims', title) ~= w then return 'lost' end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', p .. ':workers', now + tonumber(ARGV[3]), w)
redis.call('HSET', p .. ':committing:' .. w, 'chunk', ARGV[4], 'titles', ARGV[5])
return 'ok'
