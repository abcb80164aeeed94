"""The delivery gates a code request passes (a suppressed number, a closed region), read in one
cache round trip. The database rows (Suppression, RegionBlock) stay the truth the admin shows; the
cache mirrors the active ones, and is refilled from them when it has lost them (a Redis restart)."""

import time

from django.core.cache import cache
from django.utils import timezone

from messaging.models import RegionBlock, Suppression

LOADED = "gates:loaded"


def refusal(phone: str, region: str) -> tuple[str, int] | None:
    """``("region_closed", seconds)`` or ``("suppressed", seconds)``, or None when both are open."""
    found = cache.get_many([LOADED, _suppressed(phone), _closed(region)])
    if LOADED not in found:
        _reload()
        found = cache.get_many([_suppressed(phone), _closed(region)])
    now = time.time()
    if found.get(_closed(region), 0) > now:
        return "region_closed", max(int(found[_closed(region)] - now), 1)
    if found.get(_suppressed(phone), 0) > now:
        return "suppressed", max(int(found[_suppressed(phone)] - now), 1)
    return None


def mirror_suppression(phone: str, until) -> None:
    _mirror(_suppressed(phone), until)


def mirror_block(region: str, until) -> None:
    _mirror(_closed(region), until)


def _mirror(key: str, until) -> None:
    seconds = (until - timezone.now()).total_seconds()
    if seconds > 0:
        cache.set(key, until.timestamp(), int(seconds) + 1)
    else:
        cache.delete(key)


def _reload() -> None:
    now = timezone.now()
    for phone, until in Suppression.objects.filter(until__gt=now).values_list("phone_number", "until"):
        mirror_suppression(phone, until)
    for region, until in RegionBlock.objects.filter(until__gt=now).values_list("region", "until"):
        mirror_block(region, until)
    cache.set(LOADED, 1, None)


def _suppressed(phone: str) -> str:
    return f"gates:suppressed:{phone}"


def _closed(region: str) -> str:
    return f"gates:closed:{region}"
