"""Sessions and the tokens they carry.

A session is one sign-in on one device. It owns a refresh token, rotated on every refresh (the
spent ones are kept, hashed, so a stolen one is recognised when it comes back: tokens.refresh), and
the access tokens issued to it, none of which outlives it: an access token's expiry is capped, when
issued, at the earliest moment its session could end. Tokens are 16 random bytes shown once as 26
base32 characters and stored only as SHA-256, all in the one ``tokens`` table, told apart by scope.
The managers own the rules (issue, resolve, revoke, start, end), as knox's ``AuthTokenManager``
does; rows keep non-secret ``id``s that /v1/sessions and the admin use as handles. Ending sessions
(``SessionQuerySet.end``) and deleting tokens (``TokenQuerySet.delete``) are the one revocation path.
"""

import base64
import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.db.models.signals import post_save, pre_delete
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tokens import metrics, revocation, signals
from tokens.app_settings import app_settings
from tokens.lookup import find_live_token
from tokens.memo import memo

AUTHENTICATION = "authentication"
REFRESH = "refresh"
TOKEN_LENGTH = 26
TOKEN_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


def generate_token() -> str:
    return base64.b32encode(secrets.token_bytes(16)).decode("ascii").rstrip("=")


def hash_token(plaintext: str) -> bytes:
    return hashlib.sha256(plaintext.encode("ascii")).digest()


def is_well_formed(plaintext: str) -> bool:
    return len(plaintext) == TOKEN_LENGTH and TOKEN_ALPHABET.issuperset(plaintext)


def remembered(key: bytes, find, fits):
    """``find()``: in strict mode every time; in cached mode (TOKEN_CACHE_SECONDS > 0) the answer
    remembered under ``key`` while it ``fits`` the request, until it ages out or any process revokes
    it (a lookup that raced a revocation is not remembered)."""
    if not revocation.enabled():
        return find()
    revocation.ensure_listener()
    found = memo.get(key)
    if found is None or not fits(found):
        generation = memo.generation
        found = find()
        if found is not None:
            memo.put(key, found, generation)
    return found


def memo_key(session_id: int) -> bytes:
    """A session's key in the per-process memo (beside token hashes: 32 bytes, never this)."""
    return b"sid:%d" % session_id


def access_expiry(session: "Session | None", now: datetime) -> datetime:
    """TOKEN_TTL from ``now``, but never past the moment ``session`` could end if left alone."""
    expiry = now + timedelta(seconds=app_settings.access_ttl)
    return expiry if session is None else min(expiry, session.expiry)


class TokenQuerySet(models.QuerySet):
    def live(self):
        return self.filter(expiry__gt=timezone.now())

    def expired(self):
        return self.filter(expiry__lte=timezone.now())

    def delete(self) -> tuple[int, dict[str, int]]:
        """The one way tokens end (model, queryset, admin, logout, sessions, user deletion, purge):
        delete them and announce their hashes (audit log, and every process's token cache)."""
        rows = list(self.values_list("hash", "user_id"))
        if not rows:
            return 0, {}
        hashes = [bytes(digest) for digest, _user_id in rows]
        result = self.model._base_manager.using(self.db).filter(hash__in=hashes).delete()
        user_ids = sorted({user_id for _digest, user_id in rows})
        signals.tokens_revoked.send(sender=self.model, hashes=hashes, user_ids=user_ids, using=self.db)
        return result

    def revoke(self) -> int:
        """Delete these tokens (see ``delete``); returns how many."""
        return self.delete()[0]


