"""The delivery gates a code request passes: a suppressed number, a closed region or number range. The database
rows (Suppression, RegionBlock) stay the truth the admin shows; the cache mirrors the active ones
as "closed until" timestamps (whole seconds) under ``suppressed_key`` and ``closed_key``, which the
code request checks with its limits in one round trip (accounts.limits). ``LOADED`` marks a cache
that holds the mirror; when it is missing (a Redis restart), ``reload`` refills it from the rows."""

import math

from django.core.cache import cache
from django.utils import timezone

from messaging.models import RegionBlock, Suppression

LOADED = "gates:loaded"


def suppressed_key(phone: str) -> str:
    return f"gates:suppressed:{phone}"


def closed_key(scope: str) -> str:
    """The gate of a region (``IN``) or a number range (``+9198123``) the pumping alarm closed."""
    return f"gates:closed:{scope}"


def mirror_suppression(phone: str, until) -> None:
    _mirror(suppressed_key(phone), until)


def mirror_block(scope: str, until) -> None:
    _mirror(closed_key(scope), until)


def reload() -> None:
    now = timezone.now()
    for phone, until in Suppression.objects.filter(until__gt=now).values_list("phone_number", "until"):
        mirror_suppression(phone, until)
    for block in RegionBlock.objects.filter(until__gt=now).only("region", "prefix", "until"):
        mirror_block(block.scope, block.until)
    cache.set(LOADED, 1, None)


def _mirror(key: str, until) -> None:
    seconds = (until - timezone.now()).total_seconds()
    if seconds > 0:
        cache.set(key, math.ceil(until.timestamp()), math.ceil(seconds) + 1)
    else:
        cache.delete(key)
