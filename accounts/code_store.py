"""Pending codes in the cache: only a keyed hash of each, with its expiry, its length, the pending
name and an attempt counter, never the code itself.

A code belongs to a number and to the request that issued it, never to a client address: its
subject is ``<base>#<verification id>``, where the base is the phone number for sign-in, or the
number with its account for a number change (``base_of``), so a code sent for one can never be used
for the other. Each request's code lives under its own subject until it expires, so a stranger's
later request never voids a code whose id the owner's client names; ``otp-v:<base>`` names the
newest request, the one checked when a client sends no id (the original clients' form).

``check`` tries a code in one atomic step (one Lua script on Redis, a lock in-process): the locks
and failure budgets, the try count, the comparison and the consumption of a right code together, so
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
ID_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class PendingCode(NamedTuple):
    digest: bytes
    expires_at: int
    length: int
    name: str

    def pack(self) -> bytes:
        return self.digest + self.expires_at.to_bytes(5, "big") + bytes([self.length]) + self.name.encode()

    @classmethod
    def unpack(cls, packed: bytes) -> "PendingCode":
        size = DIGEST_SIZE
        return cls(
            packed[:size],
            int.from_bytes(packed[size : size + 5], "big"),
            packed[size + 5],
            packed[size + 6 :].decode(),
        )


def base_of(phone: str, changing_for=None) -> str:
    """Whose codes: ``phone`` signing in, or ``phone`` becoming ``changing_for``'s number."""
    return phone if changing_for is None else f"{phone}>user:{changing_for.pk}"


def new_verification_id(base: str, *, fixed: bool = False) -> str:
    """A request's id: 22 random URL-safe characters (128 bits). A test number's is derived from
    its number, so its one fixed code keeps the tries already spent on it across requests."""
    if fixed:
        return salted_hmac("cheershare.test-number", base).hexdigest()[:22]
    return secrets.token_urlsafe(16)


def is_verification_id(value: str) -> bool:
    return 16 <= len(value) <= 64 and ID_ALPHABET.issuperset(value)


def generate_code(length: int) -> str:
    """A code uniform over all 10**length values, leading zeros included."""
    return f"{secrets.randbelow(10**length):0{length}d}"


class NewCode:
    """A code being issued for request ``verification_id`` of ``base``: ``writes(length)`` draws a code
    of ``length`` digits (a test number's ``fixed`` code whatever the length) and gives the cache
    writes that keep its hash and name it the newest of ``base``; ``code`` and ``expires_at`` (epoch s)
    are then the ones written. The limits choose the length (accounts.limits.admit_code_request) and
    make the writes with their counts, in one round trip."""

    def __init__(self, base: str, verification_id: str, name: str, *, fixed: str | None = None):
        self.base, self.verification_id, self.name, self.fixed = base, verification_id, name, fixed
        self.code, self.expires_at = "", 0

    def writes(self, length: int) -> list[Write]:
        ttl = app_settings.OTP_TTL
        self.code = self.fixed or generate_code(length)
        self.expires_at = int(time.time()) + ttl
        subject = f"{self.base}#{self.verification_id}"
        state = PendingCode(digest(subject, self.code), self.expires_at, len(self.code), self.name).pack()
        return [
            Write(state_key(subject), state, ttl),
            Write(attempts_key(subject), 0, ttl, self.fixed is not None),  # a fixed code keeps its spent tries
            Write(newest_key(self.base), self.verification_id, ttl),
        ]


def subject_named(base: str, verification_id: str | None) -> str | None:
    """The subject a verify checks: the named request's, else the newest request's (None: none)."""
    if verification_id is None:
        verification_id = counters.read(newest_key(base))
        if verification_id is None:
            return None
    return f"{base}#{verification_id}"


class Verdict(NamedTuple):
    """What one try came to: ``right`` (with the pending name, and what ``restore`` needs to put the
    code back), ``wrong`` (with the tries left, and whether this try spent the number's budget),
    ``expired`` (no code, or no try left), or ``refused`` (a lock or the address's budget)."""

    outcome: str
    name: str = ""
    attempts_left: int = 0
    refusal: Refusal | None = None
    consumed: tuple[bytes, int] | None = None  # the packed pending code, and the tries spent before
    budget_spent: bool = False


class Budgets(NamedTuple):
    """What a try checks and spends besides the code's own tries.

    ``lock``: an operator's lock (a cooldown: it holds when it ends). ``number``: the number's rolling
    failure budget; ``refuses`` says whether its being spent refuses the try (a test number's fixed
    code, which cannot grow) or only marks the number as guessed at (``attack_key``: its next codes
    are longer, and a wrong try ends any shorter code still alive). ``address``: the client address's
    budget, which refuses. ``assumed``: what the number's budget counts as when absent while the
    cache is known to have lost its data."""

    lock: Limit
    number: Limit
    address: Limit
    attack_key: str
    refuses: bool
    assumed: int


