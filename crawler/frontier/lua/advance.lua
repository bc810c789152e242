-- ARGV: prefix, expected depth, n.  Turns a complete level into the next one, with
-- Frontier.advance's order (each merge target right after the title it replaced) and
-- budget, n titles of the level a call, so that Redis keeps serving the other workers
-- between steps (a level of 100,000 titles takes seconds).  The cursor lives in meta,
-- so any worker may take the next step.  Returns {state, depth}: 'advancing' while
-- steps remain, 'busy' while the level is not complete.
local p, n = ARGV[1], tonumber(ARGV[3])
local meta = p .. ':meta'
local depth = tonumber(redis.call('HGET', meta, 'depth'))
local state = redis.call('HGET', meta, 'state')
if depth ~= tonumber(ARGV[2]) or state ~= 'running' then return {state, depth} end
if redis.call('LLEN', p .. ':queue') > 0 or redis.call('HLEN', p .. ':claims') > 0 then
  return {'busy', depth}
end
local nd = depth + 1
local pos = tonumber(redis.call('HGET', meta, 'advance_pos') or '0')
local total = redis.call('LLEN', p .. ':level')
local budget = tonumber(redis.call('HGET', meta, 'max_titles'))
               - redis.call('HLEN', p .. ':scheduled')
local over = 0
local function follow(title)
  local links = redis.call('HGET', p .. ':links', title)
  if not links then return end
  for _, similar in ipairs(cjson.decode(links)) do
    if redis.call('HEXISTS', p .. ':scheduled', similar) == 0 then
      if budget > 0 then
        redis.call('HSET', p .. ':scheduled', similar, nd)
        redis.call('RPUSH', p .. ':next', similar)
        redis.call('RPUSH', p .. ':next_queue', similar)
        budget = budget - 1
      else
        over = over + 1
      end
    end
  end
end
if nd <= tonumber(redis.call('HGET', meta, 'max_depth')) then
  for _, title in ipairs(redis.call('LRANGE', p .. ':level', pos, pos + n - 1)) do
    if redis.call('SISMEMBER', p .. ':joined', title) == 0 then
      follow(title)
      local canonical = redis.call('HGET', p .. ':aliases', title)
      if canonical and redis.call('SISMEMBER', p .. ':joined', canonical) == 1
          and redis.call('SADD', p .. ':emitted', canonical) == 1 then
        follow(canonical)
      end
    end
  end
  pos = pos + n
else
  pos = total
end
redis.call('HINCRBY', meta, 'titles_over_limit', over)
if pos < total then
  redis.call('HSET', meta, 'advance_pos', pos)
  return {'advancing', depth}
end
local count = redis.call('LLEN', p .. ':next')
redis.call('DEL', p .. ':level', p .. ':joined', p .. ':links', p .. ':emitted')
redis.call('HDEL', meta, 'advance_pos')
redis.call('HSET', meta, 'depth', nd)
redis.call('HSET', p .. ':count:scheduled', nd, count)
if count == 0 then
  redis.call('HSET', meta, 'state', 'finished')
  return {'finished', nd}
end
redis.call('RENAME', p .. ':next', p .. ':level')
redis.call('RENAME', p .. ':next_queue', p .. ':queue')
return {'running', nd}
