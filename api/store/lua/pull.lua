-- pull.lua: the single-agent pull path behind /next. Returns the agent's pending offer if any;
-- otherwise, unless the agent is on a scheduled break or a batch is being solved, offers the agent the
-- queued task with the earliest response due among its skills (important tasks only to primary owners)
-- and, under a published shift, only one whose expected handling fits before the next break or shift
-- end (the shift guard of batch dispatch, dispatcher.policy: handle_s <= seconds until interruption).
-- KEYS: none (built from K)
-- ARGV[1] now_ms, ARGV[2] agent_id, ARGV[3] offer ttl ms, ARGV[4] tasks scanned per skill,
-- ARGV[5] the agent's schedule as JSON, or ''/absent when it has no published shift now (no schedule rules):
--   {working, time_left_s, shift (the explanation's shift term), guard_note (printf: handle s, left s),
--    default_handle_s (for a task stored without expected_handle_s)}
-- returns {'OK', offer_id, expires_ms, flat task hash}, or NOTFOUND, or {'NONE', why, skills JSON} with
-- why = 'busy' (not available or no free slot: only news for this agent can change that), 'schedule'
-- (on a scheduled break), 'batch' (a batch is being solved), 'guard' (queued work fits its skills but
-- none fits before the next break or shift end) or 'empty' (nothing fits now: new work of one of these
-- skills can). A guarded offer's explanation names the earlier-due tasks it skipped.
local agent_id = ARGV[2]
local akey = K.agent .. agent_id
if redis.call('EXISTS', akey) == 0 then return fail('NOTFOUND', 'agent ' .. agent_id .. ' not found') end
local pending = redis.call('ZRANGEBYSCORE', K.aoffers .. agent_id, '(' .. ARGV[1], '+inf', 'LIMIT', 0, 1)
if #pending > 0 then return offer_reply(pending[1]) end
local a = redis.call('HMGET', akey, 'status', 'active', 'capacity', 'skills', 'primary')
if a[1] ~= 'available' or tonumber(a[2] or '0') >= tonumber(a[3] or '1') then return {'NONE', 'busy', a[4]} end
local schedule = nil
if ARGV[5] and ARGV[5] ~= '' then schedule = cjson.decode(ARGV[5]) end
if schedule and not schedule.working then return {'NONE', 'schedule', a[4]} end
if redis.call('EXISTS', K.batch) == 1 then return {'NONE', 'batch', a[4]} end
local skills = cjson.decode(a[4])
local primary = {}
for _, s in ipairs(cjson.decode(a[5])) do primary[s] = true end
local depth = tonumber(ARGV[4]) - 1
local guarded = {}

-- nil when the agent may take the task, else 'owner' or 'guard'
local function refusal(task_id, skill)
  if primary[skill] and not schedule then return nil end
  local t = redis.call('HMGET', K.task .. task_id, 'important', 'expected_handle_s')
  if not primary[skill] and t[1] == '1' then return 'owner' end
  if schedule then
    local handle_s = tonumber(t[2]) or schedule.default_handle_s
    if handle_s > schedule.time_left_s then
      guarded[#guarded + 1] = {task_id, handle_s}
      return 'guard'
    end
  end
  return nil
end

local best, best_score, best_skill = nil, nil, nil
local due = {}
for skill, _ in pairs(skills) do
  local items = redis.call('ZRANGE', K.queue .. skill, 0, depth, 'WITHSCORES')
  for i = 1, #items, 2 do
    local score = tonumber(items[i + 1])
    if best_score and score >= best_score then break end
    due[items[i]] = score
    if not refusal(items[i], skill) then
      best, best_score, best_skill = items[i], score, skill
      break
    end
  end
end
-- the guarded tasks due before the one offered: those the guard kept from this agent
local skipped = {}
for _, g in ipairs(guarded) do
  if not best_score or due[g[1]] < best_score then
    skipped[#skipped + 1] = {task_id = g[1], expected_handle_s = g[2], reason = 'guard'}
  end
end
if not best then return {'NONE', #skipped > 0 and 'guard' or 'empty', a[4]} end
local why = {path = 'pull', skill = best_skill, due_ms = best_score,
  primary = primary[best_skill] == true, proficiency = skills[best_skill],
  rule = 'earliest response due among the agent skills; important tasks only to primary owners'}
if schedule then
  local handle_s = tonumber(redis.call('HGET', K.task .. best, 'expected_handle_s')) or schedule.default_handle_s
  why.shift = schedule.shift
  why.shift.guard = string.format(schedule.guard_note, handle_s, schedule.shift.seconds_to_interruption)
  why.rule = why.rule .. '; only tasks whose expected handling fits before the next break or shift end'
  if #skipped > 0 then why.skipped = skipped end
end
local offer_id, err = make_offer(best, agent_id, ARGV[3], cjson.encode(why), 'pull')
if err then return err end
return offer_reply(offer_id)
