"""The purge of expired device tokens, on Celery beat's schedule (PURGE_EVERY)."""

from celery import shared_task

from accounts.devices import KnownDevice


@shared_task(ignore_result=True)
def purge_known_devices() -> int:
    return KnownDevice.objects.purge_expired()
