"""The pumping alarm: codes sent and never verified mean someone is pumping premium-rate SMS to
numbers they rent, so what is being pumped is closed for SMS_REGION_BLOCK_SECONDS, not everyone.

A *range* is a number without its last SMS_RANGE_DIGITS digits (``+9198123`` for +91 98123 5xxxx).
After each message, its range's last-hour conversion (verified / sent) is checked: under
SMS_MIN_CONVERSION over at least SMS_MIN_CONVERSION_SAMPLE messages, whose unverified ones were
asked from at least SMS_RANGE_MIN_SOURCES source networks (an IPv4 /24, an IPv6 /48: the message's
``source``), the range closes. A whole region closes only when the collapse spans
SMS_REGION_CLOSE_RANGES of its ranges within the hour, its last-hour volume is at least
SMS_REGION_SURGE times its usual hourly volume (the week before) and at least SMS_REGION_MIN_VOLUME,
and its unverified messages came from at least SMS_REGION_MIN_SOURCES networks. One network, whose
own requests its hourly cap refuses, can close nothing for anyone else.

While a range or region is closed, code requests for it are answered as any other (nothing may tell
which numbers have accounts), and a code is sent only to a number that has an account
(accounts.limits, messaging.tasks): the pump gets no message, a returning person gets theirs.

A closing is written once (the row changes only from open to closed), so of several workers that
see the same collapse, one logs it, counts it and tells the others. A range or region that opened
again (reopened by an admin, or lapsed) within the hour keeps its record: only messages since then
count, and a fifth of the sample closes it again, so a reopen hands no attacker a fresh cheap sample.
"""

import logging
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from messaging import gates, metrics, signals
from messaging.app_settings import app_settings
from messaging.models import Message, RegionBlock
from messaging.numbers import range_of, region_of

logger = logging.getLogger(__name__)
HOUR = timedelta(hours=1)
USUAL_WEEKS = 1  # how far back a region's usual hourly volume is taken from
PROBATION_SHARE = 5  # a range or region opened again within the hour closes on a fifth of the sample


def check(phone: str) -> None:
    """After a message to ``phone``: close its range if its conversion collapsed, and its region if
    the collapse spans many ranges in a surge. SMS_MIN_CONVERSION=0 turns the alarm off."""
    if app_settings.SMS_MIN_CONVERSION <= 0:
        return
    region, prefix = region_of(phone), range_of(phone)
    now = timezone.now()
    messages = Message.objects.filter(region=region, phone_number__startswith=prefix)
    sample, sources = app_settings.SMS_MIN_CONVERSION_SAMPLE, app_settings.SMS_RANGE_MIN_SOURCES
    collapse = _collapse(region, prefix, messages, sample, sources, now)
    if collapse is None:
        return
    conversion, sent = collapse
    floor = app_settings.SMS_MIN_CONVERSION
    reason = f"conversion {conversion:.2f} over {sent} messages to this range (floor {floor:g})"
    if _close(region, prefix, conversion, sent, reason, now):
        _check_region(region, now)


def _check_region(region: str, now) -> None:
    ranges = RegionBlock.objects.filter(region=region, created_at__gte=now - HOUR).exclude(prefix="").count()
    if ranges < app_settings.SMS_REGION_CLOSE_RANGES:
        return
    messages = Message.objects.filter(region=region)
    week = messages.filter(created_at__gte=now - HOUR - timedelta(weeks=USUAL_WEEKS), created_at__lt=now - HOUR)
    usual = week.count() / (USUAL_WEEKS * 7 * 24)
    volume = max(app_settings.SMS_REGION_MIN_VOLUME, app_settings.SMS_REGION_SURGE * usual)
    collapse = _collapse(region, "", messages, volume, app_settings.SMS_REGION_MIN_SOURCES, now)
    if collapse is None:
        return
    conversion, sent = collapse
    reason = (
        f"{ranges} ranges closed within the hour; {sent} messages in the last hour against "
        f"{usual:.0f} usual, conversion {conversion:.2f}"
    )
    _close(region, "", conversion, sent, reason, now)


def _collapse(region: str, prefix: str, messages, sample: float, sources: int, now) -> tuple[float, int] | None:
    """(conversion, messages) of the last hour if it fell under the floor over at least ``sample``
    messages (fewer, since it opened again, if it did within the hour) whose unverified ones came
    from at least ``sources`` networks; None otherwise, or if closed."""
    block = RegionBlock.objects.filter(region=region, prefix=prefix).only("until").first()
    since = now - HOUR
    if block is not None and block.until > now:
        return None
    if block is not None and block.until > since:
        since, sample = block.until, sample / PROBATION_SHARE
    counts = messages.filter(created_at__gte=since).aggregate(sent=Count("id"), verified=Count("verified_at"))
    sent = counts["sent"]
    if sent < max(sample, 1) or counts["verified"] / sent >= app_settings.SMS_MIN_CONVERSION:
        return None
    unverified = messages.filter(created_at__gte=since, verified_at=None)
    if unverified.values("source").distinct().count() < sources:
        return None
    return counts["verified"] / sent, sent


def _close(region: str, prefix: str, conversion: float, sample: int, reason: str, now) -> bool:
    """Close ``prefix`` (or, empty, ``region``) unless another worker just did; True if this one did."""
    until = now + timedelta(seconds=app_settings.SMS_REGION_BLOCK_SECONDS)
    fields = {"conversion": conversion, "sample": sample, "reason": reason, "created_at": now, "until": until}
    rows = RegionBlock.objects.filter(region=region, prefix=prefix)
    if not rows.filter(until__lte=now).update(**fields):
        try:
            with transaction.atomic():
                RegionBlock.objects.create(region=region, prefix=prefix, **fields)
        except IntegrityError:  # closed by another worker since this one looked
            return False
    gates.mirror_block(prefix or region, until)
    scope = "range" if prefix else "region"
    logger.error(
        f"SMS pumping alarm: {scope} closed",
        extra={"region": region, "range": prefix, "reason": reason, "until": until.isoformat()},
    )
    metrics.REGIONS_CLOSED.labels(region, scope).inc()
    signals.region_closed.send(
        sender=RegionBlock, region=region, prefix=prefix, conversion=conversion, sample=sample, until=until
    )
    return True


def reopen(blocks) -> int:
    """Open the ranges and regions of ``blocks`` now (the admin's action); see the module's note."""
    now = timezone.now()
    scopes = [block.scope for block in blocks]
    reopened = blocks.update(until=now)
    for scope in scopes:
        gates.mirror_block(scope, now)
    return reopened
