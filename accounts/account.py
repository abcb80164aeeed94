"""Account services for a signed-in person: changing the number, deleting the account."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from accounts import otp, signals
from accounts.app_settings import app_settings
from accounts.exceptions import PhoneTaken, ReauthRequired, SameNumber
from tokens.models import Session, Token


def require_fresh_sign_in(token) -> None:
    """Raise ReauthRequired unless ``token``'s session began with a verification less than
    REAUTH_MAX_AGE ago (a refresh never makes a session fresh)."""
    signed_in_at = token.session.created_at if token.session_id is not None else token.created_at
    if timezone.now() - signed_in_at >= timedelta(seconds=app_settings.REAUTH_MAX_AGE):
        raise ReauthRequired()


def request_phone_change(
    *, user, token, phone: str, client_ip: str, language: str, channel: str, captcha_token: str = ""
) -> otp.IssuedCode:
    """Send a code to ``phone``, the number ``user`` wants: a fresh sign-in, the CAPTCHA gate, every
    send limit and the account's daily change cap apply."""
    require_fresh_sign_in(token)
    if phone == user.phone_number:
        raise SameNumber()
    return otp.request_code(
        phone=phone,
        name=user.name,
        client_ip=client_ip,
        language=language,
        channel=channel,
        captcha_token=captcha_token,
        changing_for=user,
    )


def change_phone(*, user, token, phone: str, code: str, client_ip: str, verification_id: str | None = None):
    """Move ``user`` to ``phone`` once its code is verified; every session but ``token``'s ends.
    Needs a fresh sign-in, as the code request did.

    Whether another account holds ``phone`` is told (PhoneTaken) only after the code is verified, so
    only the number's owner learns it."""
    require_fresh_sign_in(token)
    if phone == user.phone_number:
        raise SameNumber()
    verified = otp.verify_code(
        phone=phone, code=code, client_ip=client_ip, verification_id=verification_id, changing_for=user
    )
    old_phone = user.phone_number
    try:
        with transaction.atomic():
            if get_user_model().objects.filter(phone_number=phone).exists():
                raise PhoneTaken()
            user.phone_number = phone
            user.save(update_fields=["phone_number"])
            Session.objects.filter(user=user).exclude(pk=token.session_id).end("number changed")
            Token.objects.filter(user=user, session__isnull=True).exclude(pk=token.pk).revoke()
            otp.record_verified(phone)
            signals.phone_changed.send(sender=change_phone, user=user, old_phone=old_phone, new_phone=phone)
    except (IntegrityError, PhoneTaken):  # IntegrityError: another account took it meanwhile
        user.phone_number = old_phone
        raise PhoneTaken() from None
    except DatabaseError:  # nothing was committed: the code stays good for a retry (503)
        user.phone_number = old_phone
        verified.give_back()
        raise
    return user


def delete_account(*, user, token) -> None:
    """Delete ``user``, their tokens (through the one revocation path) and every cached trace of
    their number. Only with a fresh sign-in (``require_fresh_sign_in``)."""
    require_fresh_sign_in(token)
    phone = user.phone_number
    with transaction.atomic():
        user.delete()
    otp.forget(phone)
    signals.user_deleted.send(sender=delete_account, phone=phone)
