-- status.lua: set an agent's status. Leaving 'available' withdraws its pending offers (no miss,
-- tasks re-queued); becoming available clears the miss count. Keeps the index of available agents.
-- KEYS: none (built from K)
-- ARGV[1] now_ms, ARGV[2] agent_id, ARGV[3] status, ARGV[4] actor
-- returns {'OK', number of offers withdrawn} or NOTFOUND
local akey = K.agent .. ARGV[2]
if redis.call('EXISTS', akey) == 0 then return fail('NOTFOUND', 'agent ' .. ARGV[2] .. ' not found') end
redis.call('HSET', akey, 'status', ARGV[3], 'status_ms', ARGV[1])
if ARGV[3] == 'available' then
  redis.call('HSET', akey, 'misses', 0)
  redis.call('SADD', K.available, ARGV[2])
  kick()
  notify('a:' .. ARGV[2])
  return {'OK', 0}
end
redis.call('SREM', K.available, ARGV[2])
local pending = redis.call('ZRANGE', K.aoffers .. ARGV[2], 0, -1)
for _, offer_id in ipairs(pending) do
  local task_id = drop_offer(offer_id, 'withdrawn', 0)
  local t = redis.call('HMGET', K.task .. task_id, 'status', 'offer_id')
  if t[1] == 'offered' and t[2] == offer_id then
    local skill = requeue(task_id, '')
    audit(task_id, 'withdrawn', ARGV[4], ARGV[2], skill, offer_id)
  end
end
return {'OK', #pending}
