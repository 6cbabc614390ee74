-- transfer.lua: hand an open task back to the queue, optionally of another skill; the holder is
-- freed (no miss) and remembered as previous_agent.
-- KEYS: none (built from K)
-- ARGV[1] now_ms, ARGV[2] task_id, ARGV[3] acting agent id ('' unless an agent acts), ARGV[4] actor,
-- ARGV[5] new skill ('' keeps it), ARGV[6] reason
-- returns {'OK', flat task hash} or a refusal
local tkey = K.task .. ARGV[2]
local t = redis.call('HMGET', tkey, 'status', 'agent', 'skill', 'offer_id')
if not t[1] then return fail('NOTFOUND', 'task ' .. ARGV[2] .. ' not found') end
if ARGV[3] ~= '' and ARGV[3] ~= t[2] then
  return fail('FORBIDDEN', 'task ' .. ARGV[2] .. ' is not held by agent ' .. ARGV[3])
end
if t[1] == 'completed' or t[1] == 'cancelled' then
  return fail('CONFLICT', 'task ' .. ARGV[2] .. ' is ' .. t[1] .. ' and cannot be transferred')
end
if t[1] == 'queued' then
  redis.call('ZREM', K.queue .. t[3], ARGV[2])
elseif t[1] == 'offered' then
  drop_offer(t[4], 'withdrawn', 0)
else
  release_agent(t[2], ARGV[2])
end
if ARGV[5] ~= '' then
  redis.call('HSET', tkey, 'skill', ARGV[5])
  redis.call('SADD', K.skills, ARGV[5])
end
local skill = requeue(ARGV[2], t[2])
audit(ARGV[2], 'transferred', ARGV[4], t[2], skill, cjson.encode({from_skill = t[3], to_skill = skill,
  from_agent = t[2], reason = ARGV[6]}))
return {'OK', redis.call('HGETALL', tkey)}
