-- ARGV: prefix, worker, lease_ms, n.  Claims up to n titles of the current level;
-- returns {depth, titles...} (none for a worker taken for dead).
local p, w = ARGV[1], ARGV[2]
local meta = p .. ':meta'
if redis.call('HEXISTS', p .. ':reaped', w) == 1 then  -- taken for dead: nothing more
  return {redis.call('HGET', meta, 'depth')}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', p .. ':workers', now + tonumber(ARGV[3]), w)
local out = {redis.call('HGET', meta, 'depth')}
if redis.call('HGET', meta, 'state') ~= 'running'
    or redis.call('HEXISTS', meta, 'stop_reason') == 1 then
  return out
end
local n = tonumber(ARGV[4]) + 1
while #out < n do
  local title = redis.call('LPOP', p .. ':queue')
  if not title then break end
  if redis.call('HEXISTS', p .. ':done', title) == 0
      and redis.call('HEXISTS', p .. ':claims', title) == 0 then
    redis.call('HSET', p .. ':claims', title, w)
    redis.call('SADD', p .. ':claims:' .. w, title)
    table.insert(out, title)
  end
end
redis.call('HINCRBY', meta, 'inflight', #out - 1)
return out
