-- lease.lua: take or renew the dispatch lease; only its holder runs a batch.
-- KEYS: none (built from K)
-- ARGV[1] now_ms, ARGV[2] owner id, ARGV[3] lease ms
-- returns {'OK', 1} when held by owner, {'OK', 0} when another owner holds a live lease
local v = redis.call('GET', K.lease)
if v then
  local sep = string.find(v, '|', 1, true)
  local holder, expires = string.sub(v, 1, sep - 1), tonumber(string.sub(v, sep + 1))
  if holder ~= ARGV[2] and expires > NOW then return {'OK', 0} end
end
redis.call('SET', K.lease, ARGV[2] .. '|' .. (NOW + tonumber(ARGV[3])), 'PX', tonumber(ARGV[3]) * 4)
return {'OK', 1}
