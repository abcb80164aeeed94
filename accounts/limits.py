"""The sign-in limits, per number and per client address, all checked before any is counted
(accounts.counters): the resend cooldown, hourly send caps, the SMS-pumping breaker (region
allow-list, global and per-region hourly caps, closed regions and number ranges), an operator's lock
and the failure budgets (wrong codes per number across its codes, and per address).

No limit lets strangers keep a number's owner out. A number's cooldown and its small send cap count
per requester (a client network, or a device that signed in before: ``device_token``); the
number-wide send cap bounds SMS bombing, and a known device is exempt from it. The number's failure
budget never refuses: once strangers spent it, the number's next codes are longer
(OTP_LENGTH_UNDER_ATTACK) and a wrong try ends any shorter code still alive, so guessing stays
bounded (``guessing_bound``) while the owner signs in with what the phone received. Only an
operator's lock (``lock``) and a test number's spent budget (its fixed code cannot grow) answer
``verify_locked``. The failure budgets are rolling (GCRA, see accounts.counters).

Per-source limits count a client by the network a customer holds (``source_key``: an IPv4 /24,
an IPv6 /48), so one allocation's many addresses are one source; the refresh cap counts addresses.
"""

import ipaddress
import logging
import math
import time
from functools import lru_cache

from django.contrib.auth import get_user_model
from django.core.cache import cache
from redis.exceptions import RedisError

from accounts import counters, metrics, signals
from accounts.app_settings import app_settings
from accounts.code_store import Budgets, NewCode
from accounts.counters import Limit, Refusal, admit
from accounts.exceptions import Cooldown, PhoneUndeliverable, RateLimited, RegionNotAllowed, VerifyLocked
from messaging import gates
from messaging.numbers import range_of

logger = logging.getLogger(__name__)
HOUR, DAY = 3600, 86400
COOLDOWN, NUMBER_FAILURES, LOCKED = "cooldown", "number_failures", "locked"
CACHE_LOST = "limits:cache-lost"  # present for a failure window after the cache lost its data
GATES_LOADED, REGION_CLOSED, SUPPRESSED = "gates_loaded", "region_closed", "suppressed"
GUESSED_AT = "guessed_at"  # the number's mark: its codes are longer (not a refusal: the code grows)


def admit_code_request(
    phone: str,
    region: str,
    client_ip: str,
    *,
    test_number: bool,
    pending: NewCode,
    account: int | None = None,
    device: int | None = None,
) -> tuple[list[Limit], bool]:
    """Count one code request for ``phone`` (in ``region``) and write its ``pending`` code, all in one
    round trip; raise (counting and writing nothing) if any gate or limit refuses it. The code has
    OTP_LENGTH digits, or OTP_LENGTH_UNDER_ATTACK while strangers have spent the number's failure
    budget (its mark is checked in the same script: only a marked number's request takes a second).
    Returns the limits it counted, for ``give_back``, and whether the number's range or region is
    closed by the pumping alarm: such a request is admitted all the same (its answer must not tell
    whether the number has an account) and its code is sent only to a number that has one.
    ``account``: the user whose number change this code is for (PHONE_CHANGE_MAX_PER_DAY).
    ``device``: the known device of the number's account asking (its own cooldown and cap, and none
    of the number-wide cap strangers may have spent).

    Test numbers skip the gates and the send limits, not the failure budget."""
    if not test_number and app_settings.SMS_ALLOWED_REGIONS and region not in app_settings.SMS_ALLOWED_REGIONS:
        raise RegionNotAllowed()
    limits = [_lock(phone)]
    if test_number:
        limits.append(_number_failures(phone, counts=False))
    else:
        requester = f"dev:{device}" if device is not None else source_key(client_ip)
        limits = _gates(phone, region) + limits
        limits += [
            Limit(cooldown_key(phone, requester), 1, app_settings.OTP_RESEND_COOLDOWN, cooldown=True, name=COOLDOWN),
            Limit(f"n:ph:{phone}:{requester}", app_settings.OTP_MAX_SENDS_PER_HOUR, HOUR, name="phone"),
            Limit(f"n:ip:{source_key(client_ip)}", app_settings.OTP_MAX_SENDS_PER_IP_PER_HOUR, HOUR, name="ip"),
            Limit("n:sms-global", app_settings.SMS_MAX_PER_HOUR, HOUR, name="sms_global"),
            Limit(f"n:sms-country:{region}", app_settings.SMS_MAX_PER_COUNTRY_PER_HOUR, HOUR, name="sms_country"),
        ]
        if device is None:
            limits.append(_number_sends(phone))
        if account is not None:
            limits.append(Limit(f"n:chg:{account}", app_settings.PHONE_CHANGE_MAX_PER_DAY, DAY, name="changes"))
    checked, writes = limits, pending.writes(app_settings.OTP_LENGTH)
    if not test_number:  # checked last, so any refusal comes first (a test number's fixed code cannot grow)
        checked = [*limits, Limit(attack_key(phone), 1, 1, counts=False, absent=True, name=GUESSED_AT)]
    closed, reloaded = False, False
    while (refusal := admit(checked, writes)) is not None:
        if refusal.limit.name == GATES_LOADED and not reloaded:  # the cache lost the gates: refill, retry
            _cache_came_back_empty()
            gates.reload()
            reloaded = True
        elif refusal.limit.name == REGION_CLOSED:
            closed = True
            checked = [limit for limit in checked if limit.name != REGION_CLOSED]
        elif refusal.limit.name == GUESSED_AT:
            checked = [limit for limit in checked if limit.name != GUESSED_AT]
            writes = pending.writes(app_settings.OTP_LENGTH_UNDER_ATTACK)
        else:
            refuse(refusal, phone)
    return [limit for limit in checked if limit.counts and limit.maximum > 0], closed


