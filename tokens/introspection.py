"""RFC 7662 token introspection for other services: is this token live, and whose is it?

A caller proves itself with one of INTROSPECTION_SECRETS as a bearer token (compared in constant
time; at least 32 characters, checked at start-up); an address that sent INTROSPECTION_MAX_FAILURES
wrong ones within the hour is refused until the hour ends. Every token it asks about gets
``{"active": false}`` unless it is a live access token (either format) or a live refresh token: then
its claims, read from the session and the account as they are now (a signed token's own
``phone_number`` claim may be older than a number change). Nothing about the token is ever an error.
"""

import hmac
import math
import time
from datetime import datetime

from django.core.cache import cache
from django.utils import timezone

from tokens import jwts
from tokens.app_settings import app_settings
from tokens.models import AUTHENTICATION, REFRESH, Session, Token, hash_token, is_well_formed

INACTIVE = {"active": False}
HOUR = 3600


class Guessing(Exception):
    def __init__(self, wait: int):
        super().__init__(wait)
        self.wait = wait


def caller_allowed(secret: str, address: str) -> bool:
    """Whether ``secret`` is one of INTROSPECTION_SECRETS (each compared in constant time); raises
    Guessing while ``address`` has spent its wrong tries for the hour, and counts a wrong one."""
    now = time.time()
    key = f"introspect-fail:{address}:{int(now // HOUR)}"
    wait = max(math.ceil((int(now // HOUR) + 1) * HOUR - now), 1)
    if (cache.get(key) or 0) >= app_settings.INTROSPECTION_MAX_FAILURES:
        raise Guessing(wait)
    given = secret.encode()
    if any([hmac.compare_digest(given, known.encode()) for known in app_settings.INTROSPECTION_SECRETS]):
        return True
    if not cache.add(key, 1, HOUR + 60):
        cache.incr(key)
    return False


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
    claims, session = found
    session = Session.objects.current(session.pk, session.user_id)
    if session is None:
        return INACTIVE
    answer = _claims("access_token", session.user, session.pk, claims["scope"], None, None)
    answer.update({name: claims[name] for name in ("iat", "exp", "iss", "aud", "jti") if name in claims})
    return answer


def _claims(kind: str, user, session_id, scope: str, issued: datetime | None, expiry: datetime | None) -> dict:
    answer = {"active": True, "token_type": kind, "sub": str(user.pk), "sid": session_id, "scope": scope}
    if issued is not None:
        answer.update(iat=int(issued.timestamp()), exp=int(expiry.timestamp()))
    return {**answer, "phone_number": user.phone_number}
