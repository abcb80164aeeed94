"""The pending code in the cache: only a keyed hash of it, with its expiry, the pending name and
an attempt counter, under ``otp-h:<subject>`` and ``otp-n:<subject>``; never the code itself. The
subject is the phone number for sign-in, and the number with its account for a number change (see
``subject_of``), so a code sent for one can never be used for the other.

``check`` tries a code in one atomic step (one Lua script on Redis, a lock in-process): the
failure budgets, the try count, the comparison and the consumption of a right code together, so
parallel guesses can never exceed OTP_MAX_ATTEMPTS or a budget, and exactly one right try wins.
"""

import hmac
import math
import secrets
import time
from typing import NamedTuple

from django.core.cache import cache
from django.utils.crypto import salted_hmac

from accounts import counters
from accounts.app_settings import app_settings
from accounts.counters import Limit, Refusal, Write

DIGEST_SIZE = 16


class PendingCode(NamedTuple):
    digest: bytes
    expires_at: int
    name: str

    def pack(self) -> bytes:
        return self.digest + self.expires_at.to_bytes(5, "big") + self.name.encode()

    @classmethod
    def unpack(cls, packed: bytes) -> "PendingCode":
        size = DIGEST_SIZE
        return cls(packed[:size], int.from_bytes(packed[size : size + 5], "big"), packed[size + 5 :].decode())


def subject_of(phone: str, network: str, changing_for=None) -> str:
    """Whose code it is: ``phone`` signing in from client ``network`` (a code asked for from another
    network never replaces it), or ``phone`` becoming ``changing_for``'s number."""
    return f"{phone}@{network}" if changing_for is None else f"{phone}>user:{changing_for.pk}"


def generate_code(length: int) -> str:
    """A code uniform over all 10**length values, leading zeros included."""
    return f"{secrets.randbelow(10**length):0{length}d}"


def pending_writes(subject: str, code: str, name: str, *, keep_attempts: bool = False) -> tuple[list[Write], int]:
    """The cache writes that keep ``code``'s hash for ``subject`` (replacing any earlier code) and
    its expiry (epoch s); the code request makes them with its limits, in one round trip.

    ``keep_attempts``: a fixed code (a test number) keeps the tries already spent on it."""
    ttl = app_settings.OTP_TTL
    expires_at = int(time.time()) + ttl
    state = PendingCode(digest(subject, code), expires_at, name).pack()
    return [Write(state_key(subject), state, ttl), Write(attempts_key(subject), 0, ttl, keep_attempts)], expires_at


class Verdict(NamedTuple):
    """What one try came to: ``right`` (with the pending name, and what ``restore`` needs to put the
    code back), ``wrong`` (with the tries left), ``expired`` (no code, or no try left), or ``refused``
    (a failure budget is spent)."""

    outcome: str
    name: str = ""
    attempts_left: int = 0
    refusal: Refusal | None = None
    consumed: tuple[bytes, int] | None = None  # the packed pending code, and the tries spent before


# One round trip, atomic: the failure budgets (rolling limits, see accounts.counters) are checked,
# a try is taken, the code compared; a right code is consumed and resets the first budget (the
# number's from this network), a wrong one counts in every budget. KEYS: pending code, its tries,
# the budgets, then the marker of a cache that lost its data (limits.CACHE_LOST). ARGV: now (s),
# tries allowed, the offered code's digest, now (ms), then per budget the stored value that
# refuses (0: no limit), what one failure adds (ms), and what to assume when the budget is absent
# while the marker is there.
CHECK = """
local now, allowed, offered, now_ms = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local forgotten = redis.call('EXISTS', KEYS[#KEYS]) == 1
local function spent(i)
  local stored = tonumber(redis.call('GET', KEYS[i]) or '')
  if not stored and forgotten then return tonumber(ARGV[3 * i - 2]) end
  return stored
end
for i = 3, #KEYS - 1 do
  local threshold, stored = tonumber(ARGV[3 * i - 4]), spent(i)
  if threshold > 0 and stored and stored >= threshold then return {'refused', i - 2, stored} end
end
local state = redis.call('GET', KEYS[1])
if not state or redis.call('EXISTS', KEYS[2]) == 0 then return {'expired'} end
local expires = 0
for i = SIZE + 1, SIZE + 5 do expires = expires * 256 + string.byte(state, i) end
if expires <= now then return {'expired'} end
local attempt = redis.call('INCR', KEYS[2])
if attempt > allowed then return {'expired'} end
if string.sub(state, 1, SIZE) == offered then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
  return {'right', string.sub(state, SIZE + 6), state, attempt - 1}
end
for i = 3, #KEYS - 1 do
  if tonumber(ARGV[3 * i - 4]) > 0 then
    local tat = math.max(spent(i) or 0, now_ms) + tonumber(ARGV[3 * i - 3])
    redis.call('SET', KEYS[i], string.format('%d', tat), 'PX', tat - now_ms)
  end
end
if attempt >= allowed then redis.call('DEL', KEYS[1], KEYS[2]) end
return {'wrong', allowed - attempt}
""".replace("SIZE", str(DIGEST_SIZE))