def give_back(counted: list[Limit]) -> None:
    """Undo a code request's counts (``admit_code_request``'s answer) when it sent nothing: a code the
    broker did not take must not spend the number's or the address's send caps, nor start a cooldown."""
    for limit in counted:
        if limit.cooldown:
            counters.reset(limit)
        else:
            counters.uncount(limit)


def admit_refresh(client_ip: str) -> None:
    """Count one token refresh from ``client_ip`` (REFRESH_MAX_PER_IP_PER_HOUR, rolling), or raise
    RateLimited. Refreshing keeps signed-in people signed in, so an unreachable cache lets it through
    (logged) rather than turning a Redis outage into sign-outs."""
    limit = Limit(f"rf:ip:{address_key(client_ip)}", app_settings.REFRESH_MAX_PER_IP_PER_HOUR, HOUR, rolling=True)
    try:
        refusal = admit([limit])
    except RedisError as exc:
        logger.warning("refresh cap not checked: the cache is unreachable", extra={"error": type(exc).__name__})
        return
    if refusal is not None:
        raise RateLimited(refusal.wait)


def _gates(phone: str, region: str) -> list[Limit]:
    """A closed region or number range (the pumping alarm), then a suppressed number: each "closed
    until" a time."""
    return [
        Limit(gates.LOADED, 1, 1, counts=False, required=True, name=GATES_LOADED),
        Limit(gates.closed_key(region), 1, 1, counts=False, cooldown=True, name=REGION_CLOSED),
        Limit(gates.closed_key(range_of(phone)), 1, 1, counts=False, cooldown=True, name=REGION_CLOSED),
        Limit(gates.suppressed_key(phone), 1, 1, counts=False, cooldown=True, name=SUPPRESSED),
    ]


def _cache_came_back_empty() -> None:
    """The cache lost its data (a Redis restarted without persistence): every failure budget it
    kept is gone, so for the next OTP_FAILURE_WINDOW a number's budget counts as half spent
    (``assumed_spent``) instead of handing an attacker a fresh one. Not on a first start (no
    account yet), when there was nothing to lose."""
    if not get_user_model()._default_manager.exists():
        return
    cache.set(CACHE_LOST, 1, app_settings.OTP_FAILURE_WINDOW)
    metrics.CACHE_LOST.inc()
    signals.cache_lost.send(sender=admit_code_request)


def guess_budgets(phone: str, client_ip: str, *, test_number: bool = False) -> Budgets:
    """What a try checks and spends (``code_store.check``): an operator's lock, the number's failure
    budget (refusing only for a test number's fixed code) and the address's. While the cache is known
    to have lost its data (CACHE_LOST), an absent number budget counts as half spent (its rolling
    value half a window ahead), not as a fresh one for an attacker."""
    number = _number_failures(phone)
    assumed = math.floor(time.time() * 1000) + number.window * 500
    return Budgets(_lock(phone), number, _address_failures(client_ip), attack_key(phone), test_number, assumed)


