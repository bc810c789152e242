-- ARGV: prefix, worker, tconsts (JSON), chunk.  After the chunk entered the commit log.
local n = mark_done(ARGV[1], ARGV[2], cjson.decode(ARGV[3]))
redis.call('HSET', ARGV[1] .. ':commits:' .. ARGV[2], 'last', ARGV[4])
redis.call('DEL', ARGV[1] .. ':committing:' .. ARGV[2])
return n
