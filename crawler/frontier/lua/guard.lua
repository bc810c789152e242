-- Every frontier script a worker runs starts here (crawler.frontier.shared._guarded).
-- ARGV[2..5] are the guard's: the epoch the worker joined, the worker, the highest
-- generation of the state it saw, and the generation of its own last change.  They are
-- taken out of ARGV, so the script after this one reads its arguments as if called
-- without them.
--
-- The state is trusted only when the meta hash and the sentinel key <prefix>:epoch both
-- hold the worker's epoch, and no counter went back: the crawl's generation (meta gen,
-- bumped by every change) is not below the highest the worker saw, and the generation
-- Redis recorded for the worker's own last change (<prefix>:gens) is not below the one
-- the worker remembers.  Otherwise the call fails with 'FRONTIER_FORGOT <why>'.  An
-- epoch is '<incarnation>.<random>': a new session that rebuilt the crawl has a higher
-- incarnation; a lower one, or a generation gone back, is an older snapshot.  A
-- generation gone back also deletes the sentinel, so that every other worker of that
-- epoch stops at its next call too, whatever it saw.
local G_PREFIX = ARGV[1]
local G_EPOCH, G_WORKER = ARGV[2], ARGV[3]
local G_SEEN, G_MINE = tonumber(ARGV[4]), tonumber(ARGV[5])
for _ = 1, 4 do table.remove(ARGV, 2) end
local G_META = G_PREFIX .. ':meta'
local g_stored = redis.call('HGET', G_META, 'epoch')
if not g_stored then
  return redis.error_reply('FRONTIER_FORGOT Redis no longer holds the crawl '
                           .. '(restarted without its data, or flushed)')
end
if redis.call('GET', G_PREFIX .. ':epoch') ~= g_stored then
  return redis.error_reply('FRONTIER_FORGOT Redis holds an older or partial state of the '
                           .. 'crawl (an older snapshot, or keys lost)')
end
local G_OLDER = 'FRONTIER_FORGOT Redis holds an older state of the crawl '
                .. '(an older snapshot was restored)'
if g_stored ~= G_EPOCH then
  local function incarnation(epoch) return tonumber(string.match(epoch, '^(%d+)%.')) end
  if incarnation(g_stored) > incarnation(G_EPOCH) then
    return redis.error_reply('FRONTIER_FORGOT a new session rebuilt the crawl')
  end
  return redis.error_reply(G_OLDER)
end
local GEN = tonumber(redis.call('HGET', G_META, 'gen'))
if GEN < G_SEEN
    or tonumber(redis.call('HGET', G_PREFIX .. ':gens', G_WORKER) or '0') < G_MINE then
  redis.call('DEL', G_PREFIX .. ':epoch')
  return redis.error_reply(G_OLDER)
end
