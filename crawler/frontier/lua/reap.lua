-- ARGV: prefix, worker, committed tconsts (JSON), decision, chunk.  Reaps a worker whose
-- lease expired (checked again here: it may have come back since).  The chunk it was
-- committing ('' none) was settled by the caller (crawler.state.commits.settle): 'done'
-- (committed: its titles are done), 'void' (not: they go back to the queue) or 'held'
-- (the worker still lives, stalled: its titles stay its own, for it to finish the commit,
-- and it stays listed, to be settled again).  Every other title it held goes back to the
-- queue, and the worker is marked reaped: it can neither claim nor commit any more.
-- -1 when nothing was done (alive again, or its commit moved on since it was settled).
local p, w, decision = ARGV[1], ARGV[2], ARGV[4]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expiry = redis.call('ZSCORE', p .. ':workers', w)
if expiry and tonumber(expiry) > now then return -1 end
local committing = p .. ':committing:' .. w
local chunk = redis.call('HGET', committing, 'chunk')
if (chunk or '') ~= ARGV[5] then return -1 end
local keep = {}
if chunk then
  local titles = cjson.decode(redis.call('HGET', committing, 'titles'))
  if decision == 'done' then
    mark_done(p, w, titles)
  elseif decision == 'held' then
    for _, title in ipairs(titles) do keep[title] = true end
  end
  if decision ~= 'held' then redis.call('DEL', committing) end
end
mark_done(p, w, cjson.decode(ARGV[3]))
local n = requeue(p, w, keep)
redis.call('HSET', p .. ':reaped', w, 1)
if next(keep) == nil then redis.call('ZREM', p .. ':workers', w) end
return n
