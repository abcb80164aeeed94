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

from tokens.keys import SigningKey
from tokens.models.common import (
    AUTHENTICATION,
    REFRESH,
    TOKEN_ALPHABET,
    TOKEN_LENGTH,
    access_expiry,
    generate_token,
    hash_token,
    is_well_formed,
    memo_key,
    remembered,
)
from tokens.models.sessions import Session, SessionManager, SessionQuerySet
from tokens.models.tokens import Token, TokenManager, TokenQuerySet

__all__ = [
    "AUTHENTICATION", "REFRESH", "TOKEN_ALPHABET", "TOKEN_LENGTH", "Session", "SessionManager", "SessionQuerySet",
    "SigningKey", "Token", "TokenManager", "TokenQuerySet", "access_expiry", "generate_token", "hash_token",
    "is_well_formed", "memo_key", "remembered",
]  # fmt: skip
