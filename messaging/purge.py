"""Delete message records older than DELIVERY_RETENTION_DAYS, and lapsed suppressions and region
blocks, in batches (each its own short statement, so no long lock is ever held)."""

from datetime import timedelta

from django.utils import timezone

from messaging.app_settings import app_settings
from messaging.models import Message, RegionBlock, Suppression


def purge_delivery_records(*, batch_size: int = 10_000, dry_run: bool = False) -> int:
    """Delete (or, with ``dry_run``, count) message records past retention; returns how many."""
    old = Message.objects.filter(created_at__lt=timezone.now() - timedelta(days=app_settings.DELIVERY_RETENTION_DAYS))
    if dry_run:
        return old.count()
    total = 0
    while ids := list(old.values_list("id", flat=True)[:batch_size]):
        total += Message.objects.filter(id__in=ids).delete()[0]
    Suppression.objects.filter(until__lte=timezone.now()).delete()
    RegionBlock.objects.filter(until__lte=timezone.now() - timedelta(days=1)).delete()
    return total
