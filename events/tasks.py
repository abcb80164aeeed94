"""The worker's side of the outbox: hand new events to their endpoints, send what is due, and
sweep (Celery beat, every EVENTS_SWEEP_SECONDS) for what a broker outage kept from being queued."""

from datetime import timedelta

from celery import shared_task
from django.db import IntegrityError, transaction
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
    due = []
    for event in Event.objects.filter(pk__in=event_ids, dispatched_at=None):
        with transaction.atomic():
            if not Event.objects.filter(pk=event.pk, dispatched_at=None).update(dispatched_at=now):
                continue  # another worker (the sweep, say) took it
            for endpoint in endpoints:
                if endpoint.wants(event.type):
                    try:
                        with transaction.atomic():
                            due.append(Delivery.objects.create(event=event, endpoint=endpoint, next_attempt_at=now).pk)
                    except IntegrityError:
                        pass
    for pk in due:
        deliver.delay(pk)


@shared_task(ignore_result=True)
def deliver(delivery_id: int) -> None:
    """One attempt of a delivery that is due (a retry is scheduled by the sweep, not by countdown)."""
    delivery = Delivery.objects.select_related("event", "endpoint").filter(pk=delivery_id, state=PENDING).first()
    if delivery is None or delivery.next_attempt_at is None or delivery.next_attempt_at > timezone.now():
        return
    if not delivery.endpoint.enabled:
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
