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
    total, after = 0, 0
    while True:
        with transaction.atomic():
            # From where the last batch ended, in id order: a batch never walks back over the index
            # entries of rows already deleted (that made each batch slower than the last).
            ids = list(expired.filter(id__gt=after).order_by("id").values_list("id", flat=True)[:batch_size])
            if not ids:
                return total
            total += Token.objects.filter(id__in=ids).revoke()
            after = ids[-1]
