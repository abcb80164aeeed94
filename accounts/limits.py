"""The sign-in limits, per number and per client address, all checked before any is counted
(accounts.counters): the resend cooldown, hourly send caps, the SMS-pumping breaker (region
allow-list, global and per-region hourly caps, closed regions and number ranges) and the failure
budgets (wrong codes per number across its codes, and per address).

A number's cooldown, send cap and failure budget count per client *network* (an IPv4 /24, an IPv6
/64), beside a number-wide send cap and failure budget a few times larger: an attacker on a few
networks spends only their own share, and the owner, from another network, still gets a code and
signs in. The failure budgets are rolling (GCRA, see accounts.counters), not calendar days.

Per-address limits count an IPv6 client by its /64 (one subscriber holds a whole /64) and an
IPv4-mapped address as IPv4.
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
from accounts.counters import Limit, Refusal, Write, admit
from accounts.exceptions import Cooldown, PhoneUndeliverable, RateLimited, RegionNotAllowed, VerifyLocked
from messaging import gates
from messaging.numbers import range_of

logger = logging.getLogger(__name__)
HOUR, DAY = 3600, 86400
COOLDOWN, NUMBER_FAILURES = "cooldown", "number_failures"
CACHE_LOST = "limits:cache-lost"  # present for a failure window after the cache lost its data
GATES_LOADED, REGION_CLOSED, SUPPRESSED = "gates_loaded", "region_closed", "suppressed"


def admit_code_request(
    phone: str, region: str, client_ip: str, *, test_number: bool, writes: list[Write], account: int | None = None
) -> list[Limit]:
    """Count one code request for ``phone`` (in ``region``) and write ``writes`` (its pending code),
    all in one round trip; raise (counting and writing nothing) if any gate or limit refuses it.
    Returns the limits it counted, for ``give_back``. ``account``: the user whose number change this
    code is for (PHONE_CHANGE_MAX_PER_DAY).

    Test numbers skip the gates and the send limits, not the failure budget."""
    if not test_number and app_settings.SMS_ALLOWED_REGIONS and region not in app_settings.SMS_ALLOWED_REGIONS:
        raise RegionNotAllowed()
    network = network_key(client_ip)
    limits = [] if test_number else _gates(phone, region)
    limits += [_number_failures(phone, network, counts=False), _number_failures(phone, counts=False)]
    if not test_number:
        limits += [
            Limit(cooldown_key(phone, network), 1, app_settings.OTP_RESEND_COOLDOWN, cooldown=True, name=COOLDOWN),
            Limit(f"n:ph:{phone}:{network}", app_settings.OTP_MAX_SENDS_PER_HOUR, HOUR, name="phone"),
            Limit(f"n:ph:{phone}", app_settings.OTP_MAX_SENDS_PER_NUMBER_PER_HOUR, HOUR, name="phone_all"),
            Limit(f"n:ip:{address_key(client_ip)}", app_settings.OTP_MAX_SENDS_PER_IP_PER_HOUR, HOUR, name="ip"),
            Limit("n:sms-global", app_settings.SMS_MAX_PER_HOUR, HOUR, name="sms_global"),
            Limit(f"n:sms-country:{region}", app_settings.SMS_MAX_PER_COUNTRY_PER_HOUR, HOUR, name="sms_country"),
        ]
        if account is not None:
            limits.append(Limit(f"n:chg:{account}", app_settings.PHONE_CHANGE_MAX_PER_DAY, DAY, name="changes"))
    refusal = admit(limits, writes)
    if refusal is not None and refusal.limit.name == GATES_LOADED:  # the cache lost the gates: refill, retry
        _cache_came_back_empty()
        gates.reload()
        refusal = admit(limits, writes)
    if refusal is not None:
        refuse(refusal, phone)
    return [limit for limit in limits if limit.counts and limit.maximum > 0]


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


def assumed_spent(budgets: list[Limit]) -> list[int]:
    """What each budget of ``guess_budgets`` counts as while the cache is known to have lost them:
    half spent for the number-wide one (its rolling value half a window ahead: the bound on guessing
    with unlimited addresses), nothing for a network's or an address's (an owner's own share)."""
    _network, number, _address = budgets
    return [0, math.floor(time.time() * 1000) + number.window * 500, 0]


def guess_budgets(phone: str, client_ip: str) -> list[Limit]:
    """The failure budgets a wrong code spends: the number's from this network first (a right code
    resets it), then the number's, then the address's. ``code_store.check`` checks and counts them
    with the try itself."""
    return [_number_failures(phone, network_key(client_ip)), _number_failures(phone), _address_failures(client_ip)]


def number_locked_now(phone: str, client_ip: str) -> bool:
    """Whether ``phone``'s failure budget, from ``client_ip``'s network or in all, is spent."""
    now = time.time()
    budgets = [_number_failures(phone, network_key(client_ip)), _number_failures(phone)]
    return any(budget.maximum > 0 and counters.current(budget) >= budget.threshold(now) for budget in budgets)


def forget_number(phone: str, client_ip: str) -> None:
    """Drop the number's failure budgets and the cooldown of ``client_ip``'s network (the account was
    deleted from there)."""
    cache.delete(cooldown_key(phone, network_key(client_ip)))
    unlock(phone)


def unlock(phone: str) -> None:
    """Lift every failure budget of ``phone`` (number-wide and per network). The number-wide one is
    written as unspent, not deleted, so it counts as fresh even after the cache lost its data."""
    cache.set(_number_failures(phone).key, 0, app_settings.OTP_FAILURE_WINDOW)
    counters.delete_prefixed(_number_failures(phone, "").key)


@lru_cache(maxsize=4096)  # a sign-in request asks for its address's keys several times (limits, code, budgets)
def address_key(ip: str) -> str:
    """The address a limit counts: IPv4 as is (IPv4-mapped IPv6 too), IPv6 by its /64."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version == 6 and address.ipv4_mapped:
        return str(address.ipv4_mapped)
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


@lru_cache(maxsize=4096)
def network_key(ip: str) -> str:
    """The client network a number's limits count by: an IPv4 /24, an IPv6 /64."""
    key = address_key(ip)
    if "/" in key or ":" in key:
        return key
    try:
        return str(ipaddress.ip_network(f"{key}/24", strict=False))
    except ValueError:
        return key


def cooldown_key(phone: str, network: str) -> str:
    return f"otp-cd:{phone}:{network}"


def _number_failures(phone: str, network: str | None = None, *, counts: bool = True) -> Limit:
    """Wrong codes for ``phone`` over a rolling OTP_FAILURE_WINDOW: from ``network``, or in all."""
    window = app_settings.OTP_FAILURE_WINDOW
    if network is None:
        maximum, key = app_settings.OTP_MAX_FAILURES_PER_NUMBER, f"fail:ph:{phone}"
    else:
        maximum, key = app_settings.OTP_MAX_FAILURES_PER_NUMBER_PER_NETWORK, f"fail:ph:{phone}:{network}"
    return Limit(key, maximum, window, counts, name=NUMBER_FAILURES, rolling=True)


def _address_failures(client_ip: str, *, counts: bool = True) -> Limit:
    maximum = app_settings.OTP_MAX_FAILURES_PER_IP_PER_HOUR
    return Limit(f"fail:ip:{address_key(client_ip)}", maximum, HOUR, counts, name="ip_failures", rolling=True)


def refuse(refusal: Refusal, phone: str) -> None:
    """Raise what ``refusal`` means for ``phone``'s caller (and tell who needs to know)."""
    limit = refusal.limit
    if limit.name == SUPPRESSED:
        raise PhoneUndeliverable()
    if limit.name == NUMBER_FAILURES:
        raise VerifyLocked(refusal.wait)
    if limit.name == COOLDOWN:
        raise Cooldown(refusal.wait)
    if limit.name.startswith("sms_") and cache.add(f"{limit.key}:logged", 1, refusal.wait):
        logger.error("SMS breaker tripped: hourly cap reached", extra={"limit": limit.key, "cap": limit.maximum})
    signals.send_limit_tripped.send(sender=admit_code_request, limit=limit.name, phone=phone)
    raise RateLimited(refusal.wait)
