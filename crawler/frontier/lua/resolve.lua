-- ARGV: prefix, worker, tconst, outcome.  1 when recorded; 0 when the title is not the
-- worker's any more (it was reaped): its rows will then be written by another worker.
local p, w, title = ARGV[1], ARGV[2], ARGV[3]
if redis.call('HGET', p .. ':claims', title) ~= w then return 0 end
if redis.call('HEXISTS', p .. ':out:' .. w, title) == 0 then
  redis.call('HINCRBY', p .. ':meta', 'inflight', -1)
end
redis.call('HSET', p .. ':out:' .. w, title, ARGV[4])
return 1
