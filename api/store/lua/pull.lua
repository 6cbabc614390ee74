-- pull.lua: the single-agent pull path behind /next. Returns the agent's pending offer if any;
-- otherwise, unless a batch is being solved, offers the agent the queued task with the earliest
-- response due among its skills (important tasks only to primary owners).
-- KEYS: none (built from K)
-- ARGV[1] now_ms, ARGV[2] agent_id, ARGV[3] offer ttl ms, ARGV[4] tasks scanned per skill
-- returns {'OK', offer_id, expires_ms, flat task hash}, or NOTFOUND, or {'NONE', why, skills JSON} with
-- why = 'batch' (a batch is being solved), 'busy' (not available or no free slot: only news for this
-- agent can change that) or 'empty' (nothing fits now: new work of one of these skills can)
local agent_id = ARGV[2]
local akey = K.agent .. agent_id
if redis.call('EXISTS', akey) == 0 then return fail('NOTFOUND', 'agent ' .. agent_id .. ' not found') end
local pending = redis.call('ZRANGEBYSCORE', K.aoffers .. agent_id, '(' .. ARGV[1], '+inf', 'LIMIT', 0, 1)
if #pending > 0 then return offer_reply(pending[1]) end
local a = redis.call('HMGET', akey, 'status', 'active', 'capacity', 'skills', 'primary')
if a[1] ~= 'available' or tonumber(a[2] or '0') >= tonumber(a[3] or '1') then return {'NONE', 'busy', a[4]} end
if redis.call('EXISTS', K.batch) == 1 then return {'NONE', 'batch', a[4]} end
local skills = cjson.decode(a[4])
local primary = {}
for _, s in ipairs(cjson.decode(a[5])) do primary[s] = true end
local depth = tonumber(ARGV[4]) - 1
local best, best_score, best_skill = nil, nil, nil
for skill, _ in pairs(skills) do
  local items = redis.call('ZRANGE', K.queue .. skill, 0, depth, 'WITHSCORES')
  for i = 1, #items, 2 do
    local score = tonumber(items[i + 1])
    if best_score and score >= best_score then break end
    if primary[skill] or redis.call('HGET', K.task .. items[i], 'important') ~= '1' then
      best, best_score, best_skill = items[i], score, skill
      break
    end
  end
end
if not best then return {'NONE', 'empty', a[4]} end
local why = cjson.encode({path = 'pull', skill = best_skill, due_ms = best_score,
  primary = primary[best_skill] == true, proficiency = skills[best_skill],
  rule = 'earliest response due among the agent skills; important tasks only to primary owners'})
local offer_id, err = make_offer(best, agent_id, ARGV[3], why, 'pull')
if err then return err end
return offer_reply(offer_id)
