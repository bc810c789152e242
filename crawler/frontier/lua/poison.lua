-- ARGV: prefix, epoch.  The state of that epoch is older than what OUTPUT_DIR recorded:
-- no worker may use it any more (the guard fails without the sentinel).
if redis.call('GET', ARGV[1] .. ':epoch') == ARGV[2] then
  return redis.call('DEL', ARGV[1] .. ':epoch')
end
return 0