# One round trip, atomic. KEYS: the pending code, its tries, the number's budget, the address's
# budget, the operator's lock, the number's "guessed at" mark, the consumed code's receipt, the
# marker of a cache that lost its data. ARGV: now (s), tries allowed, the offered digest, now (ms),
# the number budget's threshold (0: no limit), its interval (ms), whether it refuses, its assumed
# value, the address budget's threshold and interval, the mark's lifetime (ms), the normal code
# length, the receipt's nonce. Budgets are rolling (GCRA, see accounts.counters).
CHECK = """
local now, allowed, offered, now_ms = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local n_threshold, n_interval = tonumber(ARGV[5]), tonumber(ARGV[6])
local n_refuses, n_assumed = ARGV[7] == '1', tonumber(ARGV[8])
local a_threshold, a_interval = tonumber(ARGV[9]), tonumber(ARGV[10])
local mark_ms, normal = tonumber(ARGV[11]), tonumber(ARGV[12])
local lock = tonumber(redis.call('GET', KEYS[5]) or '')
if lock and lock >= now then return {'refused', 1, lock} end
local number = tonumber(redis.call('GET', KEYS[3]) or '')
if not number and n_assumed > 0 and redis.call('EXISTS', KEYS[8]) == 1 then number = n_assumed end
local address = tonumber(redis.call('GET', KEYS[4]) or '')
if a_threshold > 0 and address and address >= a_threshold then return {'refused', 3, address} end
if n_refuses and n_threshold > 0 and number and number >= n_threshold then return {'refused', 2, number} end
local state = redis.call('GET', KEYS[1])
if not state or redis.call('EXISTS', KEYS[2]) == 0 then return {'expired'} end
local expires = 0
for i = SIZE + 1, SIZE + 5 do expires = expires * 256 + string.byte(state, i) end
if expires <= now then return {'expired'} end
local attempt = redis.call('INCR', KEYS[2])
if attempt > allowed then return {'expired'} end
if string.sub(state, 1, SIZE) == offered then
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('SET', KEYS[7], ARGV[13] .. state, 'PX', math.floor((expires - now) * 1000) + 1000)
  return {'right', string.sub(state, SIZE + 7), state, attempt - 1}
end
local guessed_at = redis.call('EXISTS', KEYS[6]) == 1
local spent_now = 0
if n_threshold > 0 then
  local tat = math.max(number or 0, now_ms) + n_interval
  redis.call('SET', KEYS[3], string.format('%d', tat), 'PX', tat - now_ms)
  if not n_refuses and (guessed_at or tat >= n_threshold) then
    redis.call('SET', KEYS[6], '1', 'PX', mark_ms)
    if not guessed_at then spent_now = 1 end
  end
end
if a_threshold > 0 then
  local tat = math.max(address or 0, now_ms) + a_interval
  redis.call('SET', KEYS[4], string.format('%d', tat), 'PX', tat - now_ms)
end
if attempt >= allowed or (guessed_at and string.byte(state, SIZE + 6) <= normal) then
  redis.call('DEL', KEYS[1], KEYS[2])
  return {'wrong', 0, spent_now}
end
return {'wrong', allowed - attempt, spent_now}
""".replace("SIZE", str(DIGEST_SIZE))

# Put back a code whose consumption the caller never heard of (the script's answer timed out): only
# if the receipt is this caller's. KEYS: the pending code, its tries, the receipt. ARGV: the nonce.
UNDO = """
local receipt = redis.call('GET', KEYS[3])
if not receipt or string.sub(receipt, 1, #ARGV[1]) ~= ARGV[1] then return 0 end
local ttl = redis.call('PTTL', KEYS[3]) - 1000
redis.call('DEL', KEYS[3])
if ttl <= 0 or redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], string.sub(receipt, #ARGV[1] + 1), 'PX', ttl)
redis.call('SET', KEYS[2], '0', 'PX', ttl)
return 1
"""


def check(subject: str, code: str, budgets: Budgets, *, forgotten_key: str, nonce: str) -> Verdict:
    """Try ``code`` against ``subject``'s pending code, spending ``budgets`` if it is wrong. A right
    code leaves a receipt under ``nonce`` (see ``undo``)."""
    now, offered = time.time(), digest(subject, code)
    client = counters.redis_client()
    if client is None:
        return _check_local(subject, offered, budgets, now, forgotten_key)
    number, address = budgets.number, budgets.address
    keys = [state_key(subject), attempts_key(subject), number.key, address.key, budgets.lock.key]
    keys = [cache.make_key(key) for key in [*keys, budgets.attack_key, receipt_key(subject), forgotten_key]]
    args = [now, app_settings.OTP_MAX_ATTEMPTS, offered, math.floor(now * 1000)]
    args += _budget_args(number, now) + [1 if budgets.refuses else 0, budgets.assumed]
    args += _budget_args(address, now) + [number.window * 1000, app_settings.OTP_LENGTH, nonce]
    outcome, *rest = counters.run_script(client, CHECK, keys, args)
    return _verdict(outcome.decode(), rest, budgets, now)


