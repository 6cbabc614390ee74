-- offer.lua: turn one optimizer pair into an offer, re-checking that the task is still queued
-- and the agent still available with a free slot.
-- KEYS: none (built from K)
-- ARGV[1] now_ms, ARGV[2] task_id, ARGV[3] agent_id, ARGV[4] offer ttl ms, ARGV[5] explanation JSON,
-- ARGV[6] actor
-- returns {'OK', offer_id, expires_ms, flat task hash} or a refusal
local offer_id, err = make_offer(ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
if err then return err end
return offer_reply(offer_id)
