-- ARGV: prefix, token, ttl ms.  1 (and the lease renewed) while the caller still holds
-- the rebuild lock, else 0.
if redis.call('GET', ARGV[1] .. ':rebuild') ~= ARGV[2] then return 0 end
redis.call('PEXPIRE', ARGV[1] .. ':rebuild', tonumber(ARGV[3]))
return 1
