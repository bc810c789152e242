-- ARGV: prefix, tconst, similar tconsts (JSON).  A fetched title's links.
redis.call('HSET', ARGV[1] .. ':links', ARGV[2], ARGV[3])
return 1
