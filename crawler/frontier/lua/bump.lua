-- After the guard, in a script that changes the state: a new generation, recorded as
-- this worker's last change.
GEN = redis.call('HINCRBY', G_META, 'gen', 1)
redis.call('HSET', G_PREFIX .. ':gens', G_WORKER, GEN)
