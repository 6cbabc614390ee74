-- plan_board.lua: the fields the floor views need of every agent, in one reply (no per-agent round trip).
-- KEYS: none (built from K)
-- ARGV[1] now_ms (unused)
-- returns a flat list: id, status, status_ms, active, skills (JSON), supervisor, repeated per agent
local FIELDS = {'id', 'status', 'status_ms', 'active', 'skills', 'supervisor'}
local out = {}
for _, agent_id in ipairs(redis.call('SMEMBERS', K.agents)) do
  local v = redis.call('HMGET', K.agent .. agent_id, unpack(FIELDS))
  if v[1] then
    for i = 1, #FIELDS do out[#out + 1] = v[i] or '' end
  end
end
return out
