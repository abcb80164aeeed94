"""The outbox: an event row is written in the transaction of the change it reports, then delivered
to each endpoint that wants its type by the worker (events.delivery), at least once."""

import base64
import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.sealing import box

TYPES = (
    "user.created",
    "user.updated",
    "user.phone_changed",
    "user.deleted",
    "session.created",
    "session.ended",
    "session.refresh_reused",
    "passkey.added",
    "passkey.removed",
    "phone.guessed_at",
    "phone.locked",
    "region.closed",
)
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


class Endpoint(models.Model):
    url = models.URLField(_("URL"), max_length=500)
    event_types = models.JSONField(_("event types"), default=list, blank=True, help_text=_("Empty: every type."))
    enabled = models.BooleanField(_("enabled"), default=True)
    sealed_secret = models.BinaryField(editable=False)
    from_environment = models.BooleanField(_("from WEBHOOK_URL"), default=False, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True, editable=False)

    class Meta:
        db_table = "webhook_endpoints"

    def __str__(self) -> str:
        return self.url

    @property
    def secret(self) -> str:
        return box("webhook-secret").decrypt(bytes(self.sealed_secret)).decode()

    @secret.setter
    def secret(self, value: str) -> None:
        self.sealed_secret = box("webhook-secret").encrypt(value.encode())

    def wants(self, event_type: str) -> bool:
        return self.enabled and (not self.event_types or event_type in self.event_types)


class Event(models.Model):
    webhook_id = models.CharField(_("webhook id"), max_length=40, unique=True, editable=False)
    type = models.CharField(_("type"), max_length=40, db_index=True)
    payload = models.JSONField(_("payload"))  # the body: {"type", "timestamp", "data"}
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    dispatched_at = models.DateTimeField(_("handed to endpoints"), null=True, blank=True)

    class Meta:
        db_table = "events"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["created_at"], name="events_undispatched", condition=models.Q(dispatched_at=None))
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.webhook_id}"


class Delivery(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(_("state"), max_length=10, default=PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        db_table = "webhook_deliveries"
        constraints = [models.UniqueConstraint(fields=["event", "endpoint"], name="one_delivery_per_endpoint")]
        indexes = [models.Index(fields=["next_attempt_at"], name="deliveries_due", condition=models.Q(state=PENDING))]


class Attempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    started_at = models.DateTimeField(_("at"))
    status_code = models.PositiveSmallIntegerField(_("status"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))
    error = models.CharField(_("error"), max_length=200, blank=True, default="")

    class Meta:
        db_table = "webhook_attempts"
        ordering = ["-started_at"]
