"""Bearer tokens: 16 random bytes shown once as 26 base32 characters, stored only as SHA-256.

The manager owns the rules (issue, resolve, revoke), as knox's ``AuthTokenManager`` does; the row
keeps a non-secret ``id`` that /v1/sessions and the admin use as a handle.
"""

import base64
import functools
import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import connections, models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tokens import signals

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

    def revoke(self) -> int:
        """Delete these tokens and tell every process (see tokens.revocation); returns how many."""
        hashes = [bytes(h) for h in self.values_list("hash", flat=True)]
        deleted, _ = self.model.objects.filter(hash__in=hashes).delete() if hashes else (0, {})
        if hashes:
            signals.tokens_revoked.send(sender=self.model, hashes=hashes)
        return deleted


class TokenManager(models.Manager.from_queryset(TokenQuerySet)):
    def issue(self, *, user, scope: str = AUTHENTICATION, device_name: str = "") -> tuple["Token", str]:
        """Create a token; the plaintext is returned here once and never stored."""
        plaintext = generate_token()
        token = self.create(
            hash=hash_token(plaintext),
            user=user,
            scope=scope,
            device_name=device_name[:100],
            expiry=timezone.now() + timedelta(seconds=settings.TOKEN_TTL),
        )
        signals.token_issued.send(sender=self.model, token=token)
        return token, plaintext

    def resolve_hash(self, digest: bytes, *, scope: str = AUTHENTICATION) -> "Token | None":
        """The live token of an active user whose SHA-256 is ``digest``, or None.

        One indexed query by hash, only the columns a request needs, no ORDER BY.

        Written as SQL because compiling the equivalent queryset costs more than the database
        round trip (see bench/RESULTS.md); rows are turned into models with ``from_db``.
        """
        user_model = self.model._meta.get_field("user").related_model
        sql, token_fields, user_fields = _resolve_query(self.model, user_model)
        with connections[self.db].cursor() as cursor:
            cursor.execute(sql, [digest, scope, timezone.now()])
            row = cursor.fetchone()
        if row is None:
            return None
        token = self.model.from_db(self.db, token_fields, row[: len(token_fields)])
        token.user = user_model.from_db(self.db, user_fields, row[len(token_fields) :])
        return token


TOKEN_FIELDS = {"id", "user_id", "scope", "expiry", "last_used_at"}
USER_FIELDS = {"id", "phone_number", "name", "created_at", "is_active", "is_staff", "is_superuser"}


@functools.cache
def _resolve_query(token_model, user_model) -> tuple[str, list[str], list[str]]:
    """The SQL and, in model order (as ``from_db`` wants them), the attributes it selects."""
    token_fields = [f for f in token_model._meta.concrete_fields if f.attname in TOKEN_FIELDS]
    user_fields = [f for f in user_model._meta.concrete_fields if f.attname in USER_FIELDS]
    select = ", ".join([f"t.{f.column}" for f in token_fields] + [f"u.{f.column}" for f in user_fields])
    sql = (
        f"SELECT {select} FROM {token_model._meta.db_table} t "
        f"JOIN {user_model._meta.db_table} u ON u.{user_model._meta.pk.column} = t.user_id "
        "WHERE t.hash = %s AND t.scope = %s AND t.expiry > %s AND u.is_active"
    )
    return sql, [f.attname for f in token_fields], [f.attname for f in user_fields]


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

    def touch(self) -> None:
        """Record use, writing at most once per TOKEN_LAST_USED_INTERVAL seconds per token."""
        now = timezone.now()
        interval = timedelta(seconds=settings.TOKEN_LAST_USED_INTERVAL)
        if self.last_used_at is None or now - self.last_used_at >= interval:
            Token.objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now
