"""Refresh with rotation: a refresh token is spent for a new pair of the same session.

One transaction of four statements: read the token with its session and user, locking the token's
row (parallel refreshes of one token queue there); spend it, storing its answer sealed (tokens.replay)
and forgetting answers sealed longer ago than REFRESH_REUSE_INTERVAL; insert the new pair; restart
the session's idle clock. A spent token presented again within the interval gets the first answer
back (a retry after a lost answer, two tabs, parallel refreshes); later it is taken as stolen: the
whole session ends, its access tokens with it.
"""

from datetime import datetime, timedelta

from cryptography.exceptions import InvalidTag
from django.db import connection, transaction
from django.utils import timezone

from tokens import replay, signals
from tokens.app_settings import app_settings
from tokens.grants import Grant, new_pair, save_pair
from tokens.lookup import find_refresh_token
from tokens.models import REFRESH, Session, Token, hash_token, is_well_formed


class RefreshError(Exception):
    code = "refresh_error"


class RefreshInvalid(RefreshError):
    """Unknown, ended, idle-expired or past its session's end."""

    code = "refresh_invalid"


class RefreshReused(RefreshError):
    """Spent before, longer ago than the reuse interval: the session was ended."""

    code = "refresh_reused"


# Spend the token, and forget the answers of the session's tokens spent before the interval. Both
# statements are written out (the ORM built this CASE update at several times the cost of running
# it); values go through the backend's own adapters, as messaging.records.mark_verified does.
SPEND = (
    "UPDATE tokens SET spent_at = CASE WHEN id = %s THEN %s ELSE spent_at END,"
    " sealed = CASE WHEN id = %s THEN %s ELSE NULL END"
    " WHERE session_id = %s AND scope = %s AND (id = %s OR (sealed IS NOT NULL AND spent_at < %s))"
)
TOUCH_SESSION = "UPDATE sessions SET last_used_at = %s WHERE id = %s"


def refresh(plaintext: str) -> Grant:
    """Spend the refresh token ``plaintext`` (any string) for a new pair, or raise a RefreshError."""
    if not is_well_formed(plaintext):
        raise RefreshInvalid()
    digest = hash_token(plaintext)
    now = timezone.now()
    with transaction.atomic():
        token = live_refresh_token(digest, now, lock=True)
        if token.spent_at is None:
            return _rotate(token, plaintext, now)
        replayed = _replay(token, plaintext, now)
        if replayed is not None:
            return replayed
        Session.objects.filter(pk=token.session_id).end("a spent refresh token came back: taken as stolen")
        signals.refresh_reused.send(sender=Token, session_id=token.session_id, user_id=token.user_id)
    raise RefreshReused()


def live_refresh_token(digest: bytes, now: datetime, *, lock: bool = False) -> Token:
    """The refresh token (spent or not) with ``digest`` of a live session of an active user, with both."""
    if lock:  # the ORM's query, compiled once per connection (tokens.lookup)
        token = find_refresh_token(Token, Token.objects.db, digest=digest, scope=REFRESH)
    else:
        token = Token.objects.select_related("session", "user").filter(hash=digest, scope=REFRESH).first()
    if token is None or token.session is None or not token.user.is_active or not token.session.is_live(now):
        raise RefreshInvalid()
    return token


def _rotate(token: Token, plaintext: str, now: datetime) -> Grant:
    session = token.session
    session.last_used_at = now
    rows, fields = new_pair(session, token.user, now)
    sealed = replay.seal(fields, plaintext, bytes(token.hash))
    stale = now - timedelta(seconds=app_settings.REFRESH_REUSE_INTERVAL)
    at, before = connection.ops.adapt_datetimefield_value(now), connection.ops.adapt_datetimefield_value(stale)
    with connection.cursor() as cursor:
        cursor.execute(SPEND, [token.pk, at, token.pk, sealed, token.session_id, REFRESH, token.pk, before])
        save_pair(rows)
        cursor.execute(TOUCH_SESSION, [at, token.session_id])
    return Grant(session, token.user, fields)


def _replay(token: Token, plaintext: str, now: datetime) -> Grant | None:
    """The answer ``token``'s spending gave, if it was spent within the reuse interval."""
    if token.sealed is None or now - token.spent_at > timedelta(seconds=app_settings.REFRESH_REUSE_INTERVAL):
        return None
    try:
        fields = replay.unseal(token.sealed, plaintext, bytes(token.hash))
    except InvalidTag:
        return None
    return Grant(token.session, token.user, fields)


def end_session(plaintext: str) -> None:
    """Logout with a refresh token (the access token may have expired): end its session. Any of the
    session's refresh tokens will do, as any of them could also end it by being reused."""
    if not is_well_formed(plaintext):
        raise RefreshInvalid()
    token = live_refresh_token(hash_token(plaintext), timezone.now())
    Session.objects.filter(pk=token.session_id).end("signed out")