class TokenManager(models.Manager.from_queryset(TokenQuerySet)):
    def issue(
        self, *, user, scope: str = AUTHENTICATION, device_name: str = "", session: "Session | None" = None
    ) -> tuple["Token", str]:
        """Create a token; the plaintext is returned here once and never stored. An access token
        (scope ``authentication``) belongs to ``session``, or to a new one opened for it alone, which
        has no refresh token and ends with it."""
        now = timezone.now()
        if scope == AUTHENTICATION and session is None:
            ends_at = now + timedelta(seconds=app_settings.access_ttl)
            session = Session.objects.open(user=user, device_name=device_name, now=now, ends_at=ends_at)
        token, plaintext = self.build(user=user, scope=scope, session=session, expiry=access_expiry(session, now))
        token.save(force_insert=True)
        self.announce(token)
        return token, plaintext

    def build(self, *, user, scope: str, session: "Session | None", expiry: datetime) -> tuple["Token", str]:
        """An unsaved token and its plaintext (a pair is saved in one INSERT: tokens.grants)."""
        plaintext = generate_token()
        device_name = session.device_name if session is not None else ""
        token = self.model(
            hash=hash_token(plaintext), user=user, scope=scope, session=session, device_name=device_name, expiry=expiry
        )
        return token, plaintext

    def announce(self, token: "Token") -> None:
        metrics.TOKENS_ISSUED.inc()
        signals.token_issued.send(sender=self.model, token=token)

    def resolve(self, plaintext: str, *, scope: str = AUTHENTICATION) -> "Token | None":
        """The live token of an active user for ``plaintext`` (any string), with its user, or None.

        Strict mode: one indexed query. Cached mode (TOKEN_CACHE_SECONDS > 0): this process
        remembers validated tokens until they age out or any process revokes them.
        """
        if not is_well_formed(plaintext):
            return None
        digest = hash_token(plaintext)
        return remembered(digest, lambda: self._find(digest, scope), lambda token: token.scope == scope)

    def _find(self, digest: bytes, scope: str) -> "Token | None":
        return find_live_token(self.model, self.db, digest=digest, scope=scope, now=timezone.now())


class Token(models.Model):
    hash = models.BinaryField(_("SHA-256 of the token"), max_length=32, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tokens")
    session = models.ForeignKey(
        "Session", on_delete=models.CASCADE, related_name="tokens", null=True, blank=True, verbose_name=_("session")
    )
    scope = models.CharField(_("scope"), max_length=32, default=AUTHENTICATION)
    expiry = models.DateTimeField(_("expiry"), db_index=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    device_name = models.CharField(_("device name"), max_length=100, blank=True, default="")
    spent_at = models.DateTimeField(_("spent at"), null=True, blank=True)  # a refresh token, once rotated
    # A spent refresh token's answer, sealed under a key only that token derives (tokens.replay).
    sealed = models.BinaryField(null=True, editable=False)

    objects = TokenManager()

    class Meta:
        db_table = "tokens"
        indexes = [models.Index(fields=["user", "scope", "expiry"], name="tokens_user_scope_expiry")]

    def __str__(self) -> str:
        return f"{self.hash_prefix}… ({self.scope})"

    @property
    def hash_prefix(self) -> str:
        return bytes(self.hash).hex()[:8]

    @property
    def is_live(self) -> bool:
        if self.scope == REFRESH:  # lives with its session until spent
            return self.spent_at is None and self.session is not None and self.session.is_live()
        return self.expiry > timezone.now()

    def delete(self, using=None, keep_parents=False) -> tuple[int, dict[str, int]]:
        return type(self)._default_manager.using(using or self._state.db).filter(pk=self.pk).delete()

    def touch(self) -> None:
        """Record use of the token and of its session (whose idle clock restarts), writing at most
        once per TOKEN_LAST_USED_INTERVAL seconds per token."""
        now = timezone.now()
        interval = timedelta(seconds=app_settings.TOKEN_LAST_USED_INTERVAL)
        if self.last_used_at is None or now - self.last_used_at >= interval:
            if self.pk is not None:  # (a JWT's stand-in has no row: its session records the use)
                Token.objects.filter(pk=self.pk).update(last_used_at=now)
            if self.session_id is not None:
                Session.objects.filter(pk=self.session_id, last_used_at__lt=now).update(last_used_at=now)
            self.last_used_at = now


class SessionQuerySet(models.QuerySet):
    def live(self, now: datetime | None = None):
        now = now or timezone.now()
        idle_since = now - timedelta(seconds=app_settings.SESSION_IDLE_TIMEOUT)
        return self.filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now), last_used_at__gt=idle_since)

    def ended(self, now: datetime | None = None):
        now = now or timezone.now()
        idle_since = now - timedelta(seconds=app_settings.SESSION_IDLE_TIMEOUT)
        return self.filter(Q(ends_at__lte=now) | Q(last_used_at__lte=idle_since))

    def end(self) -> int:
        """The one way sessions end (logout, /v1/sessions, theft, number change, disabling or deleting
        the user, the admin, purge): their tokens through the revocation path, then the rows.
        Returns how many ended."""
        with transaction.atomic(using=self.db):
            rows = list(self.values_list("pk", "user_id", "device_name"))
            if not rows:
                return 0
            ids = [pk for pk, _user_id, _device in rows]
            Token.objects.using(self.db).filter(session_id__in=ids).revoke()
            self.model._base_manager.using(self.db).filter(pk__in=ids).delete()
            user_ids = sorted({user_id for _pk, user_id, _device in rows})
            signals.sessions_ended.send(
                sender=self.model, session_ids=ids, user_ids=user_ids, ended=rows, using=self.db
            )
        return len(ids)

    def delete(self) -> tuple[int, dict[str, int]]:
        """Deleting sessions (the admin's bulk delete, say) ends them."""
        ended = self.end()
        return ended, {self.model._meta.label: ended}


