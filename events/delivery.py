"""Delivering an event to one endpoint, signed as Standard Webhooks says (its own library signs).

One attempt: the URL must be allowed (with DEBUG off: https only, unless WEBHOOK_ALLOW_PRIVATE), and
every address its host resolves to must be public unless WEBHOOK_ALLOW_PRIVATE (checked at every send, so a name made to
resolve to an inside address after the endpoint was added is refused; a resolver that answers
differently between the check and the connection a moment later is not caught: that would need the
connection pinned to the checked address). No redirects are followed; WEBHOOK_TIMEOUT seconds for
the whole exchange and at most 64 KiB of the answer read (events.exchange). A 2xx delivers; anything
else is retried at RETRY_DELAYS, then given up; an endpoint failing for WEBHOOK_DISABLE_AFTER is
disabled. Attempts are counted when claimed (events.tasks), so one cut short by a dying worker counts.
"""

import http.client
import ipaddress
import logging
import socket
import time
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import orjson
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook

from events import exchange, signals
from events.address import refused_address
from events.app_settings import RETRY_DELAYS, app_settings
from events.models import DELIVERED, FAILED, PENDING, Attempt, Delivery, Endpoint

logger = logging.getLogger(__name__)


class Refused(Exception):
    """The endpoint's URL may not be called."""


def check_url(url: str) -> None:
    """Raise Refused unless ``url`` may be called now."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise Refused("not an http(s) URL")
    if parts.scheme != "https" and not (settings.DEBUG or app_settings.WEBHOOK_ALLOW_PRIVATE):
        raise Refused("https only")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)}
    except OSError as error:
        raise Refused(f"cannot resolve {parts.hostname}: {error}") from None
    for address in addresses:
        if not app_settings.WEBHOOK_ALLOW_PRIVATE and refused_address(ipaddress.ip_address(address.split("%")[0])):
            raise Refused(f"{parts.hostname} resolves to a non-public address")


def attempt(delivery: Delivery) -> bool:
    """Send ``delivery`` once (its attempt already counted by the claim) and record it; True when
    delivered."""
    event, endpoint = delivery.event, delivery.endpoint
    body = orjson.dumps(event.payload)
    started, began = timezone.now(), time.monotonic()
    status, error = None, ""
    try:
        check_url(endpoint.url)
        signature = Webhook(endpoint.secret).sign(event.webhook_id, started, body)
        headers = {
            "content-type": "application/json",
            "webhook-id": event.webhook_id,
            "webhook-timestamp": str(int(started.timestamp())),
            "webhook-signature": signature,
            "user-agent": "Cheershare-Webhooks/1",
        }
        status = exchange.post(endpoint.url, body, headers, deadline=app_settings.WEBHOOK_TIMEOUT)
        if not 200 <= status < 300:
            error = f"HTTP {status}"
    except Refused as refused:
        error = f"refused: {refused}"
    except exchange.DeadlineExceeded:
        error = f"no answer within {app_settings.WEBHOOK_TIMEOUT} s"
    except (OSError, http.client.HTTPException) as failure:
        error = type(failure).__name__
    duration = int((time.monotonic() - began) * 1000)
    ok = not error
    with transaction.atomic():
        Attempt.objects.create(
            delivery=delivery, started_at=started, status_code=status, duration_ms=duration, error=error[:200]
        )
        if ok:
            delivery.state, delivery.delivered_at, delivery.next_attempt_at = DELIVERED, timezone.now(), None
        elif delivery.attempts > len(RETRY_DELAYS):
            delivery.state, delivery.next_attempt_at = FAILED, None
        else:
            delivery.next_attempt_at = started + timedelta(seconds=RETRY_DELAYS[delivery.attempts - 1])
        delivery.save(update_fields=["state", "attempts", "next_attempt_at", "delivered_at"])
        _note_endpoint(endpoint, ok, started)
    return ok


def _note_endpoint(endpoint: Endpoint, ok: bool, at: datetime) -> None:
    if ok:
        if endpoint.failing_since is not None:
            Endpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
        return
    if endpoint.failing_since is None:
        Endpoint.objects.filter(pk=endpoint.pk, failing_since=None).update(failing_since=at)
    elif at - endpoint.failing_since >= timedelta(seconds=app_settings.WEBHOOK_DISABLE_AFTER):
        if Endpoint.objects.filter(pk=endpoint.pk, enabled=True).update(enabled=False):
            logger.error(
                "webhook_endpoint_disabled",
                extra={
                    "event": "webhook_endpoint_disabled",
                    "endpoint": endpoint.url,
                    "failing_since": endpoint.failing_since.isoformat(),
                },
            )
            signals.endpoint_disabled.send(sender=Endpoint, endpoint=endpoint, failing_since=endpoint.failing_since)


def resend(deliveries) -> int:
    """Queue these deliveries again from the start (the admin's action): same event, same webhook-id."""
    return deliveries.update(state=PENDING, attempts=0, next_attempt_at=timezone.now())
