"""The worker's side of the outbox: hand new events to their endpoints, send what is due, and
sweep (Celery beat, every EVENTS_SWEEP_SECONDS) for what a broker outage kept from being queued."""

from datetime import timedelta

from celery import shared_task
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from events.app_settings import app_settings
from events.delivery import attempt
from events.models import PENDING, Delivery, Endpoint, Event

SWEEP_AFTER = 10  # seconds an event may wait for its own dispatch before the sweep takes it
BATCH = 500


def environment_endpoint() -> Endpoint | None:
    """WEBHOOK_URL's endpoint, as a row (deliveries refer to it), its secret kept in step."""
    if not app_settings.WEBHOOK_URL:
        return None
    endpoint = Endpoint.objects.filter(from_environment=True, url=app_settings.WEBHOOK_URL).first()
    if endpoint is None:
        endpoint = Endpoint(url=app_settings.WEBHOOK_URL, from_environment=True)
    if endpoint.pk is None or endpoint.secret != app_settings.WEBHOOK_SECRET:
        endpoint.secret = app_settings.WEBHOOK_SECRET
        endpoint.save()
    return endpoint


@shared_task(ignore_result=True)
def dispatch(event_ids: list[int]) -> None:
    """Give each event a delivery to every endpoint that wants it, then send them."""
    environment_endpoint()
    endpoints = list(Endpoint.objects.filter(enabled=True))
    now = timezone.now()
    with transaction.atomic():
        events = list(Event.objects.select_for_update(skip_locked=True).filter(pk__in=event_ids, dispatched_at=None))
        Event.objects.filter(pk__in=[event.pk for event in events]).update(dispatched_at=now)
        rows = [
            Delivery(event=event, endpoint=endpoint, next_attempt_at=now)
            for event in events
            for endpoint in endpoints
            if endpoint.wants(event.type)
        ]
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    due = Delivery.objects.filter(event__in=events, state=PENDING, attempts=0).values_list("pk", flat=True)
    for pk in due:
        deliver.delay(pk)


@shared_task(ignore_result=True)
def deliver(delivery_id: int) -> None:
    """One attempt of a delivery that is due (a retry is scheduled by the sweep, not by countdown).

    The attempt is claimed first and counted (its due time moved past the attempt's longest run: the
    exchange's deadline is WEBHOOK_TIMEOUT in all), so the queued task and the sweep never send the
    same delivery at once; a worker that dies mid-attempt leaves it due again once the claim lapses,
    that attempt counted."""
    now = timezone.now()
    claim = now + timedelta(seconds=2 * app_settings.WEBHOOK_TIMEOUT + 5)
    # (conditions on the row itself, no join: PostgreSQL checks them again on the row a concurrent
    # claim just updated; through a join's subquery it would not, and both would send)
    due = Delivery.objects.filter(pk=delivery_id, state=PENDING, next_attempt_at__lte=now)
    if not due.update(next_attempt_at=claim, attempts=F("attempts") + 1):
        return
    delivery = Delivery.objects.select_related("event", "endpoint").get(pk=delivery_id)
    if not delivery.endpoint.enabled:  # disabled meanwhile: due again if it is enabled again
        Delivery.objects.filter(pk=delivery_id).update(next_attempt_at=now, attempts=F("attempts") - 1)
        return
    attempt(delivery)


@shared_task(ignore_result=True)
def sweep() -> int:
    """Dispatch events left undispatched, and attempt every delivery that is due; returns how many."""
    stale = timezone.now() - timedelta(seconds=SWEEP_AFTER)
    waiting = list(Event.objects.filter(dispatched_at=None, created_at__lte=stale).values_list("pk", flat=True)[:BATCH])
    if waiting:
        dispatch(waiting)
    due = Delivery.objects.filter(state=PENDING, next_attempt_at__lte=timezone.now(), endpoint__enabled=True)
    ids = list(due.order_by("next_attempt_at").values_list("pk", flat=True)[:BATCH])
    for pk in ids:
        deliver(pk)
    return len(waiting) + len(ids)


@shared_task(ignore_result=True)
def purge_events() -> int:
    """Events older than EVENTS_RETENTION_DAYS whose every delivery is over (delivered or given up),
    with their deliveries and attempts (PURGE_EVERY); returns how many."""
    old = Event.objects.filter(created_at__lt=timezone.now() - timedelta(days=app_settings.EVENTS_RETENTION_DAYS))
    done = old.exclude(pk__in=Delivery.objects.filter(state=PENDING).values("event_id"))
    total = 0
    while ids := list(done.values_list("pk", flat=True)[:BATCH]):
        total += len(ids)
        Event.objects.filter(pk__in=ids).delete()
    return total
