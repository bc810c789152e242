-- KEYS: blocks list, meta.  ARGV: 1 (a block) or 0, window, stop ratio.
-- {blocks in the window, answers in the window, 1 if this call stopped the crawl, reason or ''}
redis.call('LPUSH', KEYS[1], ARGV[1])
local window = tonumber(ARGV[2])
redis.call('LTRIM', KEYS[1], 0, window - 1)
local seen = redis.call('LRANGE', KEYS[1], 0, -1)
local blocks = 0
for _, v in ipairs(seen) do
  if v == '1' then blocks = blocks + 1 end
end
local stop = redis.call('HGET', KEYS[2], 'stop_reason')
local mine = 0
if not stop and #seen >= window and blocks >= tonumber(ARGV[3]) * #seen then
  redis.call('HSET', KEYS[2], 'stop_reason', 'blocked')
  stop = 'blocked'
  mine = 1
end
return {blocks, #seen, mine, stop or ''}
