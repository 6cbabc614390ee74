-- update.lua: change an open task's priority flags and due times (PATCH, escalate); a queued
-- task is re-scored at once.
-- KEYS: none (built from K)
-- ARGV[1] now_ms, ARGV[2] task_id, ARGV[3] acting agent id ('' unless an agent acts), ARGV[4] actor,
-- ARGV[5] event name, ARGV[6] event data, ARGV[7] due_ms, ARGV[8] sla trigger ms ('' keeps),
-- ARGV[9..] field, value pairs
-- returns {'OK', flat task hash} or a refusal
local tkey = K.task .. ARGV[2]
local t = redis.call('HMGET', tkey, 'status', 'agent', 'skill')
if not t[1] then return fail('NOTFOUND', 'task ' .. ARGV[2] .. ' not found') end
if ARGV[3] ~= '' and ARGV[3] ~= t[2] then
  return fail('FORBIDDEN', 'task ' .. ARGV[2] .. ' is not held by agent ' .. ARGV[3])
end
if t[1] == 'completed' or t[1] == 'cancelled' then
  return fail('CONFLICT', 'task ' .. ARGV[2] .. ' is ' .. t[1] .. ' and cannot change')
end
redis.call('HSET', tkey, 'due_ms', ARGV[7], unpack(ARGV, 9))
if t[1] == 'queued' then
  redis.call('ZADD', K.queue .. t[3], tonumber(ARGV[7]), ARGV[2])
end
if ARGV[8] ~= '' then
  redis.call('ZADD', K.sla, tonumber(ARGV[8]), ARGV[2])
end
audit(ARGV[2], ARGV[5], ARGV[4], t[2], t[3], ARGV[6])
return {'OK', redis.call('HGETALL', tkey)}
