"""Events written in the transaction of the change they report, from the signals the other apps
already send (no app imports this one), then handed to the worker once that transaction commits.

An event is written only while some endpoint may want it (WEBHOOK_URL, or an enabled endpoint in the
admin: asked at most every ENDPOINTS_RECHECK seconds per process). Its ``data`` names the user and
the session; never a code, a token or a hash.
"""

import secrets
import time

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from accounts import signals as account_signals
from events.app_settings import app_settings
from events.models import Endpoint, Event
from messaging import signals as messaging_signals
from tokens import signals as token_signals
from tokens.models import Session

ENDPOINTS_RECHECK = 10  # seconds
_endpoints_known = [float("-inf"), False]  # (checked at, any enabled endpoint in the database)


def listening() -> bool:
    if app_settings.WEBHOOK_URL:
        return True
    checked_at, any_endpoint = _endpoints_known
    if time.monotonic() - checked_at > ENDPOINTS_RECHECK:
        any_endpoint = Endpoint.objects.filter(enabled=True).exists()
        _endpoints_known[:] = [time.monotonic(), any_endpoint]
    return any_endpoint


def endpoints_changed() -> None:
    _endpoints_known[0] = float("-inf")


def record(event_type: str, events: list[dict], using: str = "default") -> None:
    """Write one event of ``event_type`` per item of ``events`` (its ``data``), in one INSERT, in the
    current transaction; the worker is told once it commits."""
    if not events or not listening():
        return
    now = timezone.now()
    stamp = now.isoformat().replace("+00:00", "Z")
    rows = Event.objects.using(using).bulk_create(
        Event(
            webhook_id="msg_" + secrets.token_urlsafe(18),
            type=event_type,
            payload={"type": event_type, "timestamp": stamp, "data": data},
        )
        for data in events
    )
    ids = [row.pk for row in rows]
    transaction.on_commit(lambda: _dispatch_later(ids), using=using)


def _dispatch_later(ids: list[int]) -> None:
    from events.tasks import dispatch

    try:
        dispatch.delay(ids)
    except Exception:  # the broker is away: the sweep sends them (events.tasks.sweep)
        pass


def user_data(user) -> dict:
    return {"id": user.pk, "phone_number": user.phone_number, "name": user.name}


@receiver(account_signals.user_created)
def user_signed_up(sender, user, **kwargs):
    """A sign-up (its one-statement upsert sends no post_save)."""
    record("user.created", [user_data(user)])


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def user_saved(sender, instance, created: bool, update_fields, using, **kwargs):
    if created:  # the admin, createsuperuser, code
        record("user.created", [user_data(instance)], using)
    elif update_fields is None or {"name", "is_active"} & set(update_fields):
        record("user.updated", [{**user_data(instance), "is_active": instance.is_active}], using)


@receiver(account_signals.phone_changed)
def phone_changed(sender, user, old_phone, new_phone, **kwargs):
    record("user.phone_changed", [{**user_data(user), "old_phone_number": old_phone}])


@receiver(post_delete, sender=settings.AUTH_USER_MODEL)
def user_deleted(sender, instance, using, **kwargs):
    record("user.deleted", [user_data(instance)], using)


@receiver(post_save, sender=Session)
def session_created(sender, instance, created: bool, using, **kwargs):
    if created:
        session = {"session_id": instance.pk, "device_name": instance.device_name}
        record("session.created", [{"user": {"id": instance.user_id}, **session}], using)


@receiver(token_signals.sessions_ended)
def sessions_ended(sender, ended, using="default", **kwargs):
    data = [{"user": {"id": user_id}, "session_id": pk, "device_name": device} for pk, user_id, device in ended]
    record("session.ended", data, using)


@receiver(token_signals.refresh_reused)
def refresh_reused(sender, session_id, user_id, **kwargs):
    record("session.refresh_reused", [{"user": {"id": user_id}, "session_id": session_id}])


@receiver(account_signals.passkey_added)
def passkey_added(sender, user_id, passkey, **kwargs):
    record("passkey.added", [{"user": {"id": user_id}, "passkey": {"id": passkey.pk, "name": passkey.name}}])


@receiver(account_signals.passkey_removed)
def passkey_removed(sender, user_id, passkey, **kwargs):
    record("passkey.removed", [{"user": {"id": user_id}, "passkey": {"id": passkey.pk, "name": passkey.name}}])


@receiver(account_signals.codes_lengthened)
def codes_lengthened(sender, phone, **kwargs):
    record("phone.guessed_at", [{"phone_number": phone}])


@receiver(account_signals.number_locked)
def number_locked(sender, phone, **kwargs):
    record("phone.locked", [{"phone_number": phone}])


@receiver(messaging_signals.region_closed)
def region_closed(sender, region, prefix, conversion, sample, until, **kwargs):
    record("region.closed", [{"region": region, "range": prefix, "until": until.isoformat().replace("+00:00", "Z")}])
