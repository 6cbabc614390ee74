-- plan_actual.lua: count created tasks per skill and time bucket from the audit stream, from a cursor on.
-- Atomic, so two callers catching up at once never count an event twice.
-- KEYS[1] cursor (string: the last audit stream id counted), KEYS[2] the audit stream
-- ARGV[1] now_ms (unused), ARGV[2] count-key prefix (a day number is appended: hash bucket_ms -> count),
-- ARGV[3] bucket length ms, ARGV[4] most entries to read
-- returns {'OK', entries read}
local MS_PER_DAY = 86400000
local cursor = redis.call('GET', KEYS[1]) or '0-0'
local entries = redis.call('XRANGE', KEYS[2], '(' .. cursor, '+', 'COUNT', tonumber(ARGV[4]))
local bucket_ms = tonumber(ARGV[3])
for _, entry in ipairs(entries) do
  local f = entry[2]
  local event, skill, at
  for i = 1, #f, 2 do
    if f[i] == 'event' then event = f[i + 1]
    elseif f[i] == 'skill' then skill = f[i + 1]
    elseif f[i] == 'at' then at = tonumber(f[i + 1]) end
  end
  if event == 'created' and skill and at then
    local bucket = at - (at % bucket_ms)
    redis.call('HINCRBY', ARGV[2] .. skill .. ':' .. math.floor(at / MS_PER_DAY), bucket, 1)
  end
end
if #entries > 0 then redis.call('SET', KEYS[1], entries[#entries][1]) end
return {'OK', #entries}
