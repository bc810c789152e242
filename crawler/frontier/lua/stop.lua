-- ARGV: prefix, reason.  Stops every worker of the crawl (the first reason holds).
return redis.call('HSETNX', ARGV[1] .. ':meta', 'stop_reason', ARGV[2])
