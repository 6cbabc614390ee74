-- prune.lua: drop every skill that no agent has and no queued task needs (the skills set only grows
-- otherwise: tasks of new skills, agents retired or re-skilled).
-- KEYS: none (built from K)
-- ARGV[1] now_ms
-- returns {'OK', skills dropped}
return {'OK', prune_skills(redis.call('SMEMBERS', K.skills))}
