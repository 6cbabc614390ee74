-- expire.lua: sweep offers past their expiry: re-queue the task, count the agent's miss.
-- Also what recovery runs on restart.
-- KEYS: none (built from K)
-- ARGV[1] now_ms, ARGV[2] misses in a row that make the agent unavailable, ARGV[3] max offers swept
-- returns {'OK', number of offers expired}
local ids = redis.call('ZRANGEBYSCORE', K.offer_expiry, '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local expired = 0
for _, offer_id in ipairs(ids) do
  if redis.call('HGET', K.offer .. offer_id, 'status') == 'pending' then
    local task_id, agent_id = drop_offer(offer_id, 'expired', tonumber(ARGV[2]))
    local t = redis.call('HMGET', K.task .. task_id, 'status', 'offer_id')
    if t[1] == 'offered' and t[2] == offer_id then
      local skill = requeue(task_id, agent_id)
      audit(task_id, 'expired', 'dispatcher', agent_id, skill, offer_id)
    end
    expired = expired + 1
  else
    redis.call('ZREM', K.offer_expiry, offer_id)
  end
end
return {'OK', expired}
