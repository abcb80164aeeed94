"""Asking Cheershare whether a token is live (``POST /v1/token/introspect``, RFC 7662), for opaque
tokens or where a logout must show within seconds: each answer is remembered ``cache_seconds`` by
the token's SHA-256 (never the token), in a bounded per-process cache."""

import hashlib
import json
import time
import urllib.parse
import urllib.request

from cheershare_client.cache import BoundedCache
from cheershare_client.errors import TokenInvalid, Unreachable


class Introspector:
    def __init__(
        self, base_url: str, secret: str, *, cache_seconds: float = 5.0, cache_size: int = 10_000, timeout: float = 3.0
    ):
        self.url = base_url.rstrip("/") + "/v1/token/introspect"
        self.secret, self.cache_seconds, self.timeout = secret, cache_seconds, timeout
        self.cache = BoundedCache(cache_size, time.monotonic)

    def introspect(self, token: str) -> dict:
        """Cheershare's answer for ``token`` (``{"active": false}`` for anything but a live token)."""
        digest = hashlib.sha256(token.encode()).digest()
        answer = self.cache.get(digest)
        if answer is None:
            answer = self._ask(token)
            self.cache.put(digest, answer, until=time.monotonic() + self.cache_seconds)
        return answer

    def claims(self, token: str) -> dict:
        """The claims of a live access token; TokenInvalid otherwise."""
        answer = self.introspect(token)
        if not answer.get("active") or answer.get("token_type") != "access_token":
            raise TokenInvalid("not a live access token")
        return answer

    def _ask(self, token: str) -> dict:
        request = urllib.request.Request(
            self.url,
            data=urllib.parse.urlencode({"token": token}).encode(),
            headers={"Authorization": f"Bearer {self.secret}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except (OSError, ValueError) as error:
            raise Unreachable(f"introspection could not be asked: {error}") from None
