"""A small thread-safe cache with a bound on its size (the least recently used entry goes first)
and a deadline per entry (an entry is never returned past it)."""

import threading
import time
from collections import OrderedDict


class BoundedCache:
    def __init__(self, size: int, clock=time.time):
        self.size, self.clock = size, clock
        self._entries: OrderedDict[bytes, tuple[float, object]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: bytes):
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= self.clock():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: bytes, value, until: float) -> None:
        with self._lock:
            self._entries[key] = (until, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
