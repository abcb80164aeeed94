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
from django.db import transaction
from django.db.models import Case, Value, When
from django.utils import timezone

from tokens import replay, signals
from tokens.app_settings import app_settings
from tokens.grants import Grant, new_pair, save_pair
from tokens.models import REFRESH, Session, Token, hash_token, is_well_formed


class RefreshError(Exception):
    code = "refresh_error"


class RefreshInvalid(RefreshError):
    """Unknown, ended, idle-expired or past its session's end."""

    code = "refresh_invalid"


class RefreshReused(RefreshError):
    """Spent before, longer ago than the reuse interval: the session was ended."""

    code = "refresh_reused"


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
        Session.objects.filter(pk=token.session_id).end()
    signals.refresh_reused.send(sender=Token, session_id=token.session_id, user_id=token.user_id)
    raise RefreshReused()


def live_refresh_token(digest: bytes, now: datetime, *, lock: bool = False) -> Token:
    """The refresh token (spent or not) with ``digest`` of a live session of an active user, with both."""
    tokens = Token.objects.select_related("session", "user").filter(hash=digest, scope=REFRESH)
    if lock:
        tokens = tokens.select_for_update(of=("self",))
    token = tokens.first()
    if token is None or token.session is None or not token.user.is_active or not token.session.is_live(now):
        raise RefreshInvalid()
    return token


def _rotate(token: Token, plaintext: str, now: datetime) -> Grant:
    session = token.session
    session.last_used_at = now
    rows, fields = new_pair(session, token.user, now)
    sealed = replay.seal(fields, plaintext, bytes(token.hash))
    stale = now - timedelta(seconds=app_settings.REFRESH_REUSE_INTERVAL)
    spending = Token.objects.filter(session_id=session.pk, scope=REFRESH)
    (spending.filter(pk=token.pk) | spending.filter(sealed__isnull=False, spent_at__lt=stale)).update(
        spent_at=Case(When(pk=token.pk, then=Value(now)), default="spent_at"),
        sealed=Case(When(pk=token.pk, then=Value(sealed)), default=Value(None)),
    )
    save_pair(rows)
    Session.objects.filter(pk=session.pk).update(last_used_at=now)
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
    Session.objects.filter(pk=token.session_id).end()
