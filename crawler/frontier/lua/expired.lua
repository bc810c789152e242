-- ARGV: prefix.  Workers whose lease expired, each with the last chunk it was heard to
-- commit (-1: none) and the chunk it was committing ('': none).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for _, w in ipairs(redis.call('ZRANGEBYSCORE', ARGV[1] .. ':workers', '-inf', now)) do
  table.insert(out, {w, redis.call('HGET', ARGV[1] .. ':commits:' .. w, 'last') or '-1',
                     redis.call('HGET', ARGV[1] .. ':committing:' .. w, 'chunk') or ''})
end
return out
