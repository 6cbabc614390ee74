-- complete.lua: finish an assigned task; frees the agent's slot and records the outcome.
-- KEYS: none (built from K)
-- ARGV[1] now_ms, ARGV[2] task_id, ARGV[3] acting agent id ('' unless an agent acts), ARGV[4] actor,
-- ARGV[5] outcome JSON (resolution_code, first_contact_resolved, complaint)
-- returns {'OK', flat task hash} or a refusal
local tkey = K.task .. ARGV[2]
local t = redis.call('HMGET', tkey, 'status', 'agent', 'skill', 'accepted_ms')
if not t[1] then return fail('NOTFOUND', 'task ' .. ARGV[2] .. ' not found') end
if ARGV[3] ~= '' and ARGV[3] ~= t[2] then
  return fail('FORBIDDEN', 'task ' .. ARGV[2] .. ' is not held by agent ' .. ARGV[3])
end
if t[1] ~= 'assigned' then
  return fail('CONFLICT', 'task ' .. ARGV[2] .. ' is ' .. t[1] .. '; only an assigned task can be completed')
end
redis.call('HSET', tkey, 'status', 'completed', 'completed_ms', ARGV[1], 'outcome', ARGV[5])
release_agent(t[2], ARGV[2])
redis.call('HINCRBYFLOAT', K.agent .. t[2], 'handled_s', (NOW - tonumber(t[4])) / 1000.0)
redis.call('HSET', K.agent .. t[2], 'free_ms', ARGV[1])
redis.call('ZREM', K.sla, ARGV[2])
audit(ARGV[2], 'completed', ARGV[4], t[2], t[3], ARGV[5])
return {'OK', redis.call('HGETALL', tkey)}
