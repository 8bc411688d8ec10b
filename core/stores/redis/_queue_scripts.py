"""Lua for the shared queue: claims, leases, take-overs. Each script is atomic, so two
workers never claim the same job, nor a slot or an in-flight turn past its cap.

Besides the store's keys (_scripts.py) under the prefix P (ARGV[1]): `P served` the turn each
user was last served (`P turn` counts turns), `P busy` in-flight counts (`user:<key>`,
`chat:<key>`), `P slots:<token>` the jobs holding that token's slots (a lent room
"<label>/lent" takes its token's), `P running` every held
job by lease expiry, `P owner` and `P holder` (token, user, chat) per held job, `P cancel`
held jobs whose users cancelled them, `P wake` a short list that wakes idle workers.
"""

from __future__ import annotations

# Helpers every script below shares.
COMMON = """
local P = ARGV[1]
local function expiry(ttl)  -- the server's clock: workers on other machines may drift
  local time = redis.call('TIME')
  return tonumber(time[1]) + tonumber(time[2]) / 1e6 + tonumber(ttl)
end
local function wake()
  redis.call('LPUSH', P .. 'wake', '1')
  redis.call('LTRIM', P .. 'wake', 0, 15)
end
local function slots(token) return P .. 'slots:' .. string.match(token, '^[^/]*') end
local function less_busy(field)
  if redis.call('HINCRBY', P .. 'busy', field, -1) <= 0 then
    redis.call('HDEL', P .. 'busy', field)
  end
end
local function release(id)
  -- Give back what the job's hold counted: its slot and its user's and chat's turns.
  local holder = redis.call('HGET', P .. 'holder', id)
  if not holder then return end
  local token, user, chat = string.match(holder, '^([^\\n]*)\\n([^\\n]*)\\n(.*)$')
  less_busy('user:' .. user)
  less_busy('chat:' .. chat)
  if token ~= '' then redis.call('SREM', slots(token), id) end
  redis.call('ZREM', P .. 'running', id)
  redis.call('HDEL', P .. 'owner', id)
  redis.call('HDEL', P .. 'holder', id)
end
local function hold(id, worker, until_, token, user, chat)
  release(id)  -- a job sent back in line (its token refused it) may still count as held
  redis.call('HINCRBY', P .. 'busy', 'user:' .. user, 1)
  redis.call('HINCRBY', P .. 'busy', 'chat:' .. chat, 1)
  if token ~= '' then redis.call('SADD', slots(token), id) end
  redis.call('ZADD', P .. 'running', until_, id)
  redis.call('HSET', P .. 'owner', id, worker)
  redis.call('HSET', P .. 'holder', id, token .. '\\n' .. user .. '\\n' .. chat)
end
"""

# ARGV: P, worker, lease seconds, day, user caps by tier ("0=1,2=3"), chat cap or '', then
# per token: label, concurrency, daily budget or '', owner or '' (core.scheduling.queue.TokenRoom).
# Answers {job id, token} or false.
CLAIM = (
    COMMON
    + """
local worker, usage = ARGV[2], P .. 'usage:' .. ARGV[4]
local caps = {}
for level, cap in string.gmatch(ARGV[5], '(%d+)=(%d+)') do caps[tonumber(level)] = tonumber(cap) end
local chat_cap = tonumber(ARGV[6])
local tokens = {}
for i = 7, #ARGV, 4 do
  tokens[#tokens + 1] = {
    label = ARGV[i], slots = tonumber(ARGV[i + 1]), budget = tonumber(ARGV[i + 2]),
    owner = ARGV[i + 3],
  }
end

local rooms = {}
local function room_for(cost, owner)
  -- The least busy token with a free slot that takes the job (a member's own token only
  -- their jobs it pays for: `owner`, else '') and can still spend `cost` today.
  local key = cost .. ' ' .. owner
  if rooms[key] ~= nil then return rooms[key] end
  local best, best_load, best_spent = false, 0, 0
  for _, t in ipairs(tokens) do
    local used = redis.call('SCARD', slots(t.label))
    local spent = tonumber(redis.call('HGET', usage, 'token:' .. t.label) or '0')
    local affords = not t.budget or spent + cost <= t.budget + 1e-9
    if t.owner == owner and used < t.slots and affords then
      local load = used / t.slots
      if not best or load < best_load or (load == best_load and spent < best_spent) then
        best, best_load, best_spent = t.label, load, spent
      end
    end
  end
  rooms[key] = best
  return best
end

local function busy(field) return tonumber(redis.call('HGET', P .. 'busy', field) or '0') end

local best = nil
for _, user in ipairs(redis.call('SMEMBERS', P .. 'waiters')) do
  local head = redis.call('ZRANGE', P .. 'waiting:' .. user, 0, 0, 'WITHSCORES')
  local job = head[1]
    and redis.call('HMGET', P .. 'job:' .. head[1], 'chat', 'cost', 'tier', 'quota')
  if not job or not job[1] then
    if head[1] then redis.call('ZREM', P .. 'waiting:' .. user, head[1]) end
    if redis.call('ZCARD', P .. 'waiting:' .. user) == 0 then
      redis.call('SREM', P .. 'waiters', user)
    end
  else
    local tier = tonumber(job[3]) or 0
    local may = busy('user:' .. user) < (caps[tier] or caps[0])
    if may and chat_cap then may = busy('chat:' .. job[1]) < chat_cap end
    local token = may and room_for(tonumber(job[2]), job[4] == 'own' and user or '')
    if token then
      local rank = tonumber(redis.call('HGET', P .. 'served', user) or '-1') - tier * 1000000
      local seq = tonumber(head[2])
      if not best or rank < best.rank or (rank == best.rank and seq < best.seq) then
        best = {id = head[1], user = user, chat = job[1], token = token, rank = rank, seq = seq}
      end
    end
  end
end
if not best then return false end
local waiting = P .. 'waiting:' .. best.user
redis.call('ZREM', waiting, best.id)
if redis.call('ZCARD', waiting) == 0 then redis.call('SREM', P .. 'waiters', best.user) end
local before = redis.call('HGET', P .. 'served', best.user) or '-1'
local turn = redis.call('INCR', P .. 'turn')
redis.call('HSET', P .. 'served', best.user, turn)
-- Should it come back before it starts, it gets its place and its user's turn back.
redis.call('HSET', P .. 'job:' .. best.id, 'served_before', before, 'served_turn', turn)
hold(best.id, worker, expiry(ARGV[3]), best.token, best.user, best.chat)
return {best.id, best.token}
"""
)

