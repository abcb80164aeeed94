"""What a sign-in or a refresh hands out: an access token and a refresh token of one session, and the
answer's fields that carry them (the plaintexts exist only there)."""

import math
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from rest_framework.fields import DateTimeField

from tokens import jwts
from tokens.app_settings import app_settings
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
    """The unsaved rows of a new access and refresh token for ``session`` as of ``now`` (its last use),
    and the answer's fields. The refresh token ends with the session; the access token no later. A
    JWT access token (TOKEN_FORMAT=jwt) has no row: it carries its claims, signed."""
    refresh_expiry = session.expiry
    expiry = access_expiry(session, now)
    refresh, refresh_plaintext = Token.objects.build(user=user, scope=REFRESH, session=session, expiry=refresh_expiry)
    if app_settings.TOKEN_FORMAT == "jwt":
        expiry = expiry.replace(microsecond=0)  # as `exp` says it
        rows = [refresh]
        access_plaintext = jwts.sign(
            user=user, session_id=session.pk, scope=AUTHENTICATION, issued_at=now, expiry=expiry
        )
    else:
        access, access_plaintext = Token.objects.build(user=user, scope=AUTHENTICATION, session=session, expiry=expiry)
        rows = [access, refresh]
    fields = {
        "token": access_plaintext,
        "expiry": _datetime.to_representation(expiry),
        "access_token": access_plaintext,
        "token_type": "Bearer",
        "expires_in": math.ceil((expiry - now).total_seconds()),
        "refresh_token": refresh_plaintext,
        "refresh_expiry": _datetime.to_representation(refresh_expiry),
        "session_id": session.pk,
    }
    return rows, fields


def save_pair(rows: list[Token]) -> None:
    """Insert a pair's rows in one statement; announce the first (the access token, or the refresh token)."""
    Token.objects.bulk_create(rows)
    Token.objects.announce(rows[0])
