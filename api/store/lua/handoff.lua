-- handoff.lua: transfer an open task to a named agent: the holder (if any) is freed and remembered
-- as previous_agent, and the task is offered to the target at once. The SLA clock is kept (the task's
-- due times do not change). Everything is checked before anything changes.
-- KEYS: none (built from K)
-- ARGV[1] now_ms, ARGV[2] task_id, ARGV[3] acting agent id ('' unless an agent acts), ARGV[4] actor,
-- ARGV[5] target agent id, ARGV[6] offer ttl ms, ARGV[7] reason
-- returns {'OK', offer_id, expires_ms, flat task hash} or a refusal naming why
local task_id, target = ARGV[2], ARGV[5]
local tkey = K.task .. task_id
local t = redis.call('HMGET', tkey, 'status', 'agent', 'skill', 'offer_id')
if not t[1] then return fail('NOTFOUND', 'task ' .. task_id .. ' not found') end
if ARGV[3] ~= '' and ARGV[3] ~= t[2] then
  return fail('FORBIDDEN', 'task ' .. task_id .. ' is not held by agent ' .. ARGV[3])
end
if t[1] == 'completed' or t[1] == 'cancelled' then
  return fail('CONFLICT', 'task ' .. task_id .. ' is ' .. t[1] .. ' and cannot be transferred')
end
local a = redis.call('HMGET', K.agent .. target, 'status', 'active', 'capacity', 'skills')
if not a[1] then return fail('NOTFOUND', 'agent ' .. target .. ' not found') end
if t[2] == target then
  return fail('CONFLICT', 'agent ' .. target .. ' already holds task ' .. task_id)
end
local ok, skills = pcall(cjson.decode, a[4] or '{}')
if not ok or type(skills) ~= 'table' or skills[t[3]] == nil then
  return fail('CONFLICT', 'agent ' .. target .. ' does not have skill ' .. t[3] .. ' of task ' .. task_id)
end
if a[1] ~= 'available' then
  return fail('CONFLICT', 'agent ' .. target .. ' is ' .. a[1] .. ', not available')
end
if tonumber(a[2] or '0') >= tonumber(a[3] or '1') then
  return fail('CONFLICT', 'agent ' .. target .. ' has no free capacity')
end
if t[1] == 'queued' then
  redis.call('ZREM', K.queue .. t[3], task_id)
elseif t[1] == 'offered' then
  drop_offer(t[4], 'withdrawn', 0)
else
  release_agent(t[2], task_id)
end
requeue(task_id, t[2])
audit(task_id, 'transferred', ARGV[4], t[2], t[3], cjson.encode({from_agent = t[2], to_agent = target,
  reason = ARGV[7]}))
local explanation = cjson.encode({transfer = {from_agent = t[2], by = ARGV[4], reason = ARGV[7]}})
local offer_id, err = make_offer(task_id, target, ARGV[6], explanation, ARGV[4])
if err then return err end
return offer_reply(offer_id)
