-- ARGV: prefix.  {titles of the level in the queue, claimed without an outcome, held}.
return {redis.call('LLEN', ARGV[1] .. ':queue'),
        tonumber(redis.call('HGET', ARGV[1] .. ':meta', 'inflight') or '0'),
        redis.call('HLEN', ARGV[1] .. ':claims')}
