"""Django REST Framework authentication classes, configured from Django settings: ``CHEERSHARE_URL``,
``CHEERSHARE_ISSUER``, ``CHEERSHARE_AUDIENCE``, ``CHEERSHARE_LEEWAY``, ``CHEERSHARE_JWKS_COOLDOWN``,
``CHEERSHARE_VERIFIED_CACHE_SIZE``; ``CHEERSHARE_INTROSPECTION_SECRET``,
``CHEERSHARE_INTROSPECTION_CACHE_SECONDS``. ``request.user`` is a ``CheershareUser`` and
``request.auth`` the token's claims."""

import threading
from dataclasses import dataclass, field

from django.conf import settings
from rest_framework import HTTP_HEADER_ENCODING, exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from cheershare_client.errors import TokenInvalid, Unreachable
from cheershare_client.introspection import Introspector
from cheershare_client.verifier import Verifier


@dataclass
class CheershareUser:
    """Who the token names: Cheershare's user id, and the token's claims."""

    id: str
    claims: dict = field(default_factory=dict)
    is_authenticated: bool = True


_made: dict[str, object] = {}
_lock = threading.Lock()


def verifier() -> Verifier:
    """This process's Verifier (its key set and verified-token cache), made from the settings once."""
    with _lock:
        if "verifier" not in _made:
            _made["verifier"] = Verifier(
                settings.CHEERSHARE_URL,
                issuer=getattr(settings, "CHEERSHARE_ISSUER", "cheershare"),
                audience=getattr(settings, "CHEERSHARE_AUDIENCE", "cheershare"),
                leeway=getattr(settings, "CHEERSHARE_LEEWAY", 30),
                cache_size=getattr(settings, "CHEERSHARE_VERIFIED_CACHE_SIZE", 10_000),
                jwks_cooldown=getattr(settings, "CHEERSHARE_JWKS_COOLDOWN", 5.0),
            )
        return _made["verifier"]


def introspector() -> Introspector:
    with _lock:
        if "introspector" not in _made:
            _made["introspector"] = Introspector(
                settings.CHEERSHARE_URL,
                settings.CHEERSHARE_INTROSPECTION_SECRET,
                cache_seconds=getattr(settings, "CHEERSHARE_INTROSPECTION_CACHE_SECONDS", 5),
            )
        return _made["introspector"]


class BearerAuthentication(BaseAuthentication):
    def bearer(self, request) -> str | None:
        parts = get_authorization_header(request).split()
        if len(parts) != 2 or parts[0].lower() != b"bearer":
            return None
        return parts[1].decode(HTTP_HEADER_ENCODING)

    def authenticate_header(self, request) -> str:
        return "Bearer"

    def trusted(self, claims: dict):
        return CheershareUser(claims["sub"], claims), claims


class JWTAuthentication(BearerAuthentication):
    """A signed access token, checked here (no call to Cheershare per request)."""

    def authenticate(self, request):
        token = self.bearer(request)
        if token is None or token.count(".") != 2:
            return None
        try:
            return self.trusted(verifier().verify(token))
        except TokenInvalid as error:
            raise exceptions.AuthenticationFailed(f"Invalid token: {error}") from None
        except Unreachable as error:
            raise exceptions.AuthenticationFailed(str(error)) from None


class IntrospectionAuthentication(BearerAuthentication):
    """Any access token (opaque too), asked of Cheershare; answers reused a few seconds."""

    def authenticate(self, request):
        token = self.bearer(request)
        if token is None:
            return None
        try:
            return self.trusted(introspector().claims(token))
        except TokenInvalid:
            raise exceptions.AuthenticationFailed("Invalid or expired token.") from None
        except Unreachable:
            raise exceptions.AuthenticationFailed("Cheershare could not be asked.") from None