def undo(subject: str, nonce: str) -> bool:
    """Put back the code ``nonce``'s try consumed (its answer was lost: the caller answered 503),
    with fresh tries; False if that try did not consume it. Asks Redis even while the breaker is
    open: the caller is retrying until it gets through."""
    client = counters.redis_client()
    if client is None:
        return False
    keys = [cache.make_key(key) for key in (state_key(subject), attempts_key(subject), receipt_key(subject))]
    return bool(counters.run_script(client, UNDO, keys, [nonce], past_breaker=True))


def _budget_args(budget: Limit, now: float) -> list:
    if budget.maximum <= 0 or budget.window <= 0:
        return [0, 0]
    return [budget.threshold(now), budget.interval_ms()]


def _verdict(outcome: str, rest: list, budgets: Budgets, now: float) -> Verdict:
    if outcome == "right":
        name = rest[0].decode() if isinstance(rest[0], bytes) else rest[0]
        return Verdict(outcome, name=name, consumed=(rest[1], int(rest[2])))
    if outcome == "wrong":
        return Verdict(outcome, attempts_left=int(rest[0]), budget_spent=bool(int(rest[1])))
    if outcome == "refused":
        limit = (budgets.lock, budgets.number, budgets.address)[int(rest[0]) - 1]
        return Verdict(outcome, refusal=Refusal(limit, limit.wait(now, int(rest[1]))))
    return Verdict("expired")


def _check_local(subject: str, offered: bytes, budgets: Budgets, now: float, forgotten_key: str) -> Verdict:
    """The same as CHECK on the in-process cache of a development run, under the counters' lock."""
    allowed = app_settings.OTP_MAX_ATTEMPTS
    number_limit, address_limit = budgets.number, budgets.address
    with counters.local_lock:
        lock = cache.get(budgets.lock.key)
        if lock is not None and lock >= now:
            return _verdict("refused", [1, lock], budgets, now)
        number = cache.get(number_limit.key)
        if number is None and budgets.assumed and cache.get(forgotten_key):
            number = budgets.assumed
        address = cache.get(address_limit.key)
        if _limited(address_limit) and address is not None and address >= address_limit.threshold(now):
            return _verdict("refused", [3, address], budgets, now)
        if budgets.refuses and _limited(number_limit) and number is not None and number >= number_limit.threshold(now):
            return _verdict("refused", [2, number], budgets, now)
        packed = cache.get(state_key(subject))
        if packed is None or cache.get(attempts_key(subject)) is None:
            return Verdict("expired")
        pending = PendingCode.unpack(packed)
        attempt = cache.incr(attempts_key(subject)) if pending.expires_at > now else allowed + 1
        if attempt > allowed:
            return Verdict("expired")
        if hmac.compare_digest(pending.digest, offered):
            discard(subject)
            return Verdict("right", name=pending.name, consumed=(packed, attempt - 1))
        guessed_at, spent_now = cache.get(budgets.attack_key) is not None, False
        if _limited(number_limit):
            tat = number_limit.counted(now, number)
            cache.set(number_limit.key, tat, max(math.ceil(tat / 1000 - now), 1))
            if not budgets.refuses and (guessed_at or tat >= number_limit.threshold(now)):
                cache.set(budgets.attack_key, 1, number_limit.window)
                spent_now = not guessed_at
        if _limited(address_limit):
            counters.count_rolling(address_limit, now)
        if attempt >= allowed or (guessed_at and pending.length <= app_settings.OTP_LENGTH):
            discard(subject)
            return Verdict("wrong", attempts_left=0, budget_spent=spent_now)
        return Verdict("wrong", attempts_left=allowed - attempt, budget_spent=spent_now)


def _limited(budget: Limit) -> bool:
    return budget.maximum > 0 and budget.window > 0


def restore(subject: str, consumed: tuple[bytes, int]) -> None:
    """Put back a right code that was consumed by a sign-in that then failed on the server (a
    database outage), with the tries it had, unless it expired or was put back already."""
    packed, tries = consumed
    ttl = PendingCode.unpack(packed).expires_at - int(time.time())
    if ttl > 0:
        counters.admit(
            [], [Write(state_key(subject), packed, ttl, True), Write(attempts_key(subject), tries, ttl, True)]
        )


def discard(subject: str) -> None:
    cache.delete_many([state_key(subject), attempts_key(subject)])


def discard_all(phone: str) -> None:
    """Every pending sign-in code of ``phone``."""
    counters.delete_prefixed(state_key(f"{phone}#"))
    counters.delete_prefixed(attempts_key(f"{phone}#"))
    cache.delete(newest_key(phone))


def digest(subject: str, code: str) -> bytes:
    """HMAC-SHA256 keyed from SECRET_KEY, cut to 128 bits (the code, not the hash, bounds guessing)."""
    return salted_hmac("cheershare.otp", f"{subject}:{code}", algorithm="sha256").digest()[:DIGEST_SIZE]


def state_key(subject: str) -> str:
    return f"otp-c:{subject}"  # raw bytes (read only by CHECK); "otp-h:" and "otp:" held earlier forms


def attempts_key(subject: str) -> str:
    return f"otp-n:{subject}"


def newest_key(base: str) -> str:
    return f"otp-v:{base}"


def receipt_key(subject: str) -> str:
    return f"otp-r:{subject}"
