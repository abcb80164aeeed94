"""Send limits, kept in the cache so they hold across every process: the resend cooldown per
number, hourly caps per number and per client address, and the SMS-pumping breaker (a region
allow-list, global and per-region hourly caps).

DRF's ``SimpleRateThrottle`` keeps a history list with get-then-set, which two processes can race
past; these use ``cache.add`` and ``cache.incr`` (atomic in django-redis).
"""

import logging
import math
import time

from django.core.cache import cache

from accounts import signals
from accounts.app_settings import app_settings
from accounts.exceptions import Cooldown, RateLimited, RegionNotAllowed
from accounts.phone import region_of

logger = logging.getLogger(__name__)
HOUR = 3600


def enforce_send_limits(phone: str, client_ip: str) -> None:
    """Count one code request for ``phone`` from ``client_ip``; raise if a limit refuses it."""
    region = region_of(phone)
    if app_settings.SMS_ALLOWED_REGIONS and region not in app_settings.SMS_ALLOWED_REGIONS:
        raise RegionNotAllowed()
    wait = start_cooldown(cooldown_key(phone), app_settings.OTP_RESEND_COOLDOWN)
    if wait:
        raise Cooldown(wait)
    caps = [
        ("phone", f"ph:{phone}", app_settings.OTP_MAX_SENDS_PER_HOUR),
        ("ip", f"ip:{client_ip}", app_settings.OTP_MAX_SENDS_PER_IP_PER_HOUR),
        ("sms_global", "sms-global", app_settings.SMS_MAX_PER_HOUR),
        ("sms_country", f"sms-country:{region}", app_settings.SMS_MAX_PER_COUNTRY_PER_HOUR),
    ]
    for limit, name, maximum in caps:
        wait = count_in_window(name, maximum)
        if wait:
            if limit.startswith("sms_") and first_refusal_in_window(name):
                logger.error("SMS breaker tripped: hourly cap reached", extra={"limit": name, "cap": maximum})
            signals.send_limit_tripped.send(sender=enforce_send_limits, limit=limit, phone=phone)
            raise RateLimited(wait)


def start_cooldown(key: str, seconds: int) -> int:
    """Start a cooldown under ``key`` unless one is running; returns the seconds left of a running one."""
    if seconds <= 0:
        return 0
    until = math.ceil(time.time()) + seconds  # an int: Redis stores it unpickled, in fewer bytes
    if cache.add(key, until, seconds):
        return 0
    return max(math.ceil((cache.get(key) or until) - time.time()), 1)


def count_in_window(name: str, limit: int, window: int = HOUR) -> int:
    """Count one event against ``limit`` per ``window`` seconds (0 or less: no limit)."""
    if limit <= 0:
        return 0
    now = time.time()
    window_id = int(now // window)
    key = f"n:{name}:{window_id}"
    cache.add(key, 0, window + 60)
    try:
        count = cache.incr(key)
    except ValueError:  # the window's key expired between add and incr
        cache.add(key, 1, window + 60)
        count = 1
    if count <= limit:
        return 0
    return max(math.ceil((window_id + 1) * window - now), 1)


def first_refusal_in_window(name: str, window: int = HOUR) -> bool:
    """True once per window for ``name``: used to log a tripped limit once, not on every refusal."""
    return cache.add(f"n-logged:{name}:{int(time.time() // window)}", 1, window + 60)


def cooldown_key(phone: str) -> str:
    return f"otp-cd:{phone}"
