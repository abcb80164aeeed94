"""Check-then-count, atomically: every limit of a request is checked before any is counted, so a
refused request spends no quota and starts no cooldown (a limit can never be turned against the
person it protects).

A counter counts in fixed windows (its key carries the window's number); a cooldown holds the
time it ends; a rolling limit (the generic cell rate algorithm, GCRA) holds, in milliseconds, when
its count would be back to zero: each count adds ``window / maximum``, so it admits a burst of
``maximum`` and then one count per ``window / maximum``, and never more than ``maximum`` plus that
rate over any period (no calendar edge to wait for, or to exploit). Waits are computed from the
clock, not from key lifetimes, so they are exact for ``Retry-After`` and tests can move time.
On Redis (django-redis) the whole check-and-count is one Lua script, one round trip, atomic across
every process; on the in-process cache of a development run (one process) a lock gives the same
guarantee. Keys go through ``cache.make_key`` and read back
through the cache API as plain integers.

An admitted request may also write cache entries in the same round trip (``Write``: the code
request stores its pending code this way), and a limit may require a key to be present
(``required``: the delivery gates' "loaded" marker) or absent (``absent``: a number's "guessed at"
mark, which makes its codes longer).
"""

import math
import threading
import time
from typing import NamedTuple

from django.core.cache import cache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.breaker import Breaker


