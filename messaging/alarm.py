"""The pumping alarm: a region whose codes are sent but not verified is being pumped (premium-rate
SMS fraud), so it is closed for a while.

After each message, the region's conversion (verified / sent) over the last hour is checked; under
SMS_MIN_CONVERSION with at least SMS_MIN_CONVERSION_SAMPLE messages, the region closes for
SMS_REGION_BLOCK_SECONDS. Only messages sent since the region last reopened count, so a reopened
region needs a fresh sample before it can close again.
"""

import logging
from datetime import timedelta

from django.db import IntegrityError
from django.db.models import Count
from django.utils import timezone

from messaging import gates, metrics, signals
from messaging.app_settings import app_settings
from messaging.models import Message, RegionBlock

logger = logging.getLogger(__name__)


def check_region(region: str) -> bool:
    """Close ``region`` if its conversion fell under the floor; returns whether it is closed now.
    SMS_MIN_CONVERSION=0 turns the alarm off."""
    if app_settings.SMS_MIN_CONVERSION <= 0:
        return False
    now = timezone.now()
    block = RegionBlock.objects.filter(region=region).first()
    if block is not None and block.until > now:
        return True
    since = max(now - timedelta(hours=1), block.until) if block is not None else now - timedelta(hours=1)
    counts = Message.objects.filter(region=region, created_at__gte=since).aggregate(
        sent=Count("id"), verified=Count("verified_at")
    )
    sent = counts["sent"]
    if sent < max(app_settings.SMS_MIN_CONVERSION_SAMPLE, 1):
        return False
    conversion = counts["verified"] / sent
    if conversion >= app_settings.SMS_MIN_CONVERSION:
        return False
    until = now + timedelta(seconds=app_settings.SMS_REGION_BLOCK_SECONDS)
    fields = {"conversion": conversion, "sample": sent, "created_at": now, "until": until}
    try:
        RegionBlock.objects.update_or_create(region=region, defaults=fields)
    except IntegrityError:  # another worker closed it at the same moment
        return True
    gates.mirror_block(region, until)
    logger.error(
        "SMS pumping alarm: region closed",
        extra={"region": region, "conversion": round(conversion, 3), "sample": sent, "until": until.isoformat()},
    )
    metrics.REGIONS_CLOSED.labels(region).inc()
    signals.region_closed.send(sender=RegionBlock, region=region, conversion=conversion, sample=sent, until=until)
    return True


def reopen(blocks) -> int:
    """Reopen the regions of ``blocks`` now (the admin's action); their sample starts afresh."""
    now = timezone.now()
    regions = list(blocks.values_list("region", flat=True))
    reopened = blocks.update(until=now)
    for region in regions:
        gates.mirror_block(region, now)
    return reopened