class SessionManager(models.Manager.from_queryset(SessionQuerySet)):
    def resolve(self, session_id: int, *, user_id: int) -> "Session | None":
        """The live session ``session_id`` of the active user ``user_id``, with its user, or None (a
        JWT's check: strict, one indexed query; cached, remembered as tokens are, until revoked)."""
        find = lambda: self.current(session_id, user_id)  # noqa: E731
        return remembered(memo_key(session_id), find, lambda session: session.user_id == user_id)

    def current(self, session_id: int, user_id: int) -> "Session | None":
        """The same, read from the database now (never remembered: the account as it is)."""
        found = self.select_related("user").filter(pk=session_id, user_id=user_id, user__is_active=True).first()
        return found if found is not None and found.is_live() else None

    def open(self, *, user, device_name: str, now: datetime, ends_at: datetime | None = None) -> "Session":
        """A new session signed in at ``now``, ending SESSION_MAX_AGE later or at ``ends_at`` if sooner
        (its tokens are issued by tokens.grants)."""
        max_age = app_settings.SESSION_MAX_AGE
        if max_age:
            ends_at = min(ends_at or now + timedelta(seconds=max_age), now + timedelta(seconds=max_age))
        return self.create(user=user, device_name=device_name, created_at=now, last_used_at=now, ends_at=ends_at)


class Session(models.Model):
    """One sign-in on one device; ``created_at`` is the sign-in (what a fresh sign-in is measured by)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sessions")
    device_name = models.CharField(_("device name"), max_length=100, blank=True, default="")
    created_at = models.DateTimeField(_("signed in at"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used at"), db_index=True)  # the last refresh or call
    ends_at = models.DateTimeField(_("ends at the latest"), null=True, blank=True, db_index=True)

    objects = SessionManager()

    class Meta:
        db_table = "sessions"

    def __str__(self) -> str:
        return f"{self.device_name or _('unnamed device')} ({self.created_at:%Y-%m-%d %H:%M})"

    @property
    def expiry(self) -> datetime:
        """When the session ends if left alone: SESSION_IDLE_TIMEOUT after its last use, at the latest
        at ``ends_at``."""
        idle_end = self.last_used_at + timedelta(seconds=app_settings.SESSION_IDLE_TIMEOUT)
        return idle_end if self.ends_at is None else min(idle_end, self.ends_at)

    def is_live(self, now: datetime | None = None) -> bool:
        return self.expiry > (now or timezone.now())

    def delete(self, using=None, keep_parents=False) -> tuple[int, dict[str, int]]:
        return type(self)._default_manager.using(using or self._state.db).filter(pk=self.pk).delete()


@receiver(pre_delete, sender=settings.AUTH_USER_MODEL)
def revoke_tokens_of_deleted_user(sender, instance, using, **kwargs):
    """A deleted user's sessions and tokens end through the one revocation path, before the cascade would."""
    Session.objects.using(using).filter(user_id=instance.pk).end()
    Token.objects.using(using).filter(user_id=instance.pk).revoke()


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def end_sessions_of_disabled_user(sender, instance, created: bool, using, **kwargs):
    if not created and not instance.is_active:
        Session.objects.using(using).filter(user_id=instance.pk).end()


from tokens.keys import SigningKey  # noqa: E402, F401  (a model of this app: JWT signing keys)
