-- Puts every title a worker still holds back in the queue, forgetting what it found.
local function requeue(p, w)
  local meta = p .. ':meta'
  local held = redis.call('SMEMBERS', p .. ':claims:' .. w)
  for _, title in ipairs(held) do
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
  end
  redis.call('DEL', p .. ':claims:' .. w, p .. ':out:' .. w, p .. ':commits:' .. w)
  return #held
end
