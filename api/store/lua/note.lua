-- note.lua: append an event to an existing task's trail (satisfaction score, comments).
-- KEYS: none (built from K)
-- ARGV[1] now_ms, ARGV[2] task_id, ARGV[3] event, ARGV[4] actor, ARGV[5] data,
-- ARGV[6] task field to set ('' for none), ARGV[7] its value
-- returns {'OK'} or NOTFOUND
local tkey = K.task .. ARGV[2]
local t = redis.call('HMGET', tkey, 'status', 'agent', 'skill')
if not t[1] then return fail('NOTFOUND', 'task ' .. ARGV[2] .. ' not found') end
if ARGV[6] ~= '' then redis.call('HSET', tkey, ARGV[6], ARGV[7]) end
audit(ARGV[2], ARGV[3], ARGV[4], t[2], t[3], ARGV[5])
return {'OK'}