def check(subject: str, code: str, budgets: list[Limit], *, forgotten_key: str, assumed: list[int]) -> Verdict:
    """Try ``code`` against ``subject``'s pending code, spending ``budgets`` if it is wrong. While
    ``forgotten_key`` exists (the cache lost its data), an absent budget counts as ``assumed``."""
    now, offered = time.time(), digest(subject, code)
    client = counters.redis_client()
    if client is None:
        return _check_local(subject, offered, budgets, now, assumed if cache.get(forgotten_key) else None)
    keys = [cache.make_key(state_key(subject)), cache.make_key(attempts_key(subject))]
    keys += [cache.make_key(budget.key) for budget in budgets] + [cache.make_key(forgotten_key)]
    args = [now, app_settings.OTP_MAX_ATTEMPTS, offered, math.floor(now * 1000)]
    for budget, assume in zip(budgets, assumed, strict=True):
        args += [budget.threshold(now), budget.interval_ms(), assume] if _limited(budget) else [0, 0, 0]
    outcome, *rest = counters.run_script(client, CHECK, keys, args)
    return _verdict(outcome.decode(), rest, budgets, now)


def _verdict(outcome: str, rest: list, budgets: list[Limit], now: float) -> Verdict:
    if outcome == "right":
        name = rest[0].decode() if isinstance(rest[0], bytes) else rest[0]
        return Verdict(outcome, name=name, consumed=(rest[1], int(rest[2])))
    if outcome == "wrong":
        return Verdict(outcome, attempts_left=int(rest[0]))
    if outcome == "refused":
        budget = budgets[int(rest[0]) - 1]
        return Verdict(outcome, refusal=Refusal(budget, budget.wait(now, int(rest[1]))))
    return Verdict("expired")


def _check_local(subject: str, offered: bytes, budgets: list[Limit], now: float, assumed: list | None) -> Verdict:
    """The same as CHECK on the in-process cache of a development run, under the counters' lock."""
    allowed = app_settings.OTP_MAX_ATTEMPTS
    keys = [budget.key for budget in budgets]
    with counters.local_lock:
        for index, budget in enumerate(budgets, 1):
            stored = cache.get(keys[index - 1])
            if stored is None and assumed:
                stored = assumed[index - 1] or None
                if stored is not None:
                    cache.set(keys[index - 1], stored, max(math.ceil(stored / 1000 - now), 1))
            if _limited(budget) and stored is not None and stored >= budget.threshold(now):
                return _verdict("refused", [index, stored], budgets, now)
        packed = cache.get(state_key(subject))
        if packed is None or cache.get(attempts_key(subject)) is None:
            return Verdict("expired")
        pending = PendingCode.unpack(packed)
        attempt = cache.incr(attempts_key(subject)) if pending.expires_at > now else allowed + 1
        if attempt > allowed:
            return Verdict("expired")
        if hmac.compare_digest(pending.digest, offered):
            cache.delete_many([state_key(subject), attempts_key(subject), *keys[:1]])
            return Verdict("right", name=pending.name, consumed=(packed, attempt - 1))
        for budget in budgets:
            if _limited(budget):
                counters.count_rolling(budget, now)
        if attempt >= allowed:
            discard(subject)
        return Verdict("wrong", attempts_left=allowed - attempt)


def _limited(budget: Limit) -> bool:
    return budget.maximum > 0 and budget.window > 0


def restore(subject: str, consumed: tuple[bytes, int]) -> None:
    """Put back a right code that was consumed by a sign-in that then failed on the server (a
    database outage), with the tries it had, unless it expired or a newer code took its place."""
    packed, tries = consumed
    ttl = PendingCode.unpack(packed).expires_at - int(time.time())
    if ttl > 0:
        counters.admit(
            [], [Write(state_key(subject), packed, ttl, True), Write(attempts_key(subject), tries, ttl, True)]
        )


def discard(subject: str) -> None:
    cache.delete_many([state_key(subject), attempts_key(subject)])


def discard_all(phone: str) -> None:
    """Every pending sign-in code of ``phone``, from any network."""
    counters.delete_prefixed(state_key(f"{phone}@"))
    counters.delete_prefixed(attempts_key(f"{phone}@"))


def digest(subject: str, code: str) -> bytes:
    """HMAC-SHA256 keyed from SECRET_KEY, cut to 128 bits (the code, not the hash, bounds guessing)."""
    return salted_hmac("cheershare.otp", f"{subject}:{code}", algorithm="sha256").digest()[:DIGEST_SIZE]


def state_key(subject: str) -> str:
    return f"otp-h:{subject}"  # raw bytes (read only by CHECK); "otp:" held a pickled earlier form


def attempts_key(subject: str) -> str:
    return f"otp-n:{subject}"
