-- _lib.lua: helpers prepended to every script, after the generated table K of key prefixes
-- (built by api/keys.py, so key names live in one place).
-- KEYS: none; keys are built from K (single Redis instance, not cluster)
-- ARGV[1] now_ms in every script: time comes in from the caller, never from TIME.
-- Replies: {'OK', ...} on success, {'NOTFOUND'|'CONFLICT'|'FORBIDDEN', message} on refusal.
local NOW = tonumber(ARGV[1])

local function fail(code, message)
  return {code, message}
end

local function audit(task_id, event, actor, agent_id, skill, data)
  local f = {'task', task_id, 'event', event, 'actor', actor or '', 'at', ARGV[1],
             'agent', agent_id or '', 'skill', skill or '', 'data', data or ''}
  redis.call('XADD', K.hist .. task_id, '*', unpack(f))
  redis.call('XADD', K.audit, 'MAXLEN', '~', 5000000, '*', unpack(f))
end

-- wake long-polls in every API process (one subscription each): 'a:<agent>' or 's:<skill>'
local function notify(message)
  redis.call('PUBLISH', K.notify, message)
end

-- wake the dispatch loop: new work or free capacity (one pending signal is enough)
local function kick()
  if redis.call('LLEN', K.kick) == 0 then redis.call('RPUSH', K.kick, ARGV[1]) end
end

local function release_agent(agent_id, task_id)
  if agent_id == nil or agent_id == '' then return end
  local akey = K.agent .. agent_id
  if redis.call('EXISTS', akey) == 1 then
    if redis.call('HINCRBY', akey, 'active', -1) < 0 then
      redis.call('HSET', akey, 'active', 0)
    end
  end
  redis.call('SREM', K.atasks .. agent_id, task_id)
  kick()
  notify('a:' .. agent_id)
end

local function requeue(task_id, previous_agent)
  local tkey = K.task .. task_id
  local t = redis.call('HMGET', tkey, 'skill', 'due_ms')
  redis.call('HSET', tkey, 'status', 'queued', 'agent', '', 'offer_id', '')
  if previous_agent and previous_agent ~= '' then
    redis.call('HSET', tkey, 'previous_agent', previous_agent)
  end
  redis.call('ZADD', K.queue .. t[1], tonumber(t[2]), task_id)
  redis.call('SADD', K.skills, t[1])
  notify('s:' .. t[1])
  return t[1]
end

-- Close a pending offer and free the agent's slot; a miss counts when miss_limit > 0 and the
-- agent becomes 'unavailable' at miss_limit misses in a row. Returns task id, agent id.
local function drop_offer(offer_id, new_status, miss_limit)
  local okey = K.offer .. offer_id
  local o = redis.call('HMGET', okey, 'task', 'agent')
  local task_id, agent_id = o[1], o[2]
  redis.call('HSET', okey, 'status', new_status, 'closed_ms', ARGV[1])
  redis.call('ZREM', K.offer_expiry, offer_id)
  redis.call('ZREM', K.aoffers .. agent_id, offer_id)
  release_agent(agent_id, task_id)
  if miss_limit > 0 then
    local akey = K.agent .. agent_id
    if redis.call('EXISTS', akey) == 1 then
      local misses = redis.call('HINCRBY', akey, 'misses', 1)
      if misses >= miss_limit and redis.call('HGET', akey, 'status') == 'available' then
        redis.call('HSET', akey, 'status', 'unavailable', 'status_ms', ARGV[1])
        redis.call('SREM', K.available, agent_id)
      end
    end
  end
  return task_id, agent_id
end

-- Offer a queued task to an available agent with a free slot; re-checks both atomically.
local function make_offer(task_id, agent_id, ttl_ms, explanation, actor)
  local tkey = K.task .. task_id
  local t = redis.call('HMGET', tkey, 'status', 'skill')
  if not t[1] then return nil, fail('NOTFOUND', 'task ' .. task_id .. ' not found') end
  if t[1] ~= 'queued' then
    return nil, fail('CONFLICT', 'task ' .. task_id .. ' is ' .. t[1] .. ', not queued')
  end
  local akey = K.agent .. agent_id
  local a = redis.call('HMGET', akey, 'status', 'active', 'capacity')
  if not a[1] then return nil, fail('NOTFOUND', 'agent ' .. agent_id .. ' not found') end
  if a[1] ~= 'available' then
    return nil, fail('CONFLICT', 'agent ' .. agent_id .. ' is ' .. a[1] .. ', not available')
  end
  if tonumber(a[2] or '0') >= tonumber(a[3] or '1') then
    return nil, fail('CONFLICT', 'agent ' .. agent_id .. ' has no free capacity')
  end
  local offer_id = 'O' .. redis.call('HINCRBY', K.seq, 'offer', 1)
  local expires = NOW + tonumber(ttl_ms)
  redis.call('HSET', K.offer .. offer_id, 'id', offer_id, 'task', task_id, 'agent', agent_id,
             'status', 'pending', 'created_ms', ARGV[1], 'expires_ms', expires)
  redis.call('ZADD', K.offer_expiry, expires, offer_id)
  redis.call('ZADD', K.aoffers .. agent_id, expires, offer_id)
  redis.call('SADD', K.atasks .. agent_id, task_id)
  redis.call('HINCRBY', akey, 'active', 1)
  redis.call('HSET', tkey, 'status', 'offered', 'agent', agent_id, 'offer_id', offer_id)
  redis.call('ZREM', K.queue .. t[2], task_id)
  audit(task_id, 'offered', actor, agent_id, t[2], explanation)
  redis.call('RPUSH', K.wake .. agent_id, offer_id)
  redis.call('LTRIM', K.wake .. agent_id, -8, -1)
  redis.call('PEXPIRE', K.wake .. agent_id, tonumber(ttl_ms))
  notify('a:' .. agent_id)
  return offer_id, nil
end

local function offer_reply(offer_id)
  local o = redis.call('HMGET', K.offer .. offer_id, 'task', 'expires_ms')
  return {'OK', offer_id, o[2], redis.call('HGETALL', K.task .. o[1])}
end

-- Drop from the skills set each candidate skill that no agent has and no queued task needs.
-- Reads every agent's skills: O(agents); run on retire, profile changes and now and then, not per task.
local function prune_skills(candidates)
  if #candidates == 0 then return 0 end
  local used = {}
  for _, agent_id in ipairs(redis.call('SMEMBERS', K.agents)) do
    local skills = redis.call('HGET', K.agent .. agent_id, 'skills')
    if skills then
      for skill, _ in pairs(cjson.decode(skills)) do used[skill] = true end
    end
  end
  local dropped = 0
  for _, skill in ipairs(candidates) do
    if not used[skill] and redis.call('ZCARD', K.queue .. skill) == 0 then
      dropped = dropped + redis.call('SREM', K.skills, skill)
    end
  end
  return dropped
end
