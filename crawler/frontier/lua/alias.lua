-- ARGV: prefix, worker, tconst, canonical.  Resolves tconst as merged into canonical;
-- 1 when canonical is new to the crawl: it joins the level, claimed by this worker.
local p, w, title, canonical = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local meta = p .. ':meta'
if redis.call('HGET', p .. ':claims', title) ~= w then return 0 end
if redis.call('HEXISTS', p .. ':out:' .. w, title) == 0 then
  redis.call('HINCRBY', meta, 'inflight', -1)
end
redis.call('HSET', p .. ':out:' .. w, title, 'alias')
redis.call('HSET', p .. ':aliases', title, canonical)
redis.call('HSET', p .. ':alias_of', canonical, title)
if redis.call('HEXISTS', p .. ':scheduled', canonical) == 1 then return 0 end
if redis.call('HLEN', p .. ':scheduled') >= tonumber(redis.call('HGET', meta, 'max_titles')) then
  redis.call('HINCRBY', meta, 'titles_over_limit', 1)
  return 0
end
local depth = redis.call('HGET', meta, 'depth')
redis.call('HSET', p .. ':scheduled', canonical, depth)
redis.call('HINCRBY', p .. ':count:scheduled', depth, 1)
redis.call('RPUSH', p .. ':level', canonical)
redis.call('SADD', p .. ':joined', canonical)
redis.call('HSET', p .. ':claims', canonical, w)
redis.call('SADD', p .. ':claims:' .. w, canonical)
redis.call('HINCRBY', meta, 'inflight', 1)
return 1
