"""Lua scripts: each state change of a job that touches several keys happens atomically.

Atomicity is what makes the at-least-once contract hold without locks: a job is never both acked
and lost (retry, dead letter, parking all add the job elsewhere in the same step as XACK), and an
ordering key can never be released twice or forgotten (gate and finish see each other's writes).
Times come from the Redis server's clock (TIME), so workers on several machines agree.
"""

from __future__ import annotations

from redis.commands.core import AsyncScript

_PRELUDE = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Put a key's parked jobs up to done + 1 back on the stream, and keep the index truthful.
local function release(stream, parked, index, key, done, maxlen)
  local due = redis.call('ZRANGEBYSCORE', parked, '-inf', done + 1)
  for _, member in ipairs(due) do
    redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', unpack(cjson.decode(member)))
  end
  if #due > 0 then
    redis.call('ZREMRANGEBYSCORE', parked, '-inf', done + 1)
  end
  if redis.call('ZCARD', parked) == 0 then
    redis.call('ZREM', index, key)
  elseif #due > 0 then
    redis.call('ZADD', index, now_ms(), key)  -- the new head waits from now on
  end
end

-- Job `seq` of a key is over (done or dead): never move backwards, then wake the next one.
local function finish_key(stream, state, parked, index, key, seq, maxlen, ttl)
  if redis.call('HEXISTS', state, 'seq') == 0 then return end  -- state lost with Redis data
  local done = tonumber(redis.call('HGET', state, 'done') or '0')
  if seq > done then
    redis.call('HSET', state, 'done', seq)
    done = seq
  end
  redis.call('EXPIRE', state, ttl)
  release(stream, parked, index, key, done, maxlen)
end
"""


def _script(body: str) -> AsyncScript:
    # Hashing bytes needs no client, so scripts can be constants. Every call passes its client;
    # a Pipeline loads missing scripts before it executes, a Redis on NOSCRIPT (after a restart).
    return AsyncScript(None, (_PRELUDE + body).encode())  # type: ignore[arg-type]


# KEYS stream, key_state | ARGV maxlen, ttl, field, value, ...
# The sequence number and the entry are written together, so sequence order is stream order.
ENQUEUE_KEYED = _script("""
local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
redis.call('EXPIRE', KEYS[2], ARGV[2])
return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'seq', seq, unpack(ARGV, 3))
""")

# KEYS stream, key_state, parked, parked_index | ARGV group, entry_id, key, seq, member
# 1: run it now. 0: an earlier job of the key is not finished; the job was parked and acked.
GATE = _script("""
if redis.call('HEXISTS', KEYS[2], 'seq') == 0 then return 1 end
local done = tonumber(redis.call('HGET', KEYS[2], 'done') or '0')
if tonumber(ARGV[4]) <= done + 1 then return 1 end
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[5])
redis.call('ZADD', KEYS[4], 'NX', now_ms(), ARGV[3])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return 0
""")

# KEYS stream, key_state, parked, parked_index | ARGV group, entry_id, key, seq, maxlen, ttl
FINISH_KEYED = _script("""
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
finish_key(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6])
return 1
""")

# KEYS stream, delayed | ARGV group, entry_id, delay_ms, member
RETRY_LATER = _script("""
redis.call('ZADD', KEYS[2], now_ms() + tonumber(ARGV[3]), ARGV[4])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return 1
""")

# KEYS stream, dead, key_state, parked, parked_index
# ARGV group, entry_id, key ('' if none), seq, maxlen, ttl, field, value, ...
# A dead job releases its key: the key's later jobs go on (see queues/ordering.py).
BURY = _script("""
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', unpack(ARGV, 7))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
if ARGV[3] ~= '' then
  finish_key(KEYS[1], KEYS[3], KEYS[4], KEYS[5], ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6])
end
return 1
""")

# KEYS stream, delayed | ARGV maxlen, limit. Several workers may run it: each member moves once.
MOVE_DUE = _script("""
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now_ms(), 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(cjson.decode(member)))
  redis.call('ZREM', KEYS[2], member)
end
return #due
""")

# KEYS stream, key_state, parked, parked_index | ARGV key, maxlen, ttl, stall_ms
# Returns the sequence number released, or 0 when the key is not (or no longer) stalled.
RELEASE_STALLED = _script("""
local since = redis.call('ZSCORE', KEYS[4], ARGV[1])
if not since or now_ms() - tonumber(since) < tonumber(ARGV[4]) then return 0 end
local head = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
if #head == 0 then
  redis.call('ZREM', KEYS[4], ARGV[1])
  return 0
end
local seq = tonumber(head[2])
local done = tonumber(redis.call('HGET', KEYS[2], 'done') or '0')
if seq - 1 > done then
  redis.call('HSET', KEYS[2], 'done', seq - 1)
  done = seq - 1
end
redis.call('EXPIRE', KEYS[2], ARGV[3])
release(KEYS[1], KEYS[3], KEYS[4], ARGV[1], done, ARGV[2])
return seq
""")

# KEYS dead, stream, key_state | ARGV dead_entry_id, maxlen, ttl
# Back on the stream with a fresh delivery budget; a keyed job joins the end of its key's order.
REQUEUE_DEAD = _script("""
local found = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #found == 0 then return false end
local f = found[1][2]
local keep = {job = true, payload = true, id = true, key = true}
local out = {}
local keyed = false
for i = 1, #f, 2 do
  if keep[f[i]] then
    table.insert(out, f[i])
    table.insert(out, f[i + 1])
  end
  if f[i] == 'key' then keyed = true end
end
if keyed then
  local seq = redis.call('HINCRBY', KEYS[3], 'seq', 1)
  redis.call('EXPIRE', KEYS[3], ARGV[3])
  table.insert(out, 'seq')
  table.insert(out, seq)
end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(out))
redis.call('XDEL', KEYS[1], ARGV[1])
return id
""")
