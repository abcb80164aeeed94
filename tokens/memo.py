"""The per-process cache of validated tokens (TOKEN_CACHE_SECONDS > 0): bounded in size and age.

An entry lives until the earlier of its token's expiry and TOKEN_CACHE_SECONDS; entries are dropped
when a revocation arrives (tokens.revocation), and the whole cache is ignored while this process is
not subscribed to revocations, since it could have missed one.
"""

import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING

from tokens.app_settings import app_settings

if TYPE_CHECKING:
    from tokens.models import Token


class TokenMemo:
    def __init__(self):
        self._entries: OrderedDict[bytes, tuple[float, Token]] = OrderedDict()
        self._lock = threading.Lock()
        self.trusted = False
        self.generation = 0  # bumped by every drop: a lookup that raced a revocation is not cached

    def get(self, digest: bytes) -> "Token | None":
        if not self.trusted:
            return None
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return None
            valid_until, token = entry
            if time.time() >= valid_until:
                del self._entries[digest]
                return None
            self._entries.move_to_end(digest)
            return token

    def put(self, digest: bytes, token: "Token", generation: int) -> None:
        valid_until = min(time.time() + app_settings.TOKEN_CACHE_SECONDS, token.expiry.timestamp())
        with self._lock:
            if not self.trusted or generation != self.generation:
                return
            self._entries[digest] = (valid_until, token)
            self._entries.move_to_end(digest)
            while len(self._entries) > app_settings.TOKEN_CACHE_SIZE:
                self._entries.popitem(last=False)

    def drop_hashes(self, digests: list[bytes]) -> None:
        with self._lock:
            self.generation += 1
            for digest in digests:
                self._entries.pop(digest, None)

    def drop_user(self, user_id: int) -> None:
        with self._lock:
            self.generation += 1
            for digest in [d for d, (_, token) in self._entries.items() if token.user_id == user_id]:
                del self._entries[digest]

    def distrust(self) -> None:
        with self._lock:
            self.generation += 1
            self.trusted = False
            self._entries.clear()

    def trust(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()
            self.trusted = True


memo = TokenMemo()
