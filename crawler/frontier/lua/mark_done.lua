-- Marks a worker's titles done (their rows are committed).  Shared by commit and reap.
local function mark_done(p, w, titles)
  local n = 0
  for _, title in ipairs(titles) do
    local outcome = redis.call('HGET', p .. ':out:' .. w, title)
    if not outcome and redis.call('HGET', p .. ':claims', title) == w then
      -- committed by a worker that died before telling Redis of the outcome
      redis.call('HINCRBY', p .. ':meta', 'inflight', -1)
      outcome = 'committed'
    end
    if outcome and redis.call('HGET', p .. ':claims', title) == w then
      redis.call('HSET', p .. ':done', title, outcome)
      redis.call('HDEL', p .. ':claims', title)
      redis.call('SREM', p .. ':claims:' .. w, title)
      redis.call('HDEL', p .. ':out:' .. w, title)
      redis.call('HINCRBY', p .. ':count:done', redis.call('HGET', p .. ':scheduled', title), 1)
      n = n + 1
    end
  end
  return n
end
