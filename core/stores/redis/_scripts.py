"""The Redis store's Lua scripts: each runs atomically on the server, so two processes that
admit a request at the same moment never both spend the last unit of a quota.

Layout under the prefix P (ARGV[1]): `P job:<id>` a hash (the job's JSON in `data` and the
fields the scripts need), `P usage:<day>` a hash of spent cost units (`user:<key>`,
`member:<chat>/<user>`, `chat:<key>`, `global`, `token:<label>`), `P user:<key>` and `P
batch:<id>` sorted sets of job ids by creation time, `P waiting:<key>` the user's queued job
ids in arrival order (`P seq` numbers arrivals; `P waiters` names the users who have any),
`P open` what a restart resumes and `P terminal` what a purge may take, both by creation
time. The shared queue (_queue_scripts.py) admits from the waiting sets: the job rows are
the queue.
"""

from __future__ import annotations

# One job travels as these ARGV fields, in this order.
JOB_FIELDS = (
    "id",
    "batch",
    "user",
    "chat",
    "day",
    "state",
    "quota",
    "token",
    "cost",
    "created",
    "delivered",
    "terminal",
    "tier",
    "data",
)

COMMON = """
local P = ARGV[1]
local FIELDS = {__FIELDS__}

local function counted(quota) return quota == 'reserved' or quota == 'committed' end
local function spent(quota) return counted(quota) or quota == 'exempt' end

local function contribute(sign, job)
  local cost = tonumber(job.cost)
  if cost == 0 then return end
  local key = P .. 'usage:' .. job.day
  local delta = tostring(sign * cost)
  if counted(job.quota) then
    redis.call('HINCRBYFLOAT', key, 'user:' .. job.user, delta)
    redis.call('HINCRBYFLOAT', key, 'member:' .. job.chat .. '/' .. job.user, delta)
    redis.call('HINCRBYFLOAT', key, 'chat:' .. job.chat, delta)
  end
  if spent(job.quota) then redis.call('HINCRBYFLOAT', key, 'global', delta) end
  -- A member's own token pays for their jobs ('own'): only that token's day counts it.
  if (spent(job.quota) or job.quota == 'own') and job.token ~= '' then
    redis.call('HINCRBYFLOAT', key, 'token:' .. job.token, delta)
  end
end

local function read_job(first)
  local job = {}
  for i, name in ipairs(FIELDS) do job[name] = ARGV[first + i - 1] end
  return job
end

local function stored_job(id)
  local values = redis.call('HMGET', P .. 'job:' .. id, unpack(FIELDS))
  if not values[1] then return nil end
  local job = {}
  for i, name in ipairs(FIELDS) do job[name] = values[i] end
  return job
end

local function unindex(job)
  local waiting = P .. 'waiting:' .. job.user
  if redis.call('ZREM', waiting, job.id) == 1 and redis.call('ZCARD', waiting) == 0 then
    redis.call('SREM', P .. 'waiters', job.user)
  end
  redis.call('ZREM', P .. 'user:' .. job.user, job.id)
  redis.call('ZREM', P .. 'batch:' .. job.batch, job.id)
  redis.call('ZREM', P .. 'open', job.id)
  redis.call('ZREM', P .. 'terminal', job.id)
end

local function line_up(job)
  -- A job sent back before it could start keeps its place (its arrival number), and its
  -- user gets back the turn its admission took, unless they were served since.
  local key = P .. 'job:' .. job.id
  local seq, before, turn = unpack(redis.call('HMGET', key, 'seq', 'served_before', 'served_turn'))
  if not seq then
    seq = redis.call('INCR', P .. 'seq')
    redis.call('HSET', key, 'seq', seq)
  end
  if turn and redis.call('HGET', P .. 'served', job.user) == turn then
    if before == '-1' then redis.call('HDEL', P .. 'served', job.user)
    else redis.call('HSET', P .. 'served', job.user, before) end
  end
  if turn then redis.call('HDEL', key, 'served_before', 'served_turn') end
  redis.call('ZADD', P .. 'waiting:' .. job.user, seq, job.id)
  redis.call('SADD', P .. 'waiters', job.user)
  redis.call('LPUSH', P .. 'wake', '1')  -- an idle worker looks at once
  redis.call('LTRIM', P .. 'wake', 0, 15)
end

local function write(job)
  local args = {}
  for _, name in ipairs(FIELDS) do
    args[#args + 1] = name
    args[#args + 1] = job[name]
  end
  redis.call('HSET', P .. 'job:' .. job.id, unpack(args))
  redis.call('ZADD', P .. 'user:' .. job.user, job.created, job.id)
  redis.call('ZADD', P .. 'batch:' .. job.batch, job.created, job.id)
  if job.state == 'queued' then line_up(job) end
  if job.terminal == '1' then redis.call('ZADD', P .. 'terminal', job.created, job.id) end
  if job.terminal ~= '1' or job.delivered == '' then
    redis.call('ZADD', P .. 'open', job.created, job.id)
  end
  contribute(1, job)
end
""".replace("__FIELDS__", ", ".join(f"'{name}'" for name in JOB_FIELDS))

