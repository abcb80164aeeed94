"""Access tokens as signed JWTs (TOKEN_FORMAT=jwt): JWS in the profile of RFC 9068 (``typ: at+jwt``),
signed and checked by PyJWT with the keys of tokens.keys.

A token is accepted here only if its header names a published key and that key's own algorithm (so
``none``, HS256 made with a public key, or a key of another algorithm never pass), its signature,
``iss``, ``aud``, ``exp`` and ``iat`` hold (CLOCK_LEEWAY), and its claims are all there
(``verify``); and only while its session is live (``live_claims``, which the authentication class
and introspection both ask).
"""

import secrets
from datetime import datetime

import jwt

from tokens.app_settings import app_settings
from tokens.keys import CLOCK_LEEWAY, keyring
from tokens.models import AUTHENTICATION, Session

TYPE = "at+jwt"
REQUIRED = ["iss", "aud", "sub", "sid", "scope", "iat", "exp", "jti"]


def looks_like_jwt(credential: str) -> bool:
    return credential.count(".") == 2


def sign(*, user, session_id: int, scope: str, issued_at: datetime, expiry: datetime) -> str:
    kid, algorithm, private_key = keyring.signing_key()
    claims = {
        "iss": app_settings.jwt_issuer,
        "aud": app_settings.JWT_AUDIENCE,
        "sub": str(user.pk),
        "sid": session_id,
        "phone_number": user.phone_number,
        "scope": scope,
        "iat": int(issued_at.timestamp()),
        "exp": int(expiry.timestamp()),
        "jti": secrets.token_urlsafe(12),
    }
    return jwt.encode(claims, private_key, algorithm=algorithm, headers={"kid": kid, "typ": TYPE})


def verify(credential: str) -> dict | None:
    """The claims of ``credential`` if it is one of our live JWTs (its session aside), else None."""
    try:
        header = jwt.get_unverified_header(credential)
        known = keyring.verifier(header.get("kid", "")) if header.get("typ") == TYPE else None
        if known is None or header.get("alg") != known[0]:
            return None
        return jwt.decode(
            credential,
            known[1],
            algorithms=[known[0]],
            audience=app_settings.JWT_AUDIENCE,
            issuer=app_settings.jwt_issuer,
            leeway=CLOCK_LEEWAY,
            options={"require": REQUIRED},
        )
    except (jwt.PyJWTError, ValueError, TypeError):
        return None


def live_claims(credential: str) -> tuple[dict, Session] | None:
    """The claims of ``credential`` and its session (with its user), if it is one of our access
    tokens and its session is live: strict, one indexed query; cached, remembered until revoked."""
    claims = verify(credential)
    if claims is None or claims["scope"] != AUTHENTICATION:
        return None
    if not (isinstance(claims["sub"], str) and claims["sub"].isdigit() and type(claims["sid"]) is int):
        return None
    session = Session.objects.resolve(claims["sid"], user_id=int(claims["sub"]))
    return None if session is None else (claims, session)
