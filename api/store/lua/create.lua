-- create.lua: create a task once per (source, external_id); a repeat returns the stored task.
-- KEYS: none (built from K)
-- ARGV[1] now_ms, ARGV[2] source, ARGV[3] external_id, ARGV[4] skill, ARGV[5] due_ms (queue score),
-- ARGV[6] sla_ms (first SLA trigger), ARGV[7] data JSON for the audit event,
-- ARGV[8] '1' to accept a skill nobody knows yet, ARGV[9..] field, value pairs of the task hash
-- returns {'OK', task_id} when created, {'EXISTS', task_id, flat task hash} on a repeat,
-- {'INVALID', message} for an unknown skill
local existing = redis.call('HGET', K.ext .. ARGV[2], ARGV[3])
if existing then
  return {'EXISTS', existing, redis.call('HGETALL', K.task .. existing)}
end
if ARGV[8] ~= '1' and redis.call('SISMEMBER', K.skills, ARGV[4]) == 0 then
  return {'INVALID', 'unknown skill ' .. ARGV[4] .. ': no agent has it (set DISPATCHWISE_ALLOW_NEW_SKILLS=1 to accept new skills)'}
end
local task_id = 'T' .. redis.call('HINCRBY', K.seq, 'task', 1)
local tkey = K.task .. task_id
redis.call('HSET', tkey, 'id', task_id, 'status', 'queued', 'created_ms', ARGV[1], 'source', ARGV[2],
           'external_id', ARGV[3], 'skill', ARGV[4], 'due_ms', ARGV[5], unpack(ARGV, 9))
redis.call('HSET', K.ext .. ARGV[2], ARGV[3], task_id)
redis.call('ZADD', K.queue .. ARGV[4], tonumber(ARGV[5]), task_id)
redis.call('SADD', K.skills, ARGV[4])
redis.call('ZADD', K.sla, tonumber(ARGV[6]), task_id)
audit(task_id, 'created', ARGV[2], '', ARGV[4], ARGV[7])
kick()
notify('s:' .. ARGV[4])
return {'OK', task_id}
