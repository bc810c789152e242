local p = ARGV[1]
local meta = p .. ':meta'
if redis.call('EXISTS', meta) == 1 then
  return {'joined', redis.call('HGET', meta, 'run_id'), redis.call('HGET', meta, 'arguments'),
          redis.call('HGET', meta, 'state'), redis.call('HGET', meta, 'started_at')}
end
local max_titles = tonumber(ARGV[6])
local over = {}
local n = 0
for _, t in ipairs(cjson.decode(ARGV[7])) do
  if redis.call('HEXISTS', p .. ':scheduled', t) == 0 then
    if n < max_titles then
      redis.call('HSET', p .. ':scheduled', t, 0)
      redis.call('RPUSH', p .. ':level', t)
      redis.call('RPUSH', p .. ':queue', t)
      n = n + 1
    else
      table.insert(over, t)
    end
  end
end
redis.call('HSET', p .. ':count:scheduled', 0, n)
redis.call('HSET', meta, 'run_id', ARGV[2], 'arguments', ARGV[3], 'started_at', ARGV[4],
           'depth', 0, 'max_depth', ARGV[5], 'max_titles', ARGV[6], 'state', 'running',
           'inflight', 0, 'titles_over_limit', 0, 'seeds_over_limit', cjson.encode(over))
return {'created', ARGV[2], ARGV[3], 'running', ARGV[4]}
