"""Cheershare's public keys (``/.well-known/jwks.json``): fetched once, kept, and fetched again only
when a token names a key not seen yet (a rotation), at most once per ``cooldown`` seconds; never per
request."""

import json
import threading
import time
import urllib.request

import jwt

from cheershare_client.errors import TokenInvalid, Unreachable


class KeySet:
    def __init__(self, url: str, *, cooldown: float = 5.0, timeout: float = 3.0, clock=time.monotonic):
        self.url, self.cooldown, self.timeout, self.clock = url, cooldown, timeout, clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()
        self.fetches = 0

    def key(self, kid: str) -> jwt.PyJWK:
        found = self._keys.get(kid)
        if found is not None:
            return found
        with self._lock:
            found = self._keys.get(kid)
            if found is None and (self._fetched_at is None or self.clock() - self._fetched_at >= self.cooldown):
                self._fetch()
                found = self._keys.get(kid)
        if found is None:
            raise TokenInvalid(f"unknown signing key {kid!r}")
        return found

    def _fetch(self) -> None:
        self._fetched_at = self.clock()
        self.fetches += 1
        try:
            with urllib.request.urlopen(self.url, timeout=self.timeout) as response:
                document = json.loads(response.read())
        except (OSError, ValueError) as error:
            raise Unreachable(f"the key set could not be fetched: {error}") from None
        keys = jwt.PyJWKSet.from_dict(document).keys
        self._keys = {key.key_id: key for key in keys if key.key_id}
