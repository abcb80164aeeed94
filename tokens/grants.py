"""What a sign-in or a refresh hands out: an access token and a refresh token of one session, and the
answer's fields that carry them (the plaintexts exist only there)."""

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from rest_framework.fields import DateTimeField

from tokens.models import AUTHENTICATION, REFRESH, Session, Token, access_expiry

_datetime = DateTimeField()  # the answer's times written as every other time in the API (UTC, "Z")


@dataclass(frozen=True)
class Grant:
    session: Session
    user: object
    fields: dict  # token, expiry, access_token, token_type, expires_in, refresh_token, refresh_expiry, session_id


def start_session(*, user, device_name: str = "") -> Grant:
    """Open a session for ``user`` (a sign-in) and issue its first pair: two INSERTs."""
    now = timezone.now()
    session = Session.objects.open(user=user, device_name=device_name, now=now)
    rows, fields = new_pair(session, user, now)
    save_pair(rows)
    return Grant(session, user, fields)


def new_pair(session: Session, user, now: datetime) -> tuple[list[Token], dict]:
    """An unsaved access and refresh token for ``session`` as of ``now`` (its last use), and the
    answer's fields. The refresh token ends with the session; the access token no later."""
    refresh_expiry = session.expiry
    expiry = access_expiry(session, now)
    access, access_plaintext = Token.objects.build(user=user, scope=AUTHENTICATION, session=session, expiry=expiry)
    refresh, refresh_plaintext = Token.objects.build(user=user, scope=REFRESH, session=session, expiry=refresh_expiry)
    fields = {
        "token": access_plaintext,
        "expiry": _datetime.to_representation(expiry),
        "access_token": access_plaintext,
        "token_type": "Bearer",
        "expires_in": int((expiry - now).total_seconds()),
        "refresh_token": refresh_plaintext,
        "refresh_expiry": _datetime.to_representation(refresh_expiry),
        "session_id": session.pk,
    }
    return [access, refresh], fields


def save_pair(rows: list[Token]) -> None:
    Token.objects.bulk_create(rows)
    Token.objects.announce(rows[0])
