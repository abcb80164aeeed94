"""Audit log: one structured line per sign-in event, number masked, never a code or a token.

The events that belong to an account (sign-ins, wrong codes, locks, revocations, number changes)
are also kept as AuditEvent rows, which the admin's user page shows. A sign-in's row is written by
the database in the session's own INSERT (migration 0004), which keeps a verify at four statements."""

import logging

from django.conf import settings
from django.db.models.signals import post_delete
from django.dispatch import receiver

from accounts import signals
from accounts.app_settings import app_settings
from accounts.models import AuditEvent, User
from messaging import signals as messaging_signals
from messaging.numbers import mask_phone
from tokens import signals as token_signals

logger = logging.getLogger(__name__)


def _log(event: str, level: int = logging.INFO, phone: str | None = None, **fields) -> None:
    if phone is not None:
        fields["phone"] = mask_phone(phone)
    logger.log(level, event, extra={"event": event, **fields})


def _record(user_ids, event: str, detail: str = "") -> None:
    AuditEvent.objects.bulk_create(AuditEvent(user_id=pk, event=event, detail=detail[:200]) for pk in user_ids)


def _owner(phone: str) -> list[int]:
    return list(User.objects.filter(phone_number=phone).values_list("pk", flat=True))


@receiver(signals.code_requested)
def code_requested(sender, phone, test_number, **kwargs):
    _log("code_requested", phone=phone, test_number=test_number)


@receiver(messaging_signals.sms_sent)
def sms_sent(sender, phone, **kwargs):
    _log("sms_sent", phone=phone)


@receiver(messaging_signals.sms_failed)
def sms_failed(sender, phone, error_code, status, permanent, **kwargs):
    _log("sms_failed", logging.ERROR, phone=phone, error_code=error_code, status=status, permanent=permanent)


@receiver(messaging_signals.number_suppressed)
def number_suppressed(sender, phone, error_code, **kwargs):
    _log("number_suppressed", logging.WARNING, phone=phone, error_code=error_code)


@receiver(messaging_signals.region_closed)
def region_closed(sender, region, prefix, conversion, sample, until, **kwargs):
    _log("region_closed", logging.WARNING, region=region, range=prefix, conversion=round(conversion, 3), sample=sample)


@receiver(signals.verification_failed)
def verification_failed(sender, phone, attempts_left, **kwargs):
    _log("verification_failed", logging.WARNING, phone=phone, attempts_left=attempts_left)
    _record(_owner(phone), "wrong_code", f"{attempts_left} attempts left")


@receiver(signals.locked_out)
def locked_out(sender, phone, **kwargs):
    _log("locked_out", logging.WARNING, phone=phone)


@receiver(signals.codes_lengthened)
def codes_lengthened(sender, phone, **kwargs):
    _log("codes_lengthened", logging.WARNING, phone=phone)
    _record(_owner(phone), "codes_lengthened", "too many wrong codes: the next codes are longer")


@receiver(signals.number_locked)
def number_locked(sender, phone, by, **kwargs):
    _log("number_locked", logging.WARNING, phone=phone, by=mask_phone(by) if by.startswith("+") else by)
    _record(_owner(phone), "number_locked", f"by {mask_phone(by) if by.startswith('+') else by}")


@receiver(signals.number_unlocked)
def number_unlocked(sender, phone, by, **kwargs):
    _log("number_unlocked", logging.WARNING, phone=phone, by=mask_phone(by) if by.startswith("+") else by)
    _record(_owner(phone), "number_unlocked", f"by {mask_phone(by) if by.startswith('+') else by}")


@receiver(signals.cache_lost)
def cache_lost(sender, **kwargs):
    _log("cache_lost", logging.ERROR, window=app_settings.OTP_FAILURE_WINDOW)


@receiver(signals.send_limit_tripped)
def send_limit_tripped(sender, limit, phone, **kwargs):
    _log("send_limit_tripped", logging.WARNING, phone=phone, limit=limit)


@receiver(signals.user_created)
def user_created(sender, user, **kwargs):
    _log("user_created", phone=user.phone_number, user_id=user.pk)


@receiver(signals.user_deleted)
def user_deleted(sender, phone, **kwargs):
    _log("user_deleted", phone=phone)


@receiver(signals.phone_changed)
def phone_changed(sender, user, old_phone, new_phone, **kwargs):
    _log("phone_changed", user_id=user.pk, old_phone=mask_phone(old_phone), new_phone=mask_phone(new_phone))
    _record([user.pk], "phone_changed", f"{mask_phone(old_phone)} -> {mask_phone(new_phone)}")


@receiver(token_signals.token_issued)
def token_issued(sender, token, **kwargs):
    """The log line; the ``signed_in`` row is the database's (trigger tokens_signed_in, migration 0003)."""
    _log("token_issued", user_id=token.user_id, token_id=token.pk, scope=token.scope)


@receiver(token_signals.tokens_revoked)
def tokens_revoked(sender, hashes, user_ids, **kwargs):
    _log("token_revoked", count=len(hashes), hash_prefixes=",".join(h.hex()[:8] for h in hashes[:20]))


@receiver(token_signals.sessions_ended)
def sessions_ended(sender, ended, how="ended", **kwargs):
    """One row per user, in a sentence: "signed out on Pixel 8", "signed out everywhere on 2 devices
    (Pixel 8, iPhone 15)"."""
    devices_by_user = {}
    for _session_id, user_id, device in ended:
        devices_by_user.setdefault(user_id, []).append(device or "an unnamed device")
    for user_id, devices in devices_by_user.items():
        where = devices[0] if len(devices) == 1 else f"{len(devices)} devices ({', '.join(devices)})"
        _record([user_id], "session_ended", f"{how} on {where}")


@receiver(token_signals.refresh_reused)
def refresh_reused(sender, session_id, user_id, **kwargs):
    """A spent refresh token came back after the reuse interval: taken as stolen, its session ended."""
    _log("refresh_reused", logging.WARNING, user_id=user_id, session_id=session_id)
    _record([user_id], "refresh_reused", f"session {session_id} ended")


@receiver(signals.passkey_added)
def passkey_added(sender, user_id, passkey, **kwargs):
    _log("passkey_added", user_id=user_id, passkey_id=passkey.pk)
    _record([user_id], "passkey_added", passkey.name or f"passkey {passkey.pk}")


@receiver(signals.passkey_removed)
def passkey_removed(sender, user_id, passkey, **kwargs):
    _log("passkey_removed", user_id=user_id, passkey_id=passkey.pk)
    _record([user_id], "passkey_removed", passkey.name or "a passkey")


@receiver(post_delete, sender=settings.AUTH_USER_MODEL)
def forget_deleted_user(sender, instance, **kwargs):
    """A deleted user's story goes with them (the user_deleted log line keeps the masked number)."""
    AuditEvent.objects.filter(user_id=instance.pk).delete()
