"""Delete expired tokens in batches, each its own short statement, so no long lock is ever held."""

from django.db import transaction
from django.utils import timezone

from tokens.models import Token


def purge_expired_tokens(*, batch_size: int = 10_000, dry_run: bool = False) -> int:
    """Delete (or, with ``dry_run``, count) tokens expired now; returns how many."""
    now = timezone.now()
    expired = Token.objects.filter(expiry__lte=now)
    if dry_run:
        return expired.count()
    total = 0
    while True:
        with transaction.atomic():
            ids = list(expired.values_list("id", flat=True)[:batch_size])
            if not ids:
                return total
            total += Token.objects.filter(id__in=ids).revoke()
