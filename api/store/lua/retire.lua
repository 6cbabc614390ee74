-- retire.lua: delete an agent that holds no assigned task; its pending offers are withdrawn (tasks
-- re-queued, no miss) and its skills dropped when nothing else refers to them.
-- KEYS: none (built from K)
-- ARGV[1] now_ms, ARGV[2] agent_id, ARGV[3] actor
-- returns {'OK', offers withdrawn, skills dropped}, NOTFOUND, or CONFLICT while it holds assigned tasks
local agent_id = ARGV[2]
local akey = K.agent .. agent_id
if redis.call('EXISTS', akey) == 0 then return fail('NOTFOUND', 'agent ' .. agent_id .. ' not found') end
for _, task_id in ipairs(redis.call('SMEMBERS', K.atasks .. agent_id)) do
  if redis.call('HGET', K.task .. task_id, 'status') == 'assigned' then
    return fail('CONFLICT', 'agent ' .. agent_id .. ' holds assigned task ' .. task_id ..
      '; complete or transfer it first')
  end
end
local pending = redis.call('ZRANGE', K.aoffers .. agent_id, 0, -1)
for _, offer_id in ipairs(pending) do
  local task_id = drop_offer(offer_id, 'withdrawn', 0)
  local t = redis.call('HMGET', K.task .. task_id, 'status', 'offer_id')
  if t[1] == 'offered' and t[2] == offer_id then
    local skill = requeue(task_id, '')
    audit(task_id, 'withdrawn', ARGV[3], agent_id, skill, offer_id)
  end
end
local skills = {}
for skill, _ in pairs(cjson.decode(redis.call('HGET', akey, 'skills') or '{}')) do table.insert(skills, skill) end
redis.call('DEL', akey, K.aoffers .. agent_id, K.atasks .. agent_id, K.wake .. agent_id)
redis.call('SREM', K.agents, agent_id)
redis.call('SREM', K.available, agent_id)
notify('a:' .. agent_id)
return {'OK', #pending, prune_skills(skills)}
