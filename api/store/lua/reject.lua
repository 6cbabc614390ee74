-- reject.lua: the offered agent declines; the task is re-queued and the agent's miss counted.
-- KEYS: none (built from K)
-- ARGV[1] now_ms, ARGV[2] offer_id, ARGV[3] acting agent id ('' for a supervisor), ARGV[4] actor,
-- ARGV[5] misses in a row that make the agent unavailable, ARGV[6] reason
-- returns {'OK', flat task hash} or a refusal
local okey = K.offer .. ARGV[2]
local o = redis.call('HMGET', okey, 'status', 'task', 'agent', 'expires_ms')
if not o[1] then return fail('NOTFOUND', 'offer ' .. ARGV[2] .. ' not found') end
if ARGV[3] ~= '' and ARGV[3] ~= o[3] then
  return fail('FORBIDDEN', 'offer ' .. ARGV[2] .. ' was made to another agent')
end
if o[1] ~= 'pending' then return fail('CONFLICT', 'offer ' .. ARGV[2] .. ' is already ' .. o[1]) end
if tonumber(o[4]) <= NOW then return fail('CONFLICT', 'offer ' .. ARGV[2] .. ' has expired') end
local task_id, agent_id = drop_offer(ARGV[2], 'rejected', tonumber(ARGV[5]))
local skill = requeue(task_id, agent_id)
audit(task_id, 'rejected', ARGV[4], agent_id, skill, ARGV[6])
return {'OK', redis.call('HGETALL', K.task .. task_id)}
