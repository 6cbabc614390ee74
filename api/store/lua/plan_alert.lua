-- plan_alert.lua: raise a floor alert (kind 'adherence' or 'staffing') once per occasion.
-- KEYS[1] the occasion's mark (set while the occasion is remembered)
-- ARGV[1] now_ms, ARGV[2] mark ttl ms, ARGV[3] kind, ARGV[4] level, ARGV[5] owner, ARGV[6] message,
-- ARGV[7] skill, ARGV[8] agent id, ARGV[9] audit event name, ARGV[10] data (JSON text)
-- returns {'OK', alert_id} when raised, {'NONE'} when this occasion was alerted already
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', tonumber(ARGV[2])) then return {'NONE'} end
local alert_id = 'A' .. redis.call('HINCRBY', K.seq, 'alert', 1)
redis.call('HSET', K.alert .. alert_id, 'id', alert_id, 'task', '', 'level', ARGV[4], 'kind', ARGV[3],
           'owner', ARGV[5], 'message', ARGV[6], 'raised_ms', ARGV[1], 'skill', ARGV[7], 'agent', ARGV[8])
redis.call('ZADD', K.alerts, NOW, alert_id)
local data = cjson.decode(ARGV[10])
data['alert_id'] = alert_id
data['owner'] = ARGV[5]
data['kind'] = ARGV[3]
data['message'] = ARGV[6]
redis.call('XADD', K.audit, 'MAXLEN', '~', 5000000, '*', 'task', '', 'event', ARGV[9], 'actor', 'floor-monitor',
           'at', ARGV[1], 'agent', ARGV[8], 'skill', ARGV[7], 'data', cjson.encode(data))
return {'OK', alert_id}