# ARGV: prefix, user, chat, day, now, cost, exempt, user_limit, member_limit, chat_limit,
# global_limit, max_waiting, cooldown, then the jobs. Answers {'ok'} or {'refused', waiting,
# last created, used by user, member, chat, global}: the caller names the reason with
# `check_admission`.
ADD_JOBS = (
    COMMON
    + """
local user, chat, day = ARGV[2], ARGV[3], ARGV[4]
local now, cost, exempt = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7] == '1'
local max_waiting, cooldown = tonumber(ARGV[12]), tonumber(ARGV[13])
local waiting = redis.call('ZCARD', P .. 'waiting:' .. user)
local last = redis.call('ZREVRANGE', P .. 'user:' .. user, 0, 0, 'WITHSCORES')[2]
local used = redis.call('HMGET', P .. 'usage:' .. day, 'user:' .. user,
                       'member:' .. chat .. '/' .. user, 'chat:' .. chat, 'global')
local refused = {'refused', tostring(waiting), last or '', used[1] or '0', used[2] or '0',
                 used[3] or '0', used[4] or '0'}
if waiting + 1 > max_waiting then return refused end
if not exempt then
  if last and cooldown > 0 and tonumber(last) + cooldown - now > 0 then return refused end
  for i = 1, 4 do
    local limit = ARGV[7 + i]
    if limit ~= '' and tonumber(used[i] or '0') + cost > tonumber(limit) + 1e-9 then
      return refused
    end
  end
end
for first = 14, #ARGV, #FIELDS do write(read_job(first)) end
return {'ok'}
"""
)

# ARGV: prefix, how many expected states, the states, then the job. 1 if written.
SAVE = (
    COMMON
    + """
local expected = tonumber(ARGV[2])
local job = read_job(3 + expected)
local old = stored_job(job.id)
if not old then return 0 end
if expected > 0 then
  local allowed = false
  for i = 3, 2 + expected do
    if ARGV[i] == old.state then allowed = true end
  end
  if not allowed then return 0 end
end
contribute(-1, old)
unindex(old)
write(job)
return 1
"""
)

# ARGV: prefix, created before. Answers the purged jobs' JSON, oldest first.
PURGE = (
    COMMON
    + """
local gone = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. 'terminal', '-inf', '(' .. ARGV[2])) do
  local job = stored_job(id)
  if job then
    gone[#gone + 1] = job.data
    contribute(-1, job)
    unindex(job)
    redis.call('DEL', P .. 'job:' .. id)
  else
    redis.call('ZREM', P .. 'terminal', id)
  end
end
return gone
"""
)

# KEYS: the lease; ARGV: its owner, seconds. 1 if still ours (and extended).
EXTEND_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

# KEYS: the lease; ARGV: its owner. Deleted only if still ours.
RELEASE_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
