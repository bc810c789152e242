-- ARGV: prefix.  What Redis holds for the crawl, read at once: {rebuild lock holder or '',
-- 'valid', run_id, arguments, state, started_at, epoch, gen}; or {holder, 'none', meta's
-- epoch or '', the sentinel or ''} when it holds nothing a worker may trust (no meta, no
-- sentinel, or not the same epoch in both).
local p = ARGV[1]
local meta = p .. ':meta'
local holder = redis.call('GET', p .. ':rebuild') or ''
local epoch = redis.call('HGET', meta, 'epoch')
local sentinel = redis.call('GET', p .. ':epoch')
if not epoch or sentinel ~= epoch then return {holder, 'none', epoch or '', sentinel or ''} end
return {holder, 'valid', redis.call('HGET', meta, 'run_id'),
        redis.call('HGET', meta, 'arguments'), redis.call('HGET', meta, 'state'),
        redis.call('HGET', meta, 'started_at'), epoch, redis.call('HGET', meta, 'gen')}
