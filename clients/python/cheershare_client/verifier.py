"""Checking a signed access token (``TOKEN_FORMAT=jwt``) as fast as it can be done: a token verified
once is remembered, by its SHA-256, until its ``exp`` (never past it), in a per-process cache of
bounded size. An access token is used for minutes, so most requests cost one hash and one lookup.
A revoked session still shows within ``TOKEN_TTL`` (the token's lifetime), as Cheershare's docs say;
use ``Introspector`` where a logout must show at once."""

import hashlib
import time

import jwt

from cheershare_client.cache import BoundedCache
from cheershare_client.errors import TokenInvalid
from cheershare_client.keys import KeySet

REQUIRED = ["iss", "aud", "sub", "sid", "scope", "iat", "exp", "jti"]
TYPE = "at+jwt"


class Verifier:
    def __init__(
        self,
        base_url: str,
        *,
        issuer: str = "cheershare",
        audience: str = "cheershare",
        leeway: int = 30,
        cache_size: int = 10_000,
        jwks_cooldown: float = 5.0,
        clock=time.time,
    ):
        self.issuer, self.audience, self.leeway, self.clock = issuer, audience, leeway, clock
        self.keys = KeySet(base_url.rstrip("/") + "/.well-known/jwks.json", cooldown=jwks_cooldown)
        self.cache = BoundedCache(cache_size, clock)

    def verify(self, token: str) -> dict:
        """The token's claims if it is a live access token of this Cheershare; TokenInvalid otherwise."""
        digest = hashlib.sha256(token.encode()).digest()
        claims = self.cache.get(digest)
        if claims is not None:
            return claims
        claims = self._decode(token)
        self.cache.put(digest, claims, until=claims["exp"])
        return claims

    def _decode(self, token: str) -> dict:
        try:
            header = jwt.get_unverified_header(token)
            if header.get("typ") != TYPE:
                raise TokenInvalid("not an access token")
            key = self.keys.key(str(header.get("kid", "")))
            return jwt.decode(
                token,
                key.key,
                algorithms=[key.algorithm_name],  # the key's own algorithm, never the token's say-so
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": REQUIRED},
            )
        except jwt.PyJWTError as error:
            raise TokenInvalid(str(error)) from None
