-- ARGV: prefix, worker.  At the level barrier, after the worker's last commit: what it
-- still holds (an outcome whose rows never reached a commit) is fetched again.
return requeue(ARGV[1], ARGV[2])