class Limit(NamedTuple):
    """At most ``maximum`` counts under ``key`` per ``window`` seconds (``maximum`` <= 0: no limit).

    ``cooldown``: instead, refuse for ``window`` seconds after each count. ``counts=False``: only
    checked here (another path counts it). ``name`` says which limit it is (logs, refusals)."""

    key: str
    maximum: int
    window: int
    counts: bool = True
    cooldown: bool = False
    name: str = ""
    required: bool = False  # refuses when the key is absent (checked only)
    absent: bool = False  # refuses when the key is present (checked only)
    rolling: bool = False  # GCRA over the last ``window`` seconds, not fixed windows

    def current_key(self, now: float) -> str:
        if self.cooldown or self.required or self.absent or self.rolling:
            return self.key
        return f"{self.key}:{int(now // self.window)}"

    def interval_ms(self) -> int:
        """A rolling limit's cost of one count."""
        return math.ceil(self.window * 1000 / self.maximum)

    def threshold(self, now: float) -> float:
        """A stored value at or over this refuses."""
        if self.cooldown:
            return now
        if self.rolling:
            return math.floor(now * 1000) + self.window * 1000 - self.interval_ms() + 1
        return self.maximum

    def wait(self, now: float, stored: int) -> int:
        if self.rolling:
            return max(math.ceil((stored - self.threshold(now) + 1) / 1000), 1)
        ends = stored if self.cooldown else (int(now // self.window) + 1) * self.window
        return max(math.ceil(ends - now), 1)

    def counted(self, now: float, stored: int | None) -> int:
        """A rolling limit's value after one more count."""
        return max(stored or 0, math.floor(now * 1000)) + self.interval_ms()


class Refusal(NamedTuple):
    limit: Limit
    wait: int  # seconds until it would be accepted (Retry-After)


class Write(NamedTuple):
    """A cache entry an admitted request sets (``only_if_absent``: keep one already there). Bytes are
    stored as they are, for scripts to read; anything else as the cache API would store it."""

    key: str
    value: object
    ttl: int
    only_if_absent: bool = False


ADMIT = """
local n, m = tonumber(ARGV[1]), tonumber(ARGV[2])
local a, b = 2, 2 + 4 * n
for i = 1, n do
  local stored = redis.call('GET', KEYS[i])
  if ARGV[a + 2 * n + i] == 'required' then
    if not stored then return {i, 0} end
  elseif ARGV[a + 2 * n + i] == 'absent' then
    if stored then return {i, 0} end
  elseif stored and tonumber(stored) >= tonumber(ARGV[a + i]) then
    return {i, tonumber(stored)}
  end
end
for i = 1, n do
  local mode = ARGV[a + 2 * n + i]
  if mode == 'set' then
    redis.call('SET', KEYS[i], ARGV[a + 3 * n + i], 'PX', ARGV[a + n + i])
  elseif mode == 'incr' and redis.call('INCR', KEYS[i]) == 1 then
    redis.call('PEXPIRE', KEYS[i], ARGV[a + n + i])
  elseif mode == 'rolling' then
    local now_ms, interval = tonumber(ARGV[a + 3 * n + i]), tonumber(ARGV[a + n + i])
    local tat = math.max(tonumber(redis.call('GET', KEYS[i]) or 0), now_ms) + interval
    redis.call('SET', KEYS[i], string.format('%d', tat), 'PX', tat - now_ms)
  end
end
for j = 1, m do
  if ARGV[b + 3 * j] == 'nx' then
    redis.call('SET', KEYS[n + j], ARGV[b + 3 * j - 2], 'PX', ARGV[b + 3 * j - 1], 'NX')
  else
    redis.call('SET', KEYS[n + j], ARGV[b + 3 * j - 2], 'PX', ARGV[b + 3 * j - 1])
  end
end
return {0, 0}
"""
local_lock = threading.Lock()  # the in-process cache's stand-in for a script's atomicity
_scripts = {}  # redis-py Scripts by text: EVALSHA, the text is sent only if Redis lacks it


def admit(limits: list[Limit], writes: list[Write] = ()) -> Refusal | None:
    """The first limit that refuses, or None; only when none refuses are the counting ones counted
    and the ``writes`` written."""
    limits = [limit for limit in limits if limit.maximum > 0 and limit.window > 0]
    if not limits and not writes:
        return None
    now = time.time()
    client = redis_client()
    if client is None:
        return _admit_local(limits, writes, now)
    keys = [cache.make_key(limit.current_key(now)) for limit in limits] + [cache.make_key(w.key) for w in writes]
    args = (
        [len(limits), len(writes)]
        + [limit.threshold(now) for limit in limits]
        + [_lifetime_ms(limit) for limit in limits]
        + [_mode(limit) for limit in limits]
        + [math.floor(now * 1000) if limit.rolling else math.ceil(now) + limit.window for limit in limits]
    )
    for write in writes:
        value = write.value if isinstance(write.value, bytes) else cache.client.encode(write.value)
        args += [value, write.ttl * 1000, "nx" if write.only_if_absent else "set"]
    index, stored = run_script(client, ADMIT, keys, args)
    if index == 0:
        return None
    limit = limits[index - 1]
    return Refusal(limit, limit.wait(now, stored))


def current(limit: Limit) -> int:
    """The count (or, for a cooldown, the end time) now stored for ``limit``; 0 if none."""
    return cache.get(limit.current_key(time.time())) or 0


def uncount(limit: Limit) -> None:
    """Give back one count of ``limit`` (a reserved attempt that did not need to count)."""
    try:
        cache.decr(limit.current_key(time.time()))
    except ValueError:
        pass


def reset(limit: Limit) -> None:
    cache.delete(limit.current_key(time.time()))


def count_rolling(limit: Limit, now: float) -> None:
    """Count one in a rolling limit through the cache API (the in-process cache, under the lock)."""
    value = limit.counted(now, cache.get(limit.key))
    cache.set(limit.key, value, max(math.ceil(value / 1000 - now), 1))


def delete_prefixed(prefix: str) -> None:
    """Delete every key starting with ``prefix`` (django-redis: SCAN + DEL; in-process: its dict)."""
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern(prefix.replace("[", "[[]").replace("*", "[*]").replace("?", "[?]") + "*")
        return
    made, head = cache.make_key(prefix), len(cache.make_key(""))
    cache.delete_many([key[head:] for key in list(getattr(cache, "_cache", {})) if key.startswith(made)])


def run_script(client, text: str, keys: list, args: list, *, past_breaker: bool = False):
    """Run a script (EVALSHA; its text is sent only if Redis lacks it), through the breaker: after
    Redis timed out, every call fails at once for a few seconds (core.breaker), unless
    ``past_breaker`` (a repair that keeps trying until Redis answers)."""
    if text not in _scripts:
        _scripts[text] = client.register_script(text)
    return _through_breaker(lambda: _scripts[text](keys=keys, args=args, client=client), past_breaker=past_breaker)


breaker = Breaker(5)


def read(key: str):
    """``cache.get(key)`` through the breaker, as the scripts go (a stalled Redis is asked once per
    breaker window, not once per request)."""
    if redis_client() is None:
        return cache.get(key)
    return _through_breaker(lambda: cache.get(key))


def _through_breaker(call, *, past_breaker: bool = False):
    if breaker.open and not past_breaker:
        raise RedisConnectionError("Redis failed a moment ago: not asked again yet")
    try:
        return call()
    except RedisTimeoutError:
        breaker.trip()
        raise


def redis_client():
    """The Redis connection behind django-redis, or None on another cache (the in-process one)."""
    client = getattr(cache, "client", None)
    return client.get_client(write=True) if hasattr(client, "get_client") else None


def _mode(limit: Limit) -> str:
    if limit.required:
        return "required"
    if limit.absent:
        return "absent"
    if not limit.counts:
        return "check"
    if limit.rolling:
        return "rolling"
    return "set" if limit.cooldown else "incr"


def _lifetime_ms(limit: Limit) -> int:
    """A key's lifetime when counted (a rolling limit's: the interval its count adds)."""
    if limit.rolling:
        return limit.interval_ms()
    return (limit.window + (0 if limit.cooldown else 60)) * 1000


def _admit_local(limits: list[Limit], writes: list[Write], now: float) -> Refusal | None:
    with local_lock:
        for limit in limits:
            stored = cache.get(limit.current_key(now))
            if (limit.required and stored is None) or (limit.absent and stored is not None):
                return Refusal(limit, 0)
            if not (limit.required or limit.absent) and stored is not None and stored >= limit.threshold(now):
                return Refusal(limit, limit.wait(now, stored))
        for limit in limits:
            if not limit.counts:
                continue
            key = limit.current_key(now)
            if limit.rolling:
                count_rolling(limit, now)
            elif limit.cooldown:
                cache.set(key, math.ceil(now) + limit.window, limit.window)
            elif not cache.add(key, 1, limit.window + 60):
                cache.incr(key)
        for write in writes:
            (cache.add if write.only_if_absent else cache.set)(write.key, write.value, write.ttl)
    return None
