"""Signing keys of JWT access tokens: kept in the database, the private part sealed at rest.

A key is ``next`` (published in the JWKS, signing nothing yet), ``current`` (signs), ``previous``
(published and accepted until the last token it signed has expired) or ``retired`` (withdrawn).
``generate`` adds a next key, ``rotate`` makes the next key current (making one if there is none),
``retire`` withdraws a key. The private part is sealed with Fernet under a key derived from
SECRET_KEY, and opened with SECRET_KEY_FALLBACKS too, so the secret key can be rotated as Django
documents. Every process reloads the keys at most JWT_KEY_RELOAD_SECONDS (60) after its last load,
and at once (at most once a second) when a token names a key it does not know.
"""

import secrets
import threading
import time
from datetime import timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from jwt.algorithms import get_default_algorithms

from core.sealing import InvalidToken, box
from tokens.app_settings import app_settings

NEXT, CURRENT, PREVIOUS, RETIRED = "next", "current", "previous", "retired"
CLOCK_LEEWAY = 30  # seconds a token's exp and iat may be off


def _fernet():
    return box("signing-key")


def _private_key(algorithm: str):
    if algorithm == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class SigningKeyManager(models.Manager):
    def generate(self, algorithm: str | None = None) -> "SigningKey":
        """A new next key (replacing an unused next key)."""
        algorithm = algorithm or app_settings.JWT_ALGORITHM
        private = _private_key(algorithm)
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        jwk = get_default_algorithms()[algorithm].to_jwk(private.public_key(), as_dict=True)
        kid = secrets.token_hex(8)  # hex: a kid is also a command-line argument, never "-..."
        with transaction.atomic():
            self.filter(state=NEXT).update(state=RETIRED, retired_at=timezone.now())
            return self.create(
                kid=kid,
                algorithm=algorithm,
                public_jwk={**jwk, "kid": kid, "alg": algorithm, "use": "sig"},
                sealed_private=_fernet().encrypt(pem),
                state=NEXT,
            )

    def rotate(self) -> "SigningKey":
        """Make the next key current (generating one if none); the old current key stays published
        and accepted until every token it signed has expired."""
        with transaction.atomic():
            upcoming = self.select_for_update().filter(state=NEXT).first() or self.generate()
            now = timezone.now()
            until = now + timedelta(seconds=app_settings.access_ttl + CLOCK_LEEWAY)
            self.filter(state=CURRENT).update(state=PREVIOUS, retired_at=now, published_until=until)
            upcoming.state, upcoming.activated_at = CURRENT, now
            upcoming.save(update_fields=["state", "activated_at"])
        keyring.forget()
        return upcoming

    def retire(self, kid: str) -> int:
        """Withdraw a key: no longer published, accepted or used."""
        retired = self.filter(kid=kid).exclude(state=RETIRED).update(state=RETIRED, retired_at=timezone.now())
        keyring.forget()
        return retired

    def published(self):
        """The keys whose tokens may be live, and the next key."""
        live = models.Q(state__in=[NEXT, CURRENT]) | models.Q(state=PREVIOUS, published_until__gt=timezone.now())
        return self.filter(live).order_by("-created_at")


class SigningKey(models.Model):
    kid = models.CharField(_("key id"), max_length=64, unique=True)
    algorithm = models.CharField(_("algorithm"), max_length=10)
    public_jwk = models.JSONField(_("public key (JWK)"))
    sealed_private = models.BinaryField(editable=False)  # PKCS#8 PEM, Fernet-sealed (see _fernet)
    state = models.CharField(_("state"), max_length=10, db_index=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    activated_at = models.DateTimeField(_("signing since"), null=True, blank=True)
    retired_at = models.DateTimeField(_("signing until"), null=True, blank=True)
    published_until = models.DateTimeField(_("published until"), null=True, blank=True)

    objects = SigningKeyManager()

    class Meta:
        db_table = "signing_keys"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kid} ({self.algorithm}, {self.state})"

    def private_key(self):
        return serialization.load_pem_private_key(_fernet().decrypt(bytes(self.sealed_private)), password=None)

    def public_key(self):
        return get_default_algorithms()[self.algorithm].from_jwk(self.public_jwk)


class KeyRing:
    """This process's view of the keys: the one that signs, and the public keys that verify."""

    def __init__(self):
        self._lock = threading.Lock()
        self._loaded_at = self._missed_at = float("-inf")
        self.signer: tuple[str, str, object] | None = None  # (kid, algorithm, private key)
        self.verifiers: dict[str, tuple[str, object]] = {}  # kid: (algorithm, public key)

    def signing_key(self) -> tuple[str, str, object]:
        self._load_if_stale()
        if self.signer is None:
            if not settings.DEBUG:
                raise ImproperlyConfigured(NO_KEY)
            SigningKey.objects.rotate()  # a development run makes its first key on first use
            self._load()
        return self.signer

    def verifier(self, kid: str) -> tuple[str, object] | None:
        self._load_if_stale()
        if kid not in self.verifiers and time.monotonic() - self._missed_at > 1:
            self._missed_at = time.monotonic()
            self._load()
        return self.verifiers.get(kid)

    def forget(self) -> None:
        self._loaded_at = float("-inf")

    def _load_if_stale(self) -> None:
        if time.monotonic() - self._loaded_at > app_settings.JWT_KEY_RELOAD_SECONDS:
            self._load()

    def _load(self) -> None:
        keys = list(SigningKey.objects.published())
        current = next((key for key in keys if key.state == CURRENT), None)
        with self._lock:
            self.signer = (current.kid, current.algorithm, current.private_key()) if current else None
            self.verifiers = {key.kid: (key.algorithm, key.public_key()) for key in keys}
            self._loaded_at = time.monotonic()


NO_KEY = (
    "TOKEN_FORMAT=jwt needs a signing key: run `python manage.py signing_keys rotate` "
    "(with DEBUG=1 one is made on first use)."
)
keyring = KeyRing()


def require_signing_key() -> None:
    """At start-up (cheershare.wsgi), with TOKEN_FORMAT=jwt: refuse to start without a key (unless
    DEBUG makes one on first use), or with one that SECRET_KEY and its fallbacks cannot open."""
    if app_settings.TOKEN_FORMAT != "jwt":
        return
    current = SigningKey.objects.filter(state=CURRENT).first()
    if current is None and not settings.DEBUG:
        raise ImproperlyConfigured(NO_KEY)
    try:
        current and current.private_key()
    except InvalidToken:
        raise ImproperlyConfigured(
            f"The signing key {current.kid} cannot be opened: SECRET_KEY changed? Put the old one in "
            "SECRET_KEY_FALLBACKS, or make a new key with `python manage.py signing_keys rotate`."
        ) from None
