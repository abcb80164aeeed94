"""Delete ended sessions and expired tokens in batches, each its own short statement, so no long lock
is ever held; forget the replay answers of refresh tokens spent longer ago than the reuse interval."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from tokens.app_settings import app_settings
from tokens.models import REFRESH, Session, Token


def purge_ended_sessions(*, batch_size: int = 10_000, dry_run: bool = False) -> int:
    """End (delete, with their tokens) or, with ``dry_run``, count the sessions ended now."""
    ended = Session.objects.ended(timezone.now())
    if dry_run:
        return ended.count()
    return _in_batches(ended, lambda ids: Session.objects.filter(id__in=ids).end("expired"), batch_size)


def purge_expired_tokens(*, batch_size: int = 10_000, dry_run: bool = False) -> int:
    """Delete (or, with ``dry_run``, count) the access and other tokens expired now; a refresh token
    lives as long as its session, and goes with it."""
    now = timezone.now()
    expired = Token.objects.filter(expiry__lte=now).exclude(scope=REFRESH)
    if dry_run:
        return expired.count()
    stale = now - timedelta(seconds=app_settings.REFRESH_REUSE_INTERVAL)
    Token.objects.filter(sealed__isnull=False, spent_at__lte=stale).update(sealed=None)
    return _in_batches(expired, lambda ids: Token.objects.filter(id__in=ids).revoke(), batch_size)


def _in_batches(rows, delete, batch_size: int) -> int:
    total, after = 0, 0
    while True:
        with transaction.atomic():
            # From where the last batch ended, in id order: a batch never walks back over the index
            # entries of rows already deleted (that made each batch slower than the last).
            ids = list(rows.filter(id__gt=after).order_by("id").values_list("id", flat=True)[:batch_size])
            if not ids:
                return total
            total += delete(ids)
            after = ids[-1]
