-- ARGV: prefix, worker, committed tconsts (JSON).  Reaps a worker whose lease expired
-- (checked again here: it may have come back since).
local p, w = ARGV[1], ARGV[2]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expiry = redis.call('ZSCORE', p .. ':workers', w)
if expiry and tonumber(expiry) > now then return -1 end
mark_done(p, w, cjson.decode(ARGV[3]))
local n = requeue(p, w)
redis.call('ZREM', p .. ':workers', w)
return n
