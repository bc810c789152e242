-- ARGV: prefix.  A stop (blocks) holds while any worker lives; the first worker started
-- after all of them ended clears it, as a new session of a stopped one-process run goes on.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('ZCOUNT', ARGV[1] .. ':workers', now, '+inf') == 0 then
  return redis.call('HDEL', ARGV[1] .. ':meta', 'stop_reason')
end
return 0