def guessing_bound() -> float:
    """The chance, over a year, that an attacker with unlimited addresses signs in to one number
    (README, "Guessing stays bounded"). Per OTP_FAILURE_WINDOW the attacker gets at most the budget
    *F* wrong tries at normal-length codes, plus one at each normal code alive when the budget is
    spent (at most the hourly send cap *S*); the number then stays marked until a whole window passes
    without a wrong try, and meanwhile every code is OTP_LENGTH_UNDER_ATTACK digits, of which the
    attacker can have *S* an hour, with OTP_MAX_ATTEMPTS tries each."""
    s = app_settings
    year, hour = 366 * DAY, HOUR
    cycles = year / s.OTP_FAILURE_WINDOW + 1
    normal = cycles * (s.OTP_MAX_FAILURES_PER_NUMBER + s.OTP_MAX_SENDS_PER_NUMBER_PER_HOUR)
    long = year / hour * s.OTP_MAX_SENDS_PER_NUMBER_PER_HOUR * s.OTP_MAX_ATTEMPTS
    return 1 - (1 - 10.0**-s.OTP_LENGTH) ** normal * (1 - 10.0**-s.OTP_LENGTH_UNDER_ATTACK) ** long


def forget_number(phone: str) -> None:
    """Drop the number's failure budget, marks, locks and cooldowns (its account was deleted)."""
    counters.delete_prefixed(cooldown_key(phone, ""))
    unlock(phone)


def unlock(phone: str) -> None:
    """Lift an operator's lock and the failure budget of ``phone``. The budget is written as unspent,
    not deleted, so it counts as fresh even after the cache lost its data."""
    cache.set(_number_failures(phone).key, 0, app_settings.OTP_FAILURE_WINDOW)
    cache.delete_many([attack_key(phone), _lock(phone).key])


def lock(phone: str, seconds: int) -> None:
    """Refuse every code request and verify for ``phone`` for ``seconds`` (429 ``verify_locked``)."""
    cache.set(_lock(phone).key, math.ceil(time.time()) + seconds, seconds)


@lru_cache(maxsize=4096)
def address_key(ip: str) -> str:
    """The address the refresh cap counts: IPv4 as is (IPv4-mapped IPv6 too), IPv6 by its /64."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version == 6 and address.ipv4_mapped:
        return str(address.ipv4_mapped)
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def source_key(ip: str) -> str:
    """The network a customer holds, which the sign-in limits and the pumping alarm count a client
    by: an IPv4 /24 and an IPv6 /48 (SOURCE_PREFIX_IPV4, SOURCE_PREFIX_IPV6); an IPv4-mapped
    address as IPv4. One home or office allocation is one source, however many addresses it uses."""
    return _network(ip, app_settings.SOURCE_PREFIX_IPV4, app_settings.SOURCE_PREFIX_IPV6)


@lru_cache(maxsize=4096)  # a sign-in request asks for its source's keys several times (limits, code, budgets)
def _network(ip: str, v4: int, v6: int) -> str:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    prefix = v4 if address.version == 4 else v6
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def cooldown_key(phone: str, network: str) -> str:
    return f"otp-cd:{phone}:{network}"


def attack_key(phone: str) -> str:
    return f"otp-long:{phone}"


def _lock(phone: str) -> Limit:
    return Limit(f"otp-lock:{phone}", 1, 1, counts=False, cooldown=True, name=LOCKED)


def _number_sends(phone: str) -> Limit:
    return Limit(f"n:ph:{phone}", app_settings.OTP_MAX_SENDS_PER_NUMBER_PER_HOUR, HOUR, name="phone_all")


def _number_failures(phone: str, *, counts: bool = True) -> Limit:
    """Wrong codes for ``phone`` over a rolling OTP_FAILURE_WINDOW, from anywhere."""
    maximum, window = app_settings.OTP_MAX_FAILURES_PER_NUMBER, app_settings.OTP_FAILURE_WINDOW
    return Limit(f"fail:ph:{phone}", maximum, window, counts, name=NUMBER_FAILURES, rolling=True)


def _address_failures(client_ip: str, *, counts: bool = True) -> Limit:
    maximum = app_settings.OTP_MAX_FAILURES_PER_IP_PER_HOUR
    return Limit(f"fail:ip:{source_key(client_ip)}", maximum, HOUR, counts, name="ip_failures", rolling=True)


def refuse(refusal: Refusal, phone: str) -> None:
    """Raise what ``refusal`` means for ``phone``'s caller (and tell who needs to know)."""
    limit = refusal.limit
    if limit.name == SUPPRESSED:
        raise PhoneUndeliverable()
    if limit.name in (NUMBER_FAILURES, LOCKED):
        raise VerifyLocked(refusal.wait)
    if limit.name == COOLDOWN:
        raise Cooldown(refusal.wait)
    if limit.name.startswith("sms_") and cache.add(f"{limit.key}:logged", 1, refusal.wait):
        logger.error("SMS breaker tripped: hourly cap reached", extra={"limit": limit.key, "cap": limit.maximum})
    signals.send_limit_tripped.send(sender=admit_code_request, limit=limit.name, phone=phone)
    raise RateLimited(refusal.wait)
