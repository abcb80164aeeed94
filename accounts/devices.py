"""Known devices: a device that signed in to an account holds a ``device_token`` (issued with the
sign-in's tokens, kept by the client beside its refresh token; OWASP's "device cookie"). Presented
with a later code request for the account's number, it lets that request past the number-wide send
cap that strangers may have spent (accounts.limits). Only SHA-256 of it is stored; it lives
SESSION_MAX_AGE and is replaced at each sign-in it comes with."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tokens.app_settings import app_settings as token_settings
from tokens.models import hash_token

DEFAULT_LIFETIME = 7776000  # when sessions have no maximum age (SESSION_MAX_AGE=0): 90 days
TOKEN_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _well_formed(plaintext: str) -> bool:
    return len(plaintext) == 43 and TOKEN_ALPHABET.issuperset(plaintext)


class KnownDeviceManager(models.Manager):
    def issue(self, *, user, replacing: str = "") -> str:
        """A new device token for ``user`` (the plaintext, returned only here); ``replacing``, the one
        the device presented, ends if it was this account's."""
        if replacing and _well_formed(replacing):
            self.filter(user=user, hash=hash_token(replacing)).delete()
        plaintext = secrets.token_urlsafe(32)
        expires_at = timezone.now() + timedelta(seconds=token_settings.SESSION_MAX_AGE or DEFAULT_LIFETIME)
        self.create(user=user, hash=hash_token(plaintext), expires_at=expires_at)
        return plaintext

    def recognise(self, plaintext: str, *, phone: str) -> int | None:
        """The id of the live device ``plaintext`` names, if it belongs to ``phone``'s active account."""
        if not plaintext or not _well_formed(plaintext):
            return None
        found = self.filter(
            hash=hash_token(plaintext), expires_at__gt=timezone.now(), user__phone_number=phone, user__is_active=True
        )
        return found.values_list("id", flat=True).first()

    def purge_expired(self) -> int:
        return self.filter(expires_at__lte=timezone.now()).delete()[0]


class KnownDevice(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="known_devices", verbose_name=_("user")
    )
    hash = models.BinaryField(unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"), db_index=True)

    objects = KnownDeviceManager()

    class Meta:
        db_table = "known_devices"
        verbose_name = _("known device")
        verbose_name_plural = _("known devices")

    def __str__(self) -> str:
        return f"device {self.pk}"
