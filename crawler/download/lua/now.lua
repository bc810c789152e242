-- Times are whole milliseconds of Redis TIME: Lua formats numbers with 14 digits, so
-- microseconds since 1970 (16 digits) would be rounded when stored.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
