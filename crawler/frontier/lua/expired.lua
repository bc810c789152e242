-- ARGV: prefix.  Workers whose lease expired, with the last chunk each was heard to
-- commit (-1: none).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for _, w in ipairs(redis.call('ZRANGEBYSCORE', ARGV[1] .. ':workers', '-inf', now)) do
  table.insert(out, {w, redis.call('HGET', ARGV[1] .. ':commits:' .. w, 'last') or '-1'})
end
return out
