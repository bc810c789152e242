-- Puts every title a worker still holds back in the queue, forgetting what it found;
-- but those in ``keep`` (a set, may be nil), which stay its own.  How many went back.
local function requeue(p, w, keep)
  keep = keep or {}
  local meta = p .. ':meta'
  local n = 0
  for _, title in ipairs(redis.call('SMEMBERS', p .. ':claims:' .. w)) do
    if not keep[title] then
      if redis.call('HGET', p .. ':claims', title) == w then
        redis.call('HDEL', p .. ':claims', title)
        if redis.call('HEXISTS', p .. ':out:' .. w, title) == 0 then
          redis.call('HINCRBY', meta, 'inflight', -1)
        end
        redis.call('HDEL', p .. ':links', title)
        local canonical = redis.call('HGET', p .. ':aliases', title)
        if canonical then
          redis.call('HDEL', p .. ':aliases', title)
          redis.call('HDEL', p .. ':alias_of', canonical)
        end
        redis.call('LPUSH', p .. ':queue', title)
      end
      redis.call('SREM', p .. ':claims:' .. w, title)
      redis.call('HDEL', p .. ':out:' .. w, title)
      n = n + 1
    end
  end
  if next(keep) == nil then
    redis.call('DEL', p .. ':claims:' .. w, p .. ':out:' .. w, p .. ':commits:' .. w)
  end
  return n
end
