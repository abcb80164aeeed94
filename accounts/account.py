"""Account services for a signed-in person: deleting the account."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts import otp, signals
from accounts.app_settings import app_settings
from accounts.exceptions import ReauthRequired


def delete_account(*, user, token) -> None:
    """Delete ``user``, their tokens (through the one revocation path) and every cached trace of
    their number. Only with a ``token`` issued by a verification less than REAUTH_MAX_AGE ago."""
    if timezone.now() - token.created_at >= timedelta(seconds=app_settings.REAUTH_MAX_AGE):
        raise ReauthRequired()
    phone = user.phone_number
    with transaction.atomic():
        user.delete()
    otp.forget(phone)
    signals.user_deleted.send(sender=delete_account, phone=phone)
