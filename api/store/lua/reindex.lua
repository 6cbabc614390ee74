-- reindex.lua: rebuild the index of available agents from the agent hashes, atomically (run on start:
-- data written before the index existed, or edited by hand).
-- KEYS: none (built from K)
-- ARGV[1] now_ms
-- returns {'OK', number of available agents}
redis.call('DEL', K.available)
local n = 0
for _, agent_id in ipairs(redis.call('SMEMBERS', K.agents)) do
  if redis.call('HGET', K.agent .. agent_id, 'status') == 'available' then
    redis.call('SADD', K.available, agent_id)
    n = n + 1
  end
end
return {'OK', n}