# ARGV: P, worker, lease seconds, job ids. Answers {lost ids, ids to cancel}.
RENEW = (
    COMMON
    + """
local lost, cancel, until_ = {}, {}, expiry(ARGV[3])
for i = 4, #ARGV do
  local id = ARGV[i]
  if redis.call('HGET', P .. 'owner', id) == ARGV[2] then
    redis.call('ZADD', P .. 'running', 'XX', until_, id)
    if redis.call('SISMEMBER', P .. 'cancel', id) == 1 then cancel[#cancel + 1] = id end
  else
    lost[#lost + 1] = id
  end
end
return {lost, cancel}
"""
)

# ARGV: P, worker, lease seconds, how many at most. Answers {id, token, id, token, ...}.
TAKE_OVER = (
    COMMON
    + """
local taken, until_ = {}, expiry(ARGV[3])
local now = until_ - tonumber(ARGV[3])
local expired = redis.call('ZRANGEBYSCORE', P .. 'running', '-inf', now, 'LIMIT', 0, ARGV[4])
for _, id in ipairs(expired) do
  redis.call('HSET', P .. 'owner', id, ARGV[2])
  redis.call('ZADD', P .. 'running', until_, id)
  local holder = redis.call('HGET', P .. 'holder', id) or ''
  taken[#taken + 1] = id
  taken[#taken + 1] = string.match(holder, '^([^\\n]*)') or ''
end
return taken
"""
)

# ARGV: P, worker, lease seconds, job id, user, chat, token, 1 if queued. Answers 1 if held
# now, 0 if it was waiting or held already (a queued job not waiting goes back in line).
ADOPT = (
    COMMON
    + """
local id, user = ARGV[4], ARGV[5]
if redis.call('ZSCORE', P .. 'running', id) then return 0 end
if redis.call('ZSCORE', P .. 'waiting:' .. user, id) then return 0 end
if ARGV[8] == '1' then
  local seq = redis.call('HGET', P .. 'job:' .. id, 'seq') or redis.call('INCR', P .. 'seq')
  redis.call('ZADD', P .. 'waiting:' .. user, seq, id)
  redis.call('SADD', P .. 'waiters', user)
  wake()
  return 0
end
hold(id, ARGV[2], expiry(ARGV[3]), ARGV[7], user, ARGV[6])
return 1
"""
)

# ARGV: P, worker, job id. Frees the job's slot and turns if `worker` still holds it.
FINISH = (
    COMMON
    + """
local id = ARGV[3]
if redis.call('HGET', P .. 'owner', id) ~= ARGV[2] then return 0 end
release(id)
redis.call('SREM', P .. 'cancel', id)
wake()
return 1
"""
)

# ARGV: P, worker, job ids. Their leases run out now, so another worker takes them over.
ABANDON = (
    COMMON
    + """
for i = 3, #ARGV do
  if redis.call('HGET', P .. 'owner', ARGV[i]) == ARGV[2] then
    redis.call('ZADD', P .. 'running', 'XX', 0, ARGV[i])
  end
end
wake()
return 1
"""
)

# ARGV: P, job id. 1 if a worker holds it (and will stop it at its next heartbeat).
REQUEST_CANCEL = (
    COMMON
    + """
if not redis.call('ZSCORE', P .. 'running', ARGV[2]) then return 0 end
redis.call('SADD', P .. 'cancel', ARGV[2])
return 1
"""
)
