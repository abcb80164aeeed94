"""RFC 7662 token introspection for other services: is this token live, and whose is it?

A caller proves itself with one of INTROSPECTION_SECRETS as a bearer token (compared in constant
time). Every token it asks about gets ``{"active": false}`` unless it is a live access token (either
format) or a live refresh token: then its claims. Nothing about the token is ever an error.
"""

import hmac
from datetime import datetime

from django.utils import timezone

from tokens import jwts
from tokens.app_settings import app_settings
from tokens.models import AUTHENTICATION, REFRESH, Token, hash_token, is_well_formed

INACTIVE = {"active": False}


def caller_allowed(secret: str) -> bool:
    """Whether ``secret`` is one of INTROSPECTION_SECRETS (each compared in constant time)."""
    given = secret.encode()
    return any([hmac.compare_digest(given, known.encode()) for known in app_settings.INTROSPECTION_SECRETS])


def introspect(token: str) -> dict:
    if jwts.looks_like_jwt(token):
        return _signed(token)
    if not is_well_formed(token):
        return INACTIVE
    row = Token.objects.select_related("user", "session").filter(hash=hash_token(token)).first()
    now = timezone.now()
    if row is None or not row.user.is_active or row.scope not in (AUTHENTICATION, REFRESH):
        return INACTIVE
    if row.session is not None and not row.session.is_live(now):
        return INACTIVE
    if row.scope == REFRESH:
        if row.spent_at is not None:
            return INACTIVE
        return _claims("refresh_token", row.user, row.session_id, row.scope, row.created_at, row.session.expiry)
    if row.expiry <= now:
        return INACTIVE
    return _claims("access_token", row.user, row.session_id, row.scope, row.created_at, row.expiry)


def _signed(token: str) -> dict:
    found = jwts.live_claims(token)
    if found is None:
        return INACTIVE
    claims, _session = found
    return {
        "active": True,
        "token_type": "access_token",
        **{name: claims[name] for name in ("sub", "sid", "scope", "iat", "exp", "phone_number", "iss", "aud", "jti")},
    }


def _claims(kind: str, user, session_id, scope: str, issued: datetime, expiry: datetime) -> dict:
    return {
        "active": True,
        "token_type": kind,
        "sub": str(user.pk),
        "sid": session_id,
        "scope": scope,
        "iat": int(issued.timestamp()),
        "exp": int(expiry.timestamp()),
        "phone_number": user.phone_number,
    }
