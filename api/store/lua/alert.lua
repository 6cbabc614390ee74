-- alert.lua: raise the next SLA stage of an open task (1 warning, 2 alert, 3 escalation) once.
-- KEYS: none (built from K)
-- ARGV[1] now_ms, ARGV[2] task_id, ARGV[3] stage, ARGV[4] sla kind, ARGV[5] owner, ARGV[6] message,
-- ARGV[7] next trigger ms ('' when this is the last stage)
-- returns {'OK', alert_id} when raised, {'NONE'} when the task is closed or the stage was raised
local tkey = K.task .. ARGV[2]
local t = redis.call('HMGET', tkey, 'status', 'agent', 'skill', 'sla_stage', 'sla_kind')
if not t[1] or t[1] == 'completed' or t[1] == 'cancelled' then
  redis.call('ZREM', K.sla, ARGV[2])
  return {'NONE'}
end
if (t[5] or 'response') ~= ARGV[4] or tonumber(t[4] or '0') >= tonumber(ARGV[3]) then return {'NONE'} end
redis.call('HSET', tkey, 'sla_stage', ARGV[3])
if ARGV[7] == '' then
  redis.call('ZREM', K.sla, ARGV[2])
else
  redis.call('ZADD', K.sla, tonumber(ARGV[7]), ARGV[2])
end
local level = ({'warning', 'alert', 'escalation'})[tonumber(ARGV[3])]
local alert_id = 'A' .. redis.call('HINCRBY', K.seq, 'alert', 1)
redis.call('HSET', K.alert .. alert_id, 'id', alert_id, 'task', ARGV[2], 'level', level, 'kind', ARGV[4],
           'owner', ARGV[5], 'message', ARGV[6], 'raised_ms', ARGV[1], 'skill', t[3], 'agent', t[2] or '')
redis.call('ZADD', K.alerts, NOW, alert_id)
if tonumber(ARGV[3]) == 3 then redis.call('HSET', tkey, 'escalated', '1') end
local event = ({'sla_warning', 'sla_alert', 'escalated'})[tonumber(ARGV[3])]
audit(ARGV[2], event, 'sla-monitor', t[2], t[3], cjson.encode({alert_id = alert_id, owner = ARGV[5],
  kind = ARGV[4], message = ARGV[6]}))
return {'OK', alert_id}
