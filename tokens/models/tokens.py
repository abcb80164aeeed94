"""Tokens: 16 random bytes shown once as 26 base32 characters and stored only as SHA-256, access and
refresh tokens alike in the one ``tokens`` table, told apart by scope. The manager issues, finds and
announces them; deleting them (``TokenQuerySet.delete``) is the one way they end."""

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tokens import metrics, signals
from tokens.app_settings import app_settings
from tokens.lookup import find_live_token

if TYPE_CHECKING:
    from tokens.models.sessions import Session
from tokens.models.common import (
    AUTHENTICATION,
    REFRESH,
    access_expiry,
    generate_token,
    hash_token,
    is_well_formed,
    remembered,
)


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
            from tokens.models.sessions import Session  # (sessions stand on tokens: imported when used)

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
                from tokens.models.sessions import Session

                Session.objects.filter(pk=self.session_id, last_used_at__lt=now).update(last_used_at=now)
            self.last_used_at = now
