"""Two ways for another service to trust a Cheershare access token, as DRF authentication classes.

``JWTAuthentication``: checks the token itself, with the public keys Cheershare publishes at
``/.well-known/jwks.json`` (PyJWT's PyJWKClient keeps them, and fetches them again when a token
names a key it has not seen, as after a rotation). No call per request; a logged-out token stays
good here until its ``exp`` (minutes).

``IntrospectionAuthentication``: asks Cheershare (``POST /v1/token/introspect``, RFC 7662) whether
the token is live, and reuses each answer for a few seconds. One call per token per few seconds;
a logout shows within those seconds. Works for opaque tokens too.
"""

import hashlib
import json
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

import jwt
from django.conf import settings
from rest_framework import HTTP_HEADER_ENCODING, exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

REQUIRED_CLAIMS = ["iss", "aud", "sub", "sid", "scope", "iat", "exp", "jti"]


@dataclass
class CheershareUser:
    """Who the token names: Cheershare's user id, and the token's claims."""

    id: str
    claims: dict = field(default_factory=dict)
    is_authenticated: bool = True


class BearerAuthentication(BaseAuthentication):
    def bearer(self, request) -> str | None:
        parts = get_authorization_header(request).split()
        if len(parts) != 2 or parts[0].lower() != b"bearer":
            return None
        return parts[1].decode(HTTP_HEADER_ENCODING)

    def authenticate_header(self, request) -> str:
        return "Bearer"


_jwks_lock = threading.Lock()
_jwks: jwt.PyJWKClient | None = None


def jwks_client() -> jwt.PyJWKClient:
    global _jwks
    with _jwks_lock:
        if _jwks is None:
            url = f"{settings.CHEERSHARE_URL}/.well-known/jwks.json"
            cooldown = settings.CHEERSHARE_JWKS_COOLDOWN
            _jwks = jwt.PyJWKClient(url, cache_keys=True, lifespan=300, timeout=3, cooldown_duration=cooldown)
        return _jwks


class JWTAuthentication(BearerAuthentication):
    def authenticate(self, request):
        token = self.bearer(request)
        if token is None or token.count(".") != 2:
            return None
        try:
            if jwt.get_unverified_header(token).get("typ") != "at+jwt":
                raise jwt.InvalidTokenError("not an access token")
            key = jwks_client().get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[key.algorithm_name],  # the key's own algorithm, never the token's say-so
                audience=settings.CHEERSHARE_AUDIENCE,
                issuer=settings.CHEERSHARE_ISSUER,
                leeway=settings.CHEERSHARE_LEEWAY,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.PyJWTError as error:
            raise exceptions.AuthenticationFailed(f"Invalid token: {error}") from None
        return CheershareUser(claims["sub"], claims), claims


_answers: dict[bytes, tuple[float, dict]] = {}
_answers_lock = threading.Lock()


class IntrospectionAuthentication(BearerAuthentication):
    def authenticate(self, request):
        token = self.bearer(request)
        if token is None:
            return None
        answer = introspect(token)
        if not answer.get("active") or answer.get("token_type") != "access_token":
            raise exceptions.AuthenticationFailed("Invalid or expired token.")
        return CheershareUser(answer["sub"], answer), answer


def introspect(token: str) -> dict:
    digest = hashlib.sha256(token.encode()).digest()  # never the token itself as a key
    now = time.monotonic()
    with _answers_lock:
        remembered = _answers.get(digest)
    if remembered is not None and remembered[0] > now:
        return remembered[1]
    request = urllib.request.Request(
        f"{settings.CHEERSHARE_URL}/v1/token/introspect",
        data=urllib.parse.urlencode({"token": token}).encode(),
        headers={"Authorization": f"Bearer {settings.CHEERSHARE_INTROSPECTION_SECRET}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=3) as response:
            answer = json.loads(response.read())
    except OSError as error:
        raise exceptions.AuthenticationFailed("Cheershare could not be asked.") from error
    with _answers_lock:
        _answers[digest] = (now + settings.CHEERSHARE_INTROSPECTION_CACHE_SECONDS, answer)
    return answer
