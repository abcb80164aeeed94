"""Sign-in: a verified code becomes a user (created on first sign-in) and a session with its first
access and refresh tokens. The code is spent only if that commits: a database failure gives it back."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import DatabaseError, transaction

from accounts import otp, signals
from accounts.devices import KnownDevice
from accounts.exceptions import AccountDisabled
from tokens.grants import Grant, start_session


@dataclass(frozen=True)
class SignIn:
    user: object
    created: bool
    grant: Grant
    device_token: str


def sign_in(
    *,
    phone: str,
    code: str,
    device_name: str,
    client_ip: str,
    name: str = "",
    verification_id: str | None = None,
    device_token: str = "",
) -> SignIn:
    """A ``name`` sent with the code wins over the one stored at the request (which a stranger may
    have chosen); either is used only when the account is created. The device gets a new
    ``device_token`` (the one it presented, if this account's, ends)."""
    verified = otp.verify_code(phone=phone, code=code, client_ip=client_ip, verification_id=verification_id)
    try:
        with transaction.atomic():  # one commit for the user, the session, its tokens and the records
            user, created = get_user_model().objects.record_sign_in(phone_number=phone, name=name or verified.name)
            if not user.is_active:
                raise AccountDisabled()
            if created:  # (inside: what listens may write in this transaction, as the events outbox does)
                signals.user_created.send(sender=sign_in, user=user)
            grant = start_session(user=user, device_name=device_name)
            device = KnownDevice.objects.issue(user=user, replacing=device_token)
            otp.record_verified(phone)
    except DatabaseError:  # nothing was committed: the code stays good for a retry (503)
        verified.give_back()
        raise
    return SignIn(user=user, created=created, grant=grant, device_token=device)
