"""Bearer tokens: 16 random bytes shown once as 26 base32 characters, stored only as SHA-256.

The manager owns the rules (issue, resolve, revoke), as knox's ``AuthTokenManager`` does; the row
keeps a non-secret ``id`` that /v1/sessions and the admin use as a handle.
"""

import base64
import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models.signals import pre_delete
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tokens import metrics, revocation, signals
from tokens.app_settings import app_settings
from tokens.lookup import find_live_token
from tokens.memo import memo

AUTHENTICATION = "authentication"
TOKEN_LENGTH = 26
TOKEN_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


def generate_token() -> str:
    return base64.b32encode(secrets.token_bytes(16)).decode("ascii").rstrip("=")


def hash_token(plaintext: str) -> bytes:
    return hashlib.sha256(plaintext.encode("ascii")).digest()


def is_well_formed(plaintext: str) -> bool:
    return len(plaintext) == TOKEN_LENGTH and TOKEN_ALPHABET.issuperset(plaintext)


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
    def issue(self, *, user, scope: str = AUTHENTICATION, device_name: str = "") -> tuple["Token", str]:
        """Create a token; the plaintext is returned here once and never stored."""
        plaintext = generate_token()
        token = self.create(
            hash=hash_token(plaintext),
            user=user,
            scope=scope,
            device_name=device_name,
            expiry=timezone.now() + timedelta(seconds=app_settings.TOKEN_TTL),
        )
        metrics.TOKENS_ISSUED.inc()
        signals.token_issued.send(sender=self.model, token=token)
        return token, plaintext

    def resolve(self, plaintext: str, *, scope: str = AUTHENTICATION) -> "Token | None":
        """The live token of an active user for ``plaintext`` (any string), with its user, or None.

        Strict mode: one indexed query. Cached mode (TOKEN_CACHE_SECONDS > 0): this process
        remembers validated tokens until they age out or any process revokes them.
        """
        if not is_well_formed(plaintext):
            return None
        digest = hash_token(plaintext)
        if not revocation.enabled():
            return self._find(digest, scope)
        revocation.ensure_listener()
        token = memo.get(digest)
        if token is None or token.scope != scope:
            generation = memo.generation
            token = self._find(digest, scope)
            if token is not None:
                memo.put(digest, token, generation)
        return token

    def _find(self, digest: bytes, scope: str) -> "Token | None":
        return find_live_token(self.model, self.db, digest=digest, scope=scope, now=timezone.now())


class Token(models.Model):
    hash = models.BinaryField(_("SHA-256 of the token"), max_length=32, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tokens")
    scope = models.CharField(_("scope"), max_length=32, default=AUTHENTICATION)
    expiry = models.DateTimeField(_("expiry"), db_index=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    device_name = models.CharField(_("device name"), max_length=100, blank=True, default="")

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
        return self.expiry > timezone.now()

    def delete(self, using=None, keep_parents=False) -> tuple[int, dict[str, int]]:
        return type(self)._default_manager.using(using or self._state.db).filter(pk=self.pk).delete()

    def touch(self) -> None:
        """Record use, writing at most once per TOKEN_LAST_USED_INTERVAL seconds per token."""
        now = timezone.now()
        interval = timedelta(seconds=app_settings.TOKEN_LAST_USED_INTERVAL)
        if self.last_used_at is None or now - self.last_used_at >= interval:
            Token.objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now


@receiver(pre_delete, sender=settings.AUTH_USER_MODEL)
def revoke_tokens_of_deleted_user(sender, instance, using, **kwargs):
    """A deleted user's tokens end through the one revocation path, before the cascade would."""
    Token.objects.using(using).filter(user_id=instance.pk).revoke()
