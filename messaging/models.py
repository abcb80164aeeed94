"""What was sent where and how it went (never the code or the text), numbers Twilio cannot reach,
and regions the pumping alarm closed."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Twilio's message statuses in the order they happen; the last four are final.
STATUSES = ["queued", "sending", "sent", "delivered", "undelivered", "failed", "canceled"]
FINAL = {"delivered", "undelivered", "failed", "canceled"}
RANK = {status: min(index, 3) for index, status in enumerate(STATUSES)}


class Message(models.Model):
    phone_number = models.CharField(_("phone number"), max_length=20)
    region = models.CharField(_("region"), max_length=2)
    channel = models.CharField(_("channel"), max_length=16, default="sms")
    task_id = models.CharField(max_length=64, unique=True)  # the send task's id: retries update one row
    sid = models.CharField(_("Twilio sid"), max_length=64, unique=True, null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=[(s, s) for s in STATUSES], default="queued")
    error_code = models.PositiveIntegerField(_("error code"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("send attempts"), default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    verified_at = models.DateTimeField(_("code verified"), null=True, blank=True)
    # the network that asked for the code (an IPv4 /24, an IPv6 /48): the pumping alarm counts them
    source = models.CharField(_("asked from"), max_length=43, blank=True, default="", db_default="")

    class Meta:
        db_table = "messages"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["created_at"], name="messages_created"),
            models.Index(fields=["region", "created_at"], name="messages_region_created"),
            models.Index(fields=["phone_number", "created_at"], name="messages_phone_created"),
            # the backlog: published, not tried by any worker yet (messaging.backlog)
            models.Index(fields=["created_at"], condition=models.Q(attempts=0), name="messages_waiting"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.region} ({self.status})"


class Suppression(models.Model):
    """A number Twilio reported as unable to take messages: nothing is sent to it until ``until``."""

    phone_number = models.CharField(_("phone number"), max_length=20, unique=True)
    error_code = models.PositiveIntegerField(_("error code"))
    created_at = models.DateTimeField(_("suppressed at"), default=timezone.now)
    until = models.DateTimeField(_("until"), db_index=True)

    class Meta:
        db_table = "suppressions"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.phone_number


class RegionBlock(models.Model):
    """What the pumping alarm closed: a number range (``prefix``, as ``+9198123``) whose conversion
    collapsed, or a whole region (``prefix`` empty). Code requests to it are refused until ``until``."""

    region = models.CharField(_("region"), max_length=2)
    prefix = models.CharField(_("number range"), max_length=16, blank=True, default="")
    conversion = models.FloatField(_("conversion"))
    sample = models.PositiveIntegerField(_("messages"))
    reason = models.CharField(_("why"), max_length=200, blank=True, default="")
    created_at = models.DateTimeField(_("closed at"), default=timezone.now)
    until = models.DateTimeField(_("until"), db_index=True)

    class Meta:
        db_table = "region_blocks"
        ordering = ["-created_at"]
        verbose_name, verbose_name_plural = _("closed region or range"), _("closed regions and ranges")
        constraints = [models.UniqueConstraint(fields=["region", "prefix"], name="region_blocks_scope")]

    def __str__(self) -> str:
        return self.prefix or self.region

    @property
    def scope(self) -> str:
        """What the cache's gate is named by: the range, or the region."""
        return self.prefix or self.region
