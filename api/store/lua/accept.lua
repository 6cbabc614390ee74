-- accept.lua: the offered agent takes the task; it becomes assigned and its resolution SLA starts.
-- KEYS: none (built from K)
-- ARGV[1] now_ms, ARGV[2] offer_id, ARGV[3] acting agent id ('' when a supervisor acts),
-- ARGV[4] actor, ARGV[5] resolution SLA first trigger ms offset from resolve_by (negative warn)
-- returns {'OK', flat task hash} or a refusal
local okey = K.offer .. ARGV[2]
local o = redis.call('HMGET', okey, 'status', 'task', 'agent', 'expires_ms')
if not o[1] then return fail('NOTFOUND', 'offer ' .. ARGV[2] .. ' not found') end
if ARGV[3] ~= '' and ARGV[3] ~= o[3] then
  return fail('FORBIDDEN', 'offer ' .. ARGV[2] .. ' was made to another agent')
end
if o[1] ~= 'pending' then return fail('CONFLICT', 'offer ' .. ARGV[2] .. ' is already ' .. o[1]) end
if tonumber(o[4]) <= NOW then return fail('CONFLICT', 'offer ' .. ARGV[2] .. ' has expired') end
local task_id, agent_id = o[2], o[3]
redis.call('HSET', okey, 'status', 'accepted', 'closed_ms', ARGV[1])
redis.call('ZREM', K.offer_expiry, ARGV[2])
redis.call('ZREM', K.aoffers .. agent_id, ARGV[2])
local tkey = K.task .. task_id
redis.call('HSET', tkey, 'status', 'assigned', 'accepted_ms', ARGV[1], 'sla_stage', 0, 'sla_kind', 'resolution')
redis.call('HSET', K.agent .. agent_id, 'misses', 0)
local t = redis.call('HMGET', tkey, 'skill', 'resolve_by_ms')
redis.call('ZADD', K.sla, tonumber(t[2]) + tonumber(ARGV[5]), task_id)
audit(task_id, 'accepted', ARGV[4], agent_id, t[1], '')
audit(task_id, 'started', ARGV[4], agent_id, t[1], '')
return {'OK', redis.call('HGETALL', tkey)}
