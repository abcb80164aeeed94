"""Cache-backed limits shared by every process: cooldown markers and fixed-window counters.

DRF's ``SimpleRateThrottle`` keeps a history list with get-then-set, which two processes can race
past; these use ``cache.add`` and ``cache.incr`` (atomic in django-redis), so a limit holds across
every worker. Each function answers 0 when allowed, else the seconds to wait (for ``Retry-After``).
"""

import math
import time

from django.core.cache import cache

HOUR = 3600


def start_cooldown(key: str, seconds: int) -> int:
    """Start a cooldown under ``key`` unless one is running; returns the seconds left of a running one."""
    if seconds <= 0:
        return 0
    until = math.ceil(time.time()) + seconds  # an int: Redis stores it unpickled, in fewer bytes
    if cache.add(key, until, seconds):
        return 0
    return max(math.ceil((cache.get(key) or until) - time.time()), 1)


def count_in_window(name: str, limit: int, window: int = HOUR) -> int:
    """Count one event against ``limit`` per ``window`` seconds (0 or less: no limit)."""
    if limit <= 0:
        return 0
    now = time.time()
    window_id = int(now // window)
    key = f"n:{name}:{window_id}"
    cache.add(key, 0, window + 60)
    try:
        count = cache.incr(key)
    except ValueError:  # the window's key expired between add and incr
        cache.add(key, 1, window + 60)
        count = 1
    if count <= limit:
        return 0
    return max(math.ceil((window_id + 1) * window - now), 1)


def first_refusal_in_window(name: str, window: int = HOUR) -> bool:
    """True once per window for ``name``: used to log a tripped limit once, not on every refusal."""
    return cache.add(f"n-logged:{name}:{int(time.time() // window)}", 1, window + 60)
