-- ARGV: prefix, lock token, epoch, meta (JSON object of strings), staged names (JSON list).
-- If the caller still holds the rebuild lock: deletes whatever the crawl's keys hold (a
-- state lost in part, forgotten or stale), moves the state staged under
-- <prefix>:stage:<token>:<name> into place, and writes meta and the sentinel last, all at
-- once.  1 when installed, 0 when the lock was lost.
local p, token = ARGV[1], ARGV[2]
if redis.call('GET', p .. ':rebuild') ~= token then return 0 end
local workers = {}
for _, w in ipairs(redis.call('ZRANGE', p .. ':workers', 0, -1)) do workers[w] = true end
for _, w in ipairs(redis.call('HKEYS', p .. ':gens')) do workers[w] = true end
for _, w in ipairs(redis.call('HVALS', p .. ':claims')) do workers[w] = true end
for w in pairs(workers) do
  redis.call('DEL', p .. ':claims:' .. w, p .. ':out:' .. w, p .. ':commits:' .. w,
             p .. ':committing:' .. w)
end
for _, name in ipairs({'meta', 'epoch', 'scheduled', 'level', 'joined', 'queue', 'next',
                       'next_queue', 'emitted', 'claims', 'done', 'links', 'aliases',
                       'alias_of', 'workers', 'count:scheduled', 'count:done', 'gens',
                       'reaped', 'polite:blocks'}) do
  redis.call('DEL', p .. ':' .. name)
end
for _, name in ipairs(cjson.decode(ARGV[5])) do
  local staged = p .. ':stage:' .. token .. ':' .. name
  if redis.call('EXISTS', staged) == 1 then
    redis.call('PERSIST', staged)
    redis.call('RENAME', staged, p .. ':' .. name)
  end
end
for field, value in pairs(cjson.decode(ARGV[4])) do
  redis.call('HSET', p .. ':meta', field, value)
end
redis.call('HSET', p .. ':meta', 'epoch', ARGV[3], 'gen', 1)
redis.call('SET', p .. ':epoch', ARGV[3])
redis.call('DEL', p .. ':rebuild')
return 1
