-- cancel.lua: withdraw a task in any open state; an open offer is closed without a miss.
-- KEYS: none (built from K)
-- ARGV[1] now_ms, ARGV[2] task_id, ARGV[3] actor, ARGV[4] reason
-- returns {'OK', flat task hash} or a refusal
local tkey = K.task .. ARGV[2]
local t = redis.call('HMGET', tkey, 'status', 'agent', 'skill', 'offer_id')
if not t[1] then return fail('NOTFOUND', 'task ' .. ARGV[2] .. ' not found') end
if t[1] == 'completed' or t[1] == 'cancelled' then
  return fail('CONFLICT', 'task ' .. ARGV[2] .. ' is already ' .. t[1])
end
if t[1] == 'queued' then
  redis.call('ZREM', K.queue .. t[3], ARGV[2])
elseif t[1] == 'offered' then
  drop_offer(t[4], 'cancelled', 0)
else
  release_agent(t[2], ARGV[2])
end
redis.call('HSET', tkey, 'status', 'cancelled', 'cancelled_ms', ARGV[1], 'offer_id', '')
redis.call('ZREM', K.sla, ARGV[2])
audit(ARGV[2], 'cancelled', ARGV[3], t[2], t[3], ARGV[4])
return {'OK', redis.call('HGETALL', tkey)}
